-- The audit log (gateway/audit/postgres.py): entries chained by SHA-256, a one-row head, and the
-- signed checkpoints retention stores where it cuts the log (gateway/audit/checkpoint.py).
-- Append-only: a trigger refuses every UPDATE, TRUNCATE and DELETE of an entry, except the
-- DELETE of entries a stored checkpoint covers (retention's own path); checkpoints are never
-- changed or removed. Whoever drops the triggers is caught by the chain instead. Not
-- partitioned: retention deletes entries in bounded batches, and the log's volume (one entry per
-- read of personal data) is small beside the claims'.
--
-- Also the index retention needs to prune `accepted` with the receipts' months it drops.

CREATE TABLE audit (
    seq bigint PRIMARY KEY,
    hash text NOT NULL,
    entry bytea NOT NULL,
    -- the event's citizen (a pseudonym) or NULL, copied from the entry, which the chain covers
    citizen text
);
CREATE INDEX audit_by_citizen ON audit (citizen, seq) WHERE citizen IS NOT NULL;

CREATE TABLE audit_head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE TABLE audit_checkpoints (
    seq bigint PRIMARY KEY,
    body bytea NOT NULL,
    signature bytea NOT NULL
);

CREATE FUNCTION gw_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit' AND TG_OP = 'DELETE'
            AND OLD.seq <= (SELECT coalesce(max(seq), 0) FROM audit_checkpoints) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION gw_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION gw_audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION gw_audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION gw_audit_append_only();

CREATE INDEX accepted_by_time ON accepted (received_at);
