-- The number of the last journal file folded into the tables, written in
-- the fold's transaction: a file that a crash left behind after its fold
-- committed is removed at the next open, not folded twice. (The file
-- journal is SQLite's; the table keeps the two schemas alike.)
CREATE TABLE bulwark_csp_journal_folded (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT  NOT NULL
);
