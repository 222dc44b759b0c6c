-- The dossier store (gateway/store/postgres_dossiers.py): dossiers, their history, outbox and
-- department queue, and the delivery kill switch; the receipts, records and originals of
-- dossiers and of their additional documents are partitioned by month like the claims' (the
-- time in each row's ULID id; an original: its receipt's), so that retention drops months.
--
-- gw_month_partitions now makes the partitions of every table named in gw_partitioned: a later
-- migration that partitions a table by month adds its name there instead of replacing the
-- function.

CREATE TABLE gw_partitioned (
    name text PRIMARY KEY
);
INSERT INTO gw_partitioned (name) VALUES
    ('receipts'), ('records'), ('originals'),
    ('dossier_receipts'), ('dossier_records'), ('dossier_originals');

CREATE OR REPLACE FUNCTION gw_month_partitions(first timestamptz, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    start timestamp := date_trunc('month', first AT TIME ZONE 'UTC');
    month timestamp;
    parent text;
    part text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('gw_month_partitions', 0));
    FOR i IN 0 .. months - 1 LOOP
        month := start + make_interval(months => i);
        FOR parent IN SELECT name FROM gw_partitioned ORDER BY name LOOP
            part := parent || '_' || to_char(month, 'YYYY_MM');
            IF to_regclass(quote_ident(part)) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    part, parent, month::text || '+00',
                    (month + interval '1 month')::text || '+00'
                );
                made := made + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;

-- The live state: small beside the claims, read and changed by id, never dropped by month.
-- Dates are Vietnam calendar dates; finished_on is the Vietnam date of finished_at, which the
-- portal compares with the due date to call a decision late.
CREATE TABLE dossier_dossiers (
    id text PRIMARY KEY,
    partner_id text NOT NULL,
    ma_ho_so text NOT NULL,
    sha256 text NOT NULL,
    ma_tthc text NOT NULL,
    procedure text NOT NULL,
    department text NOT NULL,
    state text NOT NULL,
    received_at timestamptz NOT NULL,
    due_date date NOT NULL,
    receipt_id text NOT NULL,
    record_id text NOT NULL,
    applicant_kind text NOT NULL,
    applicant_id text NOT NULL,
    applicant_name text NOT NULL,
    version integer NOT NULL,
    requested_documents text[] NOT NULL,
    supplement_due date,
    finished_at timestamptz,
    finished_on date,
    reminded_at timestamptz
);
CREATE UNIQUE INDEX dossier_by_code ON dossier_dossiers (partner_id, ma_ho_so);
CREATE UNIQUE INDEX dossier_by_digest ON dossier_dossiers (partner_id, sha256);
CREATE INDEX dossier_by_age ON dossier_dossiers (received_at, id);
CREATE INDEX dossier_by_state ON dossier_dossiers (state, received_at, id);
CREATE INDEX dossier_by_department ON dossier_dossiers (department, received_at, id);
CREATE INDEX dossier_open_by_due ON dossier_dossiers (due_date) WHERE finished_on IS NULL;
CREATE INDEX dossier_decided_late ON dossier_dossiers (received_at, id)
    WHERE finished_on > due_date;
CREATE INDEX dossier_awaiting_supplement ON dossier_dossiers (supplement_due)
    WHERE state = 'supplement_requested';

CREATE TABLE dossier_history (
    dossier_id text NOT NULL REFERENCES dossier_dossiers (id),
    n integer NOT NULL,
    state text NOT NULL,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    by_partner text NOT NULL,
    reason text,
    documents text[] NOT NULL,
    due_date date,
    officer text,
    PRIMARY KEY (dossier_id, n)
);

-- No foreign keys from the partitioned tables: a month of them is dropped on its own.
CREATE TABLE dossier_receipts (
    id text NOT NULL,
    received_at timestamptz NOT NULL,
    dossier_id text NOT NULL,
    documents boolean NOT NULL,
    partner_id text NOT NULL,
    sha256 text NOT NULL,
    accepted boolean NOT NULL,
    json bytea NOT NULL,
    xml bytea NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
-- The same additional documents twice are found here (under the dossier's row lock, since a
-- unique index of a partitioned table must hold its partition key).
CREATE INDEX dossier_documents_by_digest ON dossier_receipts (dossier_id, sha256)
    WHERE documents;

CREATE TABLE dossier_records (
    id text NOT NULL,
    received_at timestamptz NOT NULL,
    receipt_id text NOT NULL,
    json bytea NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

-- codec and size: gateway/store/originals.py (pack, unpack).
CREATE TABLE dossier_originals (
    sha256 text NOT NULL,
    received_at timestamptz NOT NULL,
    codec text NOT NULL,
    size bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (sha256, received_at)
) PARTITION BY RANGE (received_at);
CREATE INDEX dossier_originals_by_digest ON dossier_originals (sha256);

CREATE TABLE dossier_outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier_id text NOT NULL REFERENCES dossier_dossiers (id),
    ma_ho_so text NOT NULL,
    kind text NOT NULL,
    body bytea NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    last_error text,
    delivered_at timestamptz
);
CREATE INDEX dossier_outbox_undelivered ON dossier_outbox (dossier_id, seq)
    WHERE status <> 'delivered';
CREATE INDEX dossier_outbox_due ON dossier_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX dossier_outbox_dead ON dossier_outbox (seq) WHERE status = 'dead';

-- One task per dossier in its department's work; claimed with FOR UPDATE SKIP LOCKED until
-- claimed_until (the visibility timeout).
CREATE TABLE dossier_queue (
    dossier_id text PRIMARY KEY REFERENCES dossier_dossiers (id),
    department text NOT NULL,
    received_at timestamptz NOT NULL,
    token text UNIQUE,
    worker text,
    claimed_until timestamptz,
    deliveries integer NOT NULL DEFAULT 0
);
CREATE INDEX dossier_queue_order ON dossier_queue (department, received_at, dossier_id);

CREATE TABLE dossier_settings (
    name text PRIMARY KEY,
    value text NOT NULL
);
