-- Energy Data Agreements (SMT overview Table 5): their term in months (0: one-time access;
-- NULL for device agreements, which have none) and, once accepted, when a term of months ends.
ALTER TABLE agreements ADD COLUMN term_months BIGINT;
ALTER TABLE agreements ADD COLUMN ends_at BIGINT;
