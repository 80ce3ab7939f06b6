package seclog

import "go.uber.org/zap/zapcore"

// The events of package identity.
var (
	// IdentityLogin is logged when a user logs in (the session token is
	// renewed and the user id stored in the session).
	IdentityLogin = define(Event{
		Name: "identity.login", Level: zapcore.InfoLevel, OWASP: AuthnLoginSuccess,
		Meaning: "a user logged in; the session token was renewed; login_methods says how (RFC 8176 amr values: pwd, hwk mfa, fed)",
		Fields:  []string{"login_user", "login_methods"},
	})
	// IdentityLogout is logged when a user logs out (the session is
	// destroyed).
	IdentityLogout = define(Event{
		Name: "identity.logout", Level: zapcore.InfoLevel, OWASP: AuthnTokenDelete,
		Meaning: "a user logged out; the session was destroyed",
	})
	// IdentityAuthFailed is logged when a request carries credentials that
	// an authenticator tried and refused (a bad bearer token, a wrong basic
	// password, a malformed Authorization header). "authenticator" is the
	// refusing authenticator's scheme ("bearer", "token", "basic", a
	// custom one's name); "status" is 401 when a challenge was available,
	// 403 when none was.
	IdentityAuthFailed = define(Event{
		Name: "identity.auth_failed", Level: zapcore.WarnLevel, OWASP: AuthnLoginFail,
		Meaning:    "credentials sent with a request were refused; the request was answered 401 with the first challenge, or 403 when no authenticator has one",
		Fields:     []string{"authenticator", "reason", "status"},
		HighVolume: true,
	})
	// IdentityInactive is logged when a session or a credential names a
	// user who is unknown or inactive: the session is destroyed and the
	// request goes on as anonymous, or the credential is refused.
	IdentityInactive = define(Event{
		Name: "identity.inactive_user", Level: zapcore.WarnLevel, OWASP: AuthnLoginFail,
		Meaning: "a session or credential named an unknown or inactive user; it was not accepted",
		Fields:  []string{"authenticator", "session_user"},
	})
	// IdentityUnavailable is logged when the user could not be looked up
	// (a store error): the request is refused with 503, or, with FailOpen,
	// goes on as anonymous.
	IdentityUnavailable = define(Event{
		Name: "identity.unavailable", Level: zapcore.ErrorLevel, OWASP: AuthnLoginFail,
		Meaning: "the user could not be looked up; the request was refused (503) or, with FailOpen, served as anonymous",
		Fields:  []string{"authenticator", "error", "fail_open"},
	})
	// IdentityCredentialChanged is logged when a session was made with a
	// credential that has changed since (a password change or reset, a
	// log-out-everywhere): the session is destroyed and the request goes
	// on as anonymous, on whichever instance it arrives.
	IdentityCredentialChanged = define(Event{
		Name: "identity.credential_changed", Level: zapcore.WarnLevel, OWASP: AuthnTokenRevoked,
		Meaning: "a session was made with a credential that has changed since; it was logged out",
		Fields:  []string{"session_user"},
	})
	// IdentityReauthenticated is logged when the session that changed its
	// user's credential is kept: its token is renewed and the new
	// credential recorded in it, while the user's other sessions end.
	IdentityReauthenticated = define(Event{
		Name: "identity.reauthenticated", Level: zapcore.InfoLevel, OWASP: SessionRenewed,
		Meaning: "a session was kept under its user's new credential; the token was renewed, the user's other sessions end",
		Fields:  []string{"session_user"},
	})
	// IdentityLogoutEverywhere is logged when an application ends every
	// session of a user (Sessions.LogoutEverywhere, LogoutOthers).
	IdentityLogoutEverywhere = define(Event{
		Name: "identity.logout_everywhere", Level: zapcore.InfoLevel, OWASP: AuthnTokenRevoked,
		Meaning: "every session of the user was revoked (kept=true: but the one that asked)",
		Fields:  []string{"session_user", "kept"},
	})
)
