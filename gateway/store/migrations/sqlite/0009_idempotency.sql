-- Idempotency-Key: a POST that creates a message, sent again with the same key by the same
-- company (a client retrying after a timeout), is answered with the first answer instead of
-- creating a second message. Keys are kept for 24 hours (the store forgets older ones as new
-- ones arrive).
CREATE TABLE idempotency (
    company TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    -- SHA-256 of the method, path and body the key was first used with.
    fingerprint TEXT NOT NULL,
    message_id BIGINT NOT NULL,
    -- The first 202's body, JSON.
    answer TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (company, idem_key)
);
CREATE INDEX idempotency_created_at ON idempotency (created_at);
