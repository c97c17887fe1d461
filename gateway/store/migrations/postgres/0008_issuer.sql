-- The last SE message / issuer event ID given: kept, so that IDs only grow across restarts and
-- a clock that steps back (SE 1.0 devices take a newer message by its larger ID, and ignore
-- one whose ID they have seen).
CREATE TABLE issuer (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO issuer (id, last) VALUES (1, 0);
