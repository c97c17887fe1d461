-- On-demand reads (SMT ODR): one row per read a customer asked for, sent to its meter's TDSP
-- head-end as request_id, answered with the meter's register (Wh) and when the meter read it,
-- or failed with the head-end's words. Rows are kept: they are the rate limits' record.
CREATE TABLE meter_reads (
    id INTEGER PRIMARY KEY,
    esiid TEXT NOT NULL,
    tdsp TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    request_id TEXT NOT NULL DEFAULT '',
    sent_at BIGINT,
    register_wh BIGINT,
    read_at BIGINT,
    reason TEXT NOT NULL DEFAULT '',
    finished_at BIGINT
);
CREATE INDEX meter_reads_esiid ON meter_reads (esiid, requested_at);
CREATE INDEX meter_reads_open ON meter_reads (tdsp, state);
CREATE INDEX meter_reads_tdsp_day ON meter_reads (tdsp, requested_at);
