CREATE TABLE demo_users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	is_active     BOOLEAN NOT NULL DEFAULT TRUE,
	is_staff      BOOLEAN NOT NULL DEFAULT FALSE,
	is_superuser  BOOLEAN NOT NULL DEFAULT FALSE
);
