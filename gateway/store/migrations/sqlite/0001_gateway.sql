-- The gateway's schema. SQLite: INTEGER PRIMARY KEY is the rowid, numbered by the database.
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    esiid TEXT NOT NULL,
    tdsp TEXT NOT NULL,
    eui64 TEXT NOT NULL,
    install_code TEXT NOT NULL,
    device_type TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX devices_esiid ON devices (esiid);
CREATE INDEX devices_eui64 ON devices (eui64);

-- Every request about a device, refused ones included.
CREATE TABLE device_history (
    id INTEGER PRIMARY KEY,
    esiid TEXT NOT NULL,
    eui64 TEXT NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX device_history_eui64 ON device_history (eui64);
CREATE INDEX device_history_esiid ON device_history (esiid);

-- A HAN message: the request as JSON and the SE 1.0 command, encoded once.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    company TEXT NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    cluster BIGINT NOT NULL,
    command TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One row per address of a message, written with the message.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    address TEXT NOT NULL,
    tdsp TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_queue ON deliveries (tdsp, status);

-- Every report about a delivery, as it came (Report Event Status, Message Confirmation, ...).
CREATE TABLE delivery_events (
    id INTEGER PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id),
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX delivery_events_delivery ON delivery_events (delivery_id);
