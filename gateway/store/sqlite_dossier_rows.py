"""The dossier store's SQLite tables, and the encoding of the values written to them
(``dossier_rows`` writes and reads the rows)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import orjson

from gateway.store.dossier_rows import Encoding, instant

# Instants are stored in UTC with microseconds (``dossier_rows.instant``), so that text order is
# time order and comparisons in SQL are plain string comparisons; dates are ISO (Vietnam calendar
# dates).
SCHEMA = """
CREATE TABLE IF NOT EXISTS dossier_dossiers (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    ma_ho_so TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    ma_tthc TEXT NOT NULL,
    procedure TEXT NOT NULL,
    department TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at TEXT NOT NULL,
    due_date TEXT NOT NULL,
    receipt_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    applicant_kind TEXT NOT NULL,
    applicant_id TEXT NOT NULL,
    applicant_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    requested_documents BLOB NOT NULL,
    supplement_due TEXT,
    finished_at TEXT,
    finished_on TEXT,
    reminded_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_by_code ON dossier_dossiers (partner_id, ma_ho_so);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_by_digest ON dossier_dossiers (partner_id, sha256);
CREATE INDEX IF NOT EXISTS dossier_by_age ON dossier_dossiers (received_at, id);
CREATE INDEX IF NOT EXISTS dossier_by_state ON dossier_dossiers (state, received_at, id);
CREATE INDEX IF NOT EXISTS dossier_by_department
    ON dossier_dossiers (department, received_at, id);
CREATE INDEX IF NOT EXISTS dossier_open_by_due
    ON dossier_dossiers (due_date) WHERE finished_on IS NULL;
CREATE INDEX IF NOT EXISTS dossier_decided_late
    ON dossier_dossiers (received_at, id) WHERE finished_on > due_date;
CREATE INDEX IF NOT EXISTS dossier_awaiting_supplement
    ON dossier_dossiers (supplement_due) WHERE state = 'supplement_requested';
CREATE TABLE IF NOT EXISTS dossier_history (
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    n INTEGER NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    by_partner TEXT NOT NULL,
    reason TEXT,
    documents BLOB NOT NULL,
    due_date TEXT,
    officer TEXT,
    PRIMARY KEY (dossier_id, n)
);
CREATE TABLE IF NOT EXISTS dossier_receipts (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    documents INTEGER NOT NULL,
    partner_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    json BLOB NOT NULL,
    xml BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    json_size INTEGER,
    xml_size INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS dossier_documents_by_digest
    ON dossier_receipts (dossier_id, sha256) WHERE documents = 1;
CREATE TABLE IF NOT EXISTS dossier_records (
    id TEXT PRIMARY KEY,
    receipt_id TEXT NOT NULL REFERENCES dossier_receipts (id),
    json BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dossier_originals (
    sha256 TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    codec TEXT NOT NULL DEFAULT 'identity',
    size INTEGER
);
CREATE TABLE IF NOT EXISTS dossier_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    dossier_id TEXT NOT NULL REFERENCES dossier_dossiers (id),
    ma_ho_so TEXT NOT NULL,
    kind TEXT NOT NULL,
    body BLOB NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS dossier_outbox_undelivered
    ON dossier_outbox (dossier_id, seq) WHERE status != 'delivered';
CREATE INDEX IF NOT EXISTS dossier_outbox_due
    ON dossier_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS dossier_outbox_dead ON dossier_outbox (seq) WHERE status = 'dead';
CREATE TABLE IF NOT EXISTS dossier_queue (
    dossier_id TEXT PRIMARY KEY REFERENCES dossier_dossiers (id),
    department TEXT NOT NULL,
    received_at TEXT NOT NULL,
    token TEXT UNIQUE,
    worker TEXT,
    claimed_until TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dossier_queue_order
    ON dossier_queue (department, received_at, dossier_id);
CREATE TABLE IF NOT EXISTS dossier_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def json_list(values: Iterable[str]) -> bytes:
    return orjson.dumps(list(values))


# Instants as ``instant`` text, dates ISO, lists of texts JSON.
ENCODING = Encoding(mark="?", at=instant, day=date.isoformat, texts=json_list)
