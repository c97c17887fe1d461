-- This installation's secret: the key its head-end request IDs are signed with, made once at
-- random when the repository is first opened (so two installations, or a database restored
-- over another, never sign alike).
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
