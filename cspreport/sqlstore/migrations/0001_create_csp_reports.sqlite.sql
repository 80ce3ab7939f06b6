-- Violation groups (cspreport.Store): one row per group fingerprint.
CREATE TABLE bulwark_csp_group (
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
);
CREATE INDEX bulwark_csp_group_last_seen ON bulwark_csp_group (last_seen);

-- Details of a group: one row per detail fingerprint.
CREATE TABLE bulwark_csp_detail (
    detail_fp        TEXT      NOT NULL PRIMARY KEY,
    group_fp         TEXT      NOT NULL,
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
    last_seen        TIMESTAMP NOT NULL
);
CREATE INDEX bulwark_csp_detail_group ON bulwark_csp_detail (group_fp);
CREATE INDEX bulwark_csp_detail_last_seen ON bulwark_csp_detail (last_seen);

-- Reports per group and hour, for counts over a window.
CREATE TABLE bulwark_csp_group_hour (
    group_fp TEXT      NOT NULL,
    hour     TIMESTAMP NOT NULL,
    count    INTEGER   NOT NULL,
    PRIMARY KEY (group_fp, hour)
);
CREATE INDEX bulwark_csp_group_hour_hour ON bulwark_csp_group_hour (hour);

-- Filtered reports by reason, other report types by type, invalid items.
CREATE TABLE bulwark_csp_counter (
    hour  TIMESTAMP NOT NULL,
    kind  TEXT      NOT NULL,
    name  TEXT      NOT NULL,
    count INTEGER   NOT NULL,
    PRIMARY KEY (hour, kind, name)
);

-- Policies, once per SHA-256.
CREATE TABLE bulwark_csp_policy (
    hash       TEXT      NOT NULL PRIMARY KEY,
    policy     TEXT      NOT NULL,
    first_seen TIMESTAMP NOT NULL
);
