-- One row per user who changed a password or must change it; a user
-- without a row is never required to change (passwordexpiry.Store).
CREATE TABLE bulwark_password_expiry (
    user_id     TEXT      NOT NULL PRIMARY KEY,
    changed_at  TIMESTAMP NULL,
    reason      TEXT      NOT NULL DEFAULT '',
    required_at TIMESTAMP NULL,
    updated_at  TIMESTAMP NOT NULL
);
