CREATE TABLE demo_sessions (
	token  TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	expiry TIMESTAMP NOT NULL
);
CREATE INDEX demo_sessions_expiry ON demo_sessions (expiry);
