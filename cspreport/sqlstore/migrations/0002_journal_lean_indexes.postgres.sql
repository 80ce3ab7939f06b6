-- Every upsert changed last_seen, and with it an entry of these indexes
-- (which also ruled out heap-only updates); only the hourly retention read
-- them, and it now scans in chunks (docs/performance.md, cspreport).
DROP INDEX bulwark_csp_group_last_seen;
DROP INDEX bulwark_csp_detail_last_seen;

-- The journal: one row per committed batch (cspreport/sqlstore/journal.go),
-- folded into the tables in bulk.
CREATE TABLE bulwark_csp_journal (
    id   BIGSERIAL NOT NULL PRIMARY KEY,
    data BYTEA     NOT NULL
);
