-- The usage data plane: meters and premises, 15-minute intervals with their revisions, daily
-- register reads and monthly billing reads, and the interval files ingested.

-- A meter and its premise; tdsp is the TDSP whose files may write it and whose users may read
-- it, rep the retail electric provider of record ('' if none is known).
CREATE TABLE usage_meters (
    esiid TEXT PRIMARY KEY,
    tdsp TEXT NOT NULL,
    meter_number TEXT NOT NULL,
    address TEXT NOT NULL,
    city TEXT NOT NULL,
    zip TEXT NOT NULL,
    rep TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX usage_meters_tdsp ON usage_meters (tdsp);
CREATE INDEX usage_meters_rep ON usage_meters (rep);

-- One row per meter, channel ('C' consumption, 'G' surplus generation) and interval start (UTC
-- Unix seconds): the value in Wh, 'A'ctual or 'E'stimated, and the revision (the sending time
-- of the file that said it). Kept online for 4 years.
CREATE TABLE usage_intervals (
    esiid TEXT NOT NULL,
    channel TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    wh BIGINT NOT NULL,
    quality TEXT NOT NULL,
    revised_at BIGINT NOT NULL,
    PRIMARY KEY (esiid, channel, start_at)
) WITHOUT ROWID;

-- Every value a later revision replaced, with the revision that replaced it.
CREATE TABLE usage_interval_history (
    esiid TEXT NOT NULL,
    channel TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    wh BIGINT NOT NULL,
    quality TEXT NOT NULL,
    revised_at BIGINT NOT NULL,
    replaced_by BIGINT NOT NULL
);
CREATE INDEX usage_interval_history_key ON usage_interval_history (esiid, channel, start_at);

CREATE TRIGGER usage_intervals_revised BEFORE UPDATE ON usage_intervals
BEGIN
    INSERT INTO usage_interval_history (esiid, channel, start_at, wh, quality, revised_at, replaced_by)
    VALUES (OLD.esiid, OLD.channel, OLD.start_at, OLD.wh, OLD.quality, OLD.revised_at, NEW.revised_at);
END;

-- Intervals from 4 to 7 years old, off the online table.
CREATE TABLE usage_intervals_archive (
    esiid TEXT NOT NULL,
    channel TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    wh BIGINT NOT NULL,
    quality TEXT NOT NULL,
    revised_at BIGINT NOT NULL,
    PRIMARY KEY (esiid, channel, start_at)
) WITHOUT ROWID;

-- Daily register reads (the meter's register at the start and end of a local day, Wh) and
-- monthly billing reads (a billing period's energy, Wh).
CREATE TABLE usage_daily_reads (
    esiid TEXT NOT NULL,
    read_date TEXT NOT NULL,
    start_wh BIGINT NOT NULL,
    end_wh BIGINT NOT NULL,
    quality TEXT NOT NULL,
    revised_at BIGINT NOT NULL,
    PRIMARY KEY (esiid, read_date)
);
CREATE TABLE usage_monthly_reads (
    esiid TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    wh BIGINT NOT NULL,
    quality TEXT NOT NULL,
    revised_at BIGINT NOT NULL,
    PRIMARY KEY (esiid, start_date)
);

-- Each interval file ingested: by its name (a re-ingest of the same name is recorded again,
-- its values are idempotent), sender and counts.
CREATE TABLE usage_files (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    tdsp TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    ingested_at BIGINT NOT NULL,
    blocks BIGINT NOT NULL,
    stored BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    errors BIGINT NOT NULL
);
