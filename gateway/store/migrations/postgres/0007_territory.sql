-- SMT BR-028.024: a TDSP company sees only its territory. The TDSP a company of kind
-- tdsp serves ('' for other kinds, and for a TDSP company not yet bound: it sees nothing).
ALTER TABLE companies ADD COLUMN tdsp TEXT NOT NULL DEFAULT '';
