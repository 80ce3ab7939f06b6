-- Raw violation reports as received (cspreport.Config.RawEvents), capped
-- by the receiver per detail key and hour.
CREATE TABLE bulwark_csp_event (
    id          BIGSERIAL NOT NULL PRIMARY KEY,
    group_fp    TEXT      NOT NULL,
    detail_fp   TEXT      NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    raw         TEXT      NOT NULL
);
CREATE INDEX bulwark_csp_event_detail ON bulwark_csp_event (detail_fp, received_at);
CREATE INDEX bulwark_csp_event_received ON bulwark_csp_event (received_at);

-- Reporting API reports of other types (cspreport.Config.KeepOther), apart
-- from every CSP figure.
CREATE TABLE bulwark_csp_other_report (
    id            BIGSERIAL NOT NULL PRIMARY KEY,
    type          TEXT      NOT NULL,
    url           TEXT      NOT NULL,
    user_agent    TEXT      NOT NULL,
    client_prefix TEXT      NOT NULL,
    body          TEXT      NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX bulwark_csp_other_report_received ON bulwark_csp_other_report (received_at);
