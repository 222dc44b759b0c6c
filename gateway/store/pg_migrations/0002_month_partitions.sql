-- gw_month_partitions(first, months): the monthly partitions of receipts, records and originals
-- for the month of `first` (UTC) and the months after it, `months` in all; those that exist are
-- left alone. Serialized by a transaction-scoped advisory lock, so that two gateway processes
-- making the same month at once do not collide. The store calls it at startup (this month and
-- two ahead) and for any month it writes to that it has not made yet; an operator's cron may too.

CREATE FUNCTION gw_month_partitions(first timestamptz, months integer) RETURNS integer
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
        FOREACH parent IN ARRAY ARRAY['receipts', 'records', 'originals'] LOOP
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
