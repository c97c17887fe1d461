-- Who may use the API: companies, their users, and the client certificates that identify them.
CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A user of a company; the password as an Argon2id PHC string, permissions as names joined by ','.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    admin BIGINT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A client certificate issued to a company, by the SHA-256 of its DER encoding.
CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    subject TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    revoked_at BIGINT
);
