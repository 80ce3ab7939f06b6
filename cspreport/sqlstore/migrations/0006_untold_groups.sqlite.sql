-- New groups that a fold created in a process that logs nothing (a reader
-- such as bulwark reports, which folds the journal before it reads):
-- written in that fold's transaction, and claimed (deleted, read) by the
-- next fold of a process that logs them, in its own transaction, so that
-- each is logged once.
CREATE TABLE bulwark_csp_untold (
    id   INTEGER NOT NULL PRIMARY KEY,
    data BLOB    NOT NULL
);
