package seclog

import "go.uber.org/zap/zapcore"

// The events of package identity/oidc.
var (
	// OIDCLogin is logged when a user logged in through an OpenID
	// Connect provider (after identity.login, which the session logs).
	OIDCLogin = define(Event{
		Name: "oidc.login", Level: zapcore.InfoLevel, OWASP: AuthnLoginSuccess,
		Meaning: "a user logged in through an OpenID Connect provider; the ID token was verified and the session token renewed; provider_mfa=true: the provider's amr said mfa and TrustProviderMFA counts it as the second factor",
		Fields:  []string{"issuer", "subject", "login_user", "amr", "provider_mfa"},
	})
	// OIDCRefused is logged when a login through an OpenID Connect
	// provider was refused: an error from the provider, an unknown or
	// replayed state, a failed exchange, an ID token that fails a check.
	OIDCRefused = define(Event{
		Name: "oidc.refused", Level: zapcore.WarnLevel, OWASP: AuthnLoginFail,
		Meaning:    "a login through an OpenID Connect provider was refused (reason: provider_error, unknown_state, flow_expired, bad_response, exchange_failed, wrong_issuer, wrong_audience, expired_token, bad_signature, wrong_nonce, bad_token, user_refused, login_failed); nobody was logged in",
		Fields:     []string{"reason", "provider_error", "error"},
		HighVolume: true,
	})
	// OIDCLogout is logged when a user logged out through Login.Logout
	// (after identity.logout): at_provider tells whether the browser was
	// sent to the provider's logout endpoint too.
	OIDCLogout = define(Event{
		Name: "oidc.logout", Level: zapcore.InfoLevel, OWASP: AuthnTokenDelete,
		Meaning: "a user logged out; at_provider=true: the browser was sent to the provider's logout endpoint too",
		Fields:  []string{"at_provider"},
	})
	// OIDCBackChannelLogout is logged when the provider's back-channel
	// logout token was accepted and the local sessions of the provider
	// session it names (sid), or of its user (subject alone), ended.
	OIDCBackChannelLogout = define(Event{
		Name: "oidc.backchannel_logout", Level: zapcore.InfoLevel, OWASP: AuthnTokenRevoked,
		Meaning: "the provider logged a user out by a back-channel logout token; the local sessions of the provider session sid (or, without sid, of the user) were ended; ended: how many (absent when Config.BackChannelLogout ended them)",
		Fields:  []string{"issuer", "subject", "sid", "ended"},
	})
	// OIDCLogoutTokenRefused is logged when a back-channel logout request
	// was refused (400): no token, a token that fails verification, a
	// replayed jti, or the sessions could not be ended; or (501) the
	// session store cannot list its sessions and no
	// Config.BackChannelLogout was given.
	OIDCLogoutTokenRefused = define(Event{
		Name: "oidc.logout_token_refused", Level: zapcore.WarnLevel, OWASP: InputValidationFail,
		Meaning:    "a back-channel logout request was refused, 400 (reason: no_token, bad_token, replayed, logout_failed), or 501 (no_session_list: the session store cannot list its sessions and no BackChannelLogout was given; nothing was ended)",
		Fields:     []string{"reason", "error"},
		HighVolume: true,
	})
)
