CREATE TABLE demo_sessions (
	token  TEXT PRIMARY KEY,
	data   BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX demo_sessions_expiry ON demo_sessions (expiry);
