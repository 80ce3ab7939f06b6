package seclog

import "go.uber.org/zap/zapcore"

// The events of package mfa/passkey. "credential" is the passkey's id,
// base64url; "ceremony" is "register", "login" (passwordless) or "mfa"
// (the second factor).
var (
	// PasskeyRegistered is logged when a user registered a passkey.
	PasskeyRegistered = define(Event{
		Name: "passkey.registered", Level: zapcore.InfoLevel, OWASP: AuthnTokenCreated,
		Meaning: "a logged-in user registered a passkey (within Config.RecentLogin of logging in)",
		Fields:  []string{"credential", "aaguid", "user_verified", "backup_eligible"},
	})
	// PasskeyLogin is logged when a user logged in with a passkey alone
	// (passwordless, user verified), after identity.login.
	PasskeyLogin = define(Event{
		Name: "passkey.login", Level: zapcore.InfoLevel, OWASP: AuthnLoginSuccess,
		Meaning: "a user logged in with a passkey and user verification (passwordless); the session token was renewed",
		Fields:  []string{"login_user", "credential"},
	})
	// PasskeyRefused is logged when a passkey ceremony was refused.
	PasskeyRefused = define(Event{
		Name: "passkey.refused", Level: zapcore.WarnLevel, OWASP: AuthnLoginFail,
		Meaning: "a passkey ceremony was refused (reason: no_ceremony, wrong_session, expired, malformed, oversize, not_json, " +
			"not_logged_in, login_not_recent, wrong_origin, wrong_challenge, wrong_rp, unknown_credential, wrong_user, no_user_handle, " +
			"inactive_user, uv_missing, bad_signature, backup_eligibility_changed, clone_suspected, replayed, duplicate, no_handle, invalid)",
		Fields:     []string{"ceremony", "reason", "error"},
		HighVolume: true,
	})
	// PasskeyCloneSuspected is logged when a passkey's signature counter
	// did not grow: the passkey may have been cloned. It is flagged and
	// refused from then on; the user deletes it and registers another.
	PasskeyCloneSuspected = define(Event{
		Name: "passkey.clone_suspected", Level: zapcore.ErrorLevel, OWASP: AuthnTokenReuse,
		Meaning: "a passkey's signature counter did not grow (it may have been cloned); the login was refused and the passkey flagged",
		Fields:  []string{"owner", "credential", "stored_count", "sign_count"},
	})
	// PasskeyDeleted is logged when a user removed one of their passkeys.
	PasskeyDeleted = define(Event{
		Name: "passkey.deleted", Level: zapcore.InfoLevel, OWASP: AuthnTokenDelete,
		Meaning: "a user removed one of their passkeys",
		Fields:  []string{"credential", "owner"},
	})
	// PasskeyStoreError is logged when a passkey ceremony could not be
	// completed because the store or the session could not answer (503,
	// or 500 when the session was not loaded).
	PasskeyStoreError = define(Event{
		Name: "passkey.store_error", Level: zapcore.ErrorLevel, OWASP: AuthzFail,
		Meaning: "a passkey ceremony failed closed: the store, the user lookup or the session could not answer",
		Fields:  []string{"ceremony", "error"},
	})
)
