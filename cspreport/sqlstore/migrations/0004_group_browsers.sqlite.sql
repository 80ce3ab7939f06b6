-- Reports per group and browser family (cspreport.BrowserFamily), for the
-- summary's browsers column.
CREATE TABLE bulwark_csp_group_browser (
    group_fp TEXT    NOT NULL,
    family   TEXT    NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (group_fp, family)
) WITHOUT ROWID;
