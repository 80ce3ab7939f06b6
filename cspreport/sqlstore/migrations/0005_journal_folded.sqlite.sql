-- The number of the last journal file folded into the tables, written in
-- the fold's transaction: a file that a crash left behind after its fold
-- committed is removed at the next open, not folded twice.
CREATE TABLE bulwark_csp_journal_folded (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
