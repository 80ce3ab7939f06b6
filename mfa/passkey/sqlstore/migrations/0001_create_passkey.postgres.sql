-- One row per user with passkeys (mfa/passkey.Store): the user handle, 64
-- random bytes, unique, is per user, not per credential (go-webauthn's
-- "Storage" guidance).
CREATE TABLE bulwark_passkey_user (
    user_id TEXT  NOT NULL PRIMARY KEY,
    handle  BYTEA NOT NULL UNIQUE
);
-- One row per passkey. The login's write-back is one conditional UPDATE
-- on sign_count and last_challenge: two uses of one assertion never both
-- pass.
CREATE TABLE bulwark_passkey_credential (
    id               BYTEA       NOT NULL PRIMARY KEY,
    user_id          TEXT        NOT NULL REFERENCES bulwark_passkey_user (user_id) ON DELETE CASCADE,
    public_key       BYTEA       NOT NULL,
    attestation_type TEXT        NOT NULL,
    aaguid           BYTEA       NOT NULL,
    transports       TEXT        NOT NULL,
    sign_count       BIGINT      NOT NULL,
    user_verified    BOOLEAN     NOT NULL,
    backup_eligible  BOOLEAN     NOT NULL,
    backup_state     BOOLEAN     NOT NULL,
    clone_warning    BOOLEAN     NOT NULL DEFAULT FALSE,
    name             TEXT        NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ NULL,
    last_challenge   BYTEA       NOT NULL
);
CREATE INDEX bulwark_passkey_credential_user ON bulwark_passkey_credential (user_id, created_at);
