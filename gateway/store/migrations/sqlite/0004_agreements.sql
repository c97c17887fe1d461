-- In-Home Device and In-Home Device Services agreements, from invitation to their end.
CREATE TABLE agreements (
    id INTEGER PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies (id),
    kind TEXT NOT NULL,
    esiid TEXT NOT NULL,
    -- The device, for an In-Home Device Services Agreement; '' otherwise.
    eui64 TEXT NOT NULL,
    -- Message types a services agreement allows: names joined by ','.
    message_types TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    -- The secret of the invitation's accept/reject links (the customer's, never the third party's).
    token TEXT NOT NULL UNIQUE,
    -- The state as hanrig-gateway's AgreementState, JSON; its name alone for queries.
    state TEXT NOT NULL,
    state_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agreements_esiid ON agreements (esiid, kind);
CREATE INDEX agreements_company ON agreements (company_id, state_name);

-- The company that asked for a device ('' for devices added before companies existed).
ALTER TABLE devices ADD COLUMN company TEXT NOT NULL DEFAULT '';

-- Message history and the message-log report read a company's messages by time.
CREATE INDEX messages_company ON messages (company, created_at);

-- Provisioning: the head-end request (job ID, CorrelationID or transactionID) that carries a
-- pending device to its meter; '' until the connector has sent it.
ALTER TABLE devices ADD COLUMN job TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_job ON devices (job);
