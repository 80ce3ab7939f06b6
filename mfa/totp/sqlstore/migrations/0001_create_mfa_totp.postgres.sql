-- One row per user with a TOTP secret (mfa/totp.Store); the replay guard
-- (last_step) and the attempt counter live beside the secret so that one
-- UPDATE checks and changes them atomically.
CREATE TABLE bulwark_mfa_totp (
    user_id      TEXT        NOT NULL PRIMARY KEY,
    secret       TEXT        NOT NULL,
    confirmed    BOOLEAN     NOT NULL DEFAULT FALSE,
    last_step    BIGINT      NOT NULL DEFAULT 0,
    failures     INTEGER     NOT NULL DEFAULT 0,
    last_failure TIMESTAMPTZ NULL,
    enrolled_at  TIMESTAMPTZ NOT NULL
);
-- Recovery codes, as hex SHA-256 hashes; a row is deleted when its code is used.
CREATE TABLE bulwark_mfa_recovery (
    user_id   TEXT NOT NULL REFERENCES bulwark_mfa_totp (user_id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
