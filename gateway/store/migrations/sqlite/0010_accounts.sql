-- An administrator can disable a user (it signs in no more, its records stay) and enable it
-- again.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

-- Wrong passwords per client certificate: 4 within 5 minutes, whatever user names they came
-- with, lock the certificate for 15 minutes or until an administrator unlocks it.
ALTER TABLE certificates ADD COLUMN locked_at BIGINT;
CREATE TABLE certificate_failures (
    fingerprint TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX certificate_failures_fingerprint ON certificate_failures (fingerprint);
CREATE INDEX certificate_failures_at ON certificate_failures (at);

-- Every API call: who (the certificate's company, the user name given), what, and the answer;
-- tdsps lists the territories the call touched (',oncor,centerpoint,'), for TDSPs to read
-- their own.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    company TEXT NOT NULL,
    username TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status BIGINT NOT NULL,
    tdsps TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
