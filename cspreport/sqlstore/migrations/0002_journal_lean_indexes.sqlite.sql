-- Fewer B-trees touched per report (docs/performance.md, cspreport): the
-- tables written on every commit become WITHOUT ROWID, clustered on their
-- key (a rowid table with a TEXT primary key is two B-trees), details are
-- clustered by group (so the group index goes), and the last_seen indexes
-- go: every upsert moved an entry in them, while only the hourly
-- retention read them (it now scans, in chunks).
CREATE TABLE bulwark_csp_group_new (
    group_fp        TEXT      NOT NULL PRIMARY KEY,
    directive       TEXT      NOT NULL,
    disposition     TEXT      NOT NULL,
    blocked_kind    TEXT      NOT NULL,
    blocked_origin  TEXT      NOT NULL,
    document_origin TEXT      NOT NULL,
    document_path   TEXT      NOT NULL,
    total           INTEGER   NOT NULL,
    first_seen      TIMESTAMP NOT NULL,
    last_seen       TIMESTAMP NOT NULL,
    muted           INTEGER   NOT NULL DEFAULT 0,
    example_blocked TEXT      NOT NULL,
    example_source  TEXT      NOT NULL
) WITHOUT ROWID;
INSERT INTO bulwark_csp_group_new SELECT group_fp, directive, disposition, blocked_kind, blocked_origin,
    document_origin, document_path, total, first_seen, last_seen, muted, example_blocked, example_source
    FROM bulwark_csp_group;
DROP TABLE bulwark_csp_group;
ALTER TABLE bulwark_csp_group_new RENAME TO bulwark_csp_group;

CREATE TABLE bulwark_csp_detail_new (
    group_fp         TEXT      NOT NULL,
    detail_fp        TEXT      NOT NULL,
    source_file      TEXT      NOT NULL,
    line             INTEGER   NOT NULL,
    col              INTEGER   NOT NULL,
    sample           TEXT      NOT NULL,
    policy_hash      TEXT      NOT NULL,
    policy_version   TEXT      NOT NULL,
    example_document TEXT      NOT NULL,
    example_blocked  TEXT      NOT NULL,
    example_ua       TEXT      NOT NULL,
    count            INTEGER   NOT NULL,
    first_seen       TIMESTAMP NOT NULL,
    last_seen        TIMESTAMP NOT NULL,
    PRIMARY KEY (group_fp, detail_fp)
) WITHOUT ROWID;
INSERT INTO bulwark_csp_detail_new SELECT group_fp, detail_fp, source_file, line, col, sample, policy_hash,
    policy_version, example_document, example_blocked, example_ua, count, first_seen, last_seen
    FROM bulwark_csp_detail;
DROP TABLE bulwark_csp_detail;
ALTER TABLE bulwark_csp_detail_new RENAME TO bulwark_csp_detail;

CREATE TABLE bulwark_csp_group_hour_new (
    group_fp TEXT      NOT NULL,
    hour     TIMESTAMP NOT NULL,
    count    INTEGER   NOT NULL,
    PRIMARY KEY (group_fp, hour)
) WITHOUT ROWID;
INSERT INTO bulwark_csp_group_hour_new SELECT group_fp, hour, count FROM bulwark_csp_group_hour;
DROP TABLE bulwark_csp_group_hour;
ALTER TABLE bulwark_csp_group_hour_new RENAME TO bulwark_csp_group_hour;
CREATE INDEX bulwark_csp_group_hour_hour ON bulwark_csp_group_hour (hour);

CREATE TABLE bulwark_csp_counter_new (
    hour  TIMESTAMP NOT NULL,
    kind  TEXT      NOT NULL,
    name  TEXT      NOT NULL,
    count INTEGER   NOT NULL,
    PRIMARY KEY (hour, kind, name)
) WITHOUT ROWID;
INSERT INTO bulwark_csp_counter_new SELECT hour, kind, name, count FROM bulwark_csp_counter;
DROP TABLE bulwark_csp_counter;
ALTER TABLE bulwark_csp_counter_new RENAME TO bulwark_csp_counter;

-- The journal: one row per committed batch (cspreport/sqlstore/journal.go),
-- folded into the tables above in bulk.
CREATE TABLE bulwark_csp_journal (
    id   INTEGER NOT NULL PRIMARY KEY,
    data BLOB    NOT NULL
);
