-- The head-end job or transaction a delivery went out in (empty until sent).
ALTER TABLE deliveries ADD COLUMN job TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_job ON deliveries (job);
