-- SMT BR-017.010: a user who enters a wrong password 4 times within 5 minutes is locked
-- until an administrator resets the password or unlocks the user.
ALTER TABLE users ADD COLUMN locked_at BIGINT;
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (username);
CREATE INDEX login_failures_at ON login_failures (at);
