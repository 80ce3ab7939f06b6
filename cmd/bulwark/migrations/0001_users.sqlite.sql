CREATE TABLE demo_users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	is_active     INTEGER NOT NULL DEFAULT 1,
	is_staff      INTEGER NOT NULL DEFAULT 0,
	is_superuser  INTEGER NOT NULL DEFAULT 0
);
