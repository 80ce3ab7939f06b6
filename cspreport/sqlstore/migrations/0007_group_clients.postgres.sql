-- Reports per group and client prefix, with the last time each client
-- reported it: the policy assistant's evidence that a source is needed by
-- many clients, or sent by one.
CREATE TABLE bulwark_csp_group_client (
    group_fp      TEXT        NOT NULL,
    client_prefix TEXT        NOT NULL,
    count         BIGINT      NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (group_fp, client_prefix)
);

-- The receiver now merges each commit into rows and the store writes
-- them in one transaction: the journal table and the groups left untold
-- by its folds are gone. New refuses to migrate while the journal table
-- holds entries.
DROP TABLE bulwark_csp_journal;
DROP TABLE bulwark_csp_untold;
