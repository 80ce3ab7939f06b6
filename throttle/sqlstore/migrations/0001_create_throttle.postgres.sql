-- One row per throttle counter (throttle.Store): the attempts counted,
-- the last one, and when the counter is forgotten (reads as zero).
CREATE TABLE bulwark_throttle (
    key       TEXT        NOT NULL PRIMARY KEY,
    attempts  BIGINT      NOT NULL,
    last_at   TIMESTAMPTZ NOT NULL,
    forget_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX bulwark_throttle_forget_at ON bulwark_throttle (forget_at);
