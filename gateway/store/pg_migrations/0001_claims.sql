-- The claims store of record: receipts, records and originals partitioned by month of their
-- reception time (each row's received_at: the time in its ULID id, or its receipt's for an
-- original), so that retention drops a month's partitions instead of deleting rows; the
-- dedup table and the index lists, which stay small or must outlive months, are not.

CREATE TABLE receipts (
    id text NOT NULL,
    received_at timestamptz NOT NULL,
    partner_id text NOT NULL,
    sha256 text NOT NULL,
    accepted boolean NOT NULL,
    json bytea NOT NULL,
    xml bytea NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

-- One row per accepted (partner, bytes): the uniqueness that a partitioned table cannot hold
-- (its unique keys must include the partition key), and where find_accepted looks first.
CREATE TABLE accepted (
    partner_id text NOT NULL,
    sha256 text NOT NULL,
    receipt_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (partner_id, sha256)
);

CREATE TABLE records (
    id text NOT NULL,
    received_at timestamptz NOT NULL,
    receipt_id text NOT NULL,
    partner_id text NOT NULL,
    json bytea NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

CREATE TABLE originals (
    sha256 text NOT NULL,
    received_at timestamptz NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (sha256, received_at)
) PARTITION BY RANGE (received_at);

-- Append-only named lists (visit history, signals): read by name in write order.
CREATE TABLE entries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    value bytea NOT NULL
);
CREATE INDEX entries_by_name ON entries (name, seq);
