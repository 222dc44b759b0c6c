-- The citizens' SI records (tables si_*, the names the SQLite store uses in the dossiers' file,
-- so that the dossier store writes a finished dossier's benefit into si_benefits and its change
-- into si_changes in the transaction of its move), and the card checks' log. Each list item is
-- kept as its model's JSON beside the columns it is found or ordered by.

CREATE TABLE si_people (
    citizen_id text PRIMARY KEY,
    si_number text NOT NULL UNIQUE,
    json bytea NOT NULL,
    version integer NOT NULL
);

CREATE TABLE si_contributions (
    citizen_id text NOT NULL REFERENCES si_people (citizen_id),
    n integer NOT NULL,
    json bytea NOT NULL,
    PRIMARY KEY (citizen_id, n)
);

CREATE TABLE si_cards (
    number text PRIMARY KEY,
    citizen_id text NOT NULL REFERENCES si_people (citizen_id),
    json bytea NOT NULL
);
CREATE INDEX si_cards_by_citizen ON si_cards (citizen_id);

-- seq orders rows of the same time as they were written (SQLite's rowid).
CREATE TABLE si_treatments (
    record_id text PRIMARY KEY,
    citizen_id text NOT NULL REFERENCES si_people (citizen_id),
    arrived_at timestamptz NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    json bytea NOT NULL
);
CREATE INDEX si_treatments_by_citizen ON si_treatments (citizen_id, arrived_at, seq);

CREATE TABLE si_benefits (
    dossier_id text PRIMARY KEY,
    citizen_id text NOT NULL REFERENCES si_people (citizen_id),
    decided_on date NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    json bytea NOT NULL
);
CREATE INDEX si_benefits_by_citizen ON si_benefits (citizen_id, decided_on, seq);

-- Every version of every record, in commit order: the writers take one transaction-scoped
-- advisory lock before they insert here, so that a reader that has seen seq N never finds a
-- row below N committed later.
CREATE TABLE si_changes (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    citizen_id text NOT NULL,
    version integer NOT NULL
);

-- Who checked which card: found by an HMAC of the card number (card_key), never the number.
CREATE TABLE si_card_checks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card_key text NOT NULL,
    at timestamptz NOT NULL,
    partner_id text NOT NULL,
    facility text NOT NULL,
    account text NOT NULL,
    card text NOT NULL,
    staff_name text NOT NULL,
    staff_id text NOT NULL,
    code text NOT NULL
);
CREATE INDEX si_card_checks_by_card ON si_card_checks (card_key, at);
CREATE INDEX si_card_checks_by_time ON si_card_checks (at);
