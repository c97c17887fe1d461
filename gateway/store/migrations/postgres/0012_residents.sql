-- Residential customers' portal accounts (seed Tables 7–8): a user name, a password hash, the
-- meters the customer may see; the sign-in tokens of the Smart Meter Texas-compatible API
-- (stored as hashes, sliding: valid while used within their idle time, across restarts); wrong
-- passwords, for the lockout.
CREATE TABLE residents (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE resident_meters (
    username TEXT NOT NULL,
    esiid TEXT NOT NULL,
    PRIMARY KEY (username, esiid)
);
CREATE TABLE resident_tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used BIGINT NOT NULL
);
CREATE INDEX resident_tokens_last_used ON resident_tokens (last_used);
CREATE TABLE resident_failures (
    username TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX resident_failures_username ON resident_failures (username);
