package seclog

import "go.uber.org/zap/zapcore"

// The events of package sessionexpiry. The "session" field is the first 16
// hex digits of the SHA-256 of the session token (never the token), so
// that events about one session can be put together.
var (
	// SessionExpiryExpired is logged when a logged-in session is ended
	// because it outlived its absolute lifetime (counted from login) or its
	// idle timeout (counted from the last request), or because its clocks
	// cannot be trusted: the session is destroyed and the request refused.
	SessionExpiryExpired = define(Event{
		Name: "sessionexpiry.expired", Level: zapcore.InfoLevel, OWASP: SessionExpired,
		Meaning: "a logged-in session outlived its absolute or idle limit (or had untrustworthy clocks); it was destroyed and the request sent to log in",
		Fields:  []string{"reason", "session_user", "session", "age_s", "idle_s", "client"},
	})
	// SessionExpiryClockAnomaly is logged when a session's login or
	// last-activity time is missing, of the wrong type or in the future:
	// the session is ended (fail closed), never trusted.
	SessionExpiryClockAnomaly = define(Event{
		Name: "sessionexpiry.clock_anomaly", Level: zapcore.WarnLevel, OWASP: SequenceFail,
		Meaning: "a logged-in session's login or last-activity time was missing, malformed or in the future; the session was ended",
		Fields:  []string{"reason", "session_user", "session"},
	})
	// SessionExpiryUseAfterExpire is logged when a request carries the token
	// of a session that was destroyed (logged out, expired, or replaced at
	// login) more than a few seconds before: a replayed cookie. The request
	// is served as anonymous and the cookie is expired.
	SessionExpiryUseAfterExpire = define(Event{
		Name: "sessionexpiry.use_after_expire", Level: zapcore.WarnLevel, OWASP: SessionUseAfterExpire,
		Meaning:    "a request carried the token of a session destroyed earlier (replayed cookie); it was served as anonymous",
		Fields:     []string{"session", "destroyed_ago_s"},
		HighVolume: true,
	})
	// SessionExpiryLateRequest is logged when a request carries the token
	// of a session destroyed within the last few seconds: a request a
	// browser sent alongside the one that logged out or expired (a page's
	// images and scripts). It is served as anonymous.
	SessionExpiryLateRequest = define(Event{
		Name: "sessionexpiry.late_request", Level: zapcore.InfoLevel, OWASP: SessionUseAfterExpire,
		Meaning:    "a request carried the token of a session destroyed seconds before (sent in parallel); it was served as anonymous",
		Fields:     []string{"session", "destroyed_ago_s"},
		HighVolume: true,
	})
	// SessionExpiryUnknownSession is logged when a well-formed session
	// cookie names no session in the store and no session destroyed
	// recently: a forged token, or one the store dropped (older than the
	// scs Lifetime, or a store that was emptied). The request is served as
	// anonymous and the cookie is expired.
	SessionExpiryUnknownSession = define(Event{
		Name: "sessionexpiry.unknown_session", Level: zapcore.InfoLevel, OWASP: SessionExpired,
		Meaning:    "a session cookie named no session in the store (forged, or dropped by the store); served as anonymous",
		Fields:     []string{"session"},
		HighVolume: true,
	})
	// SessionExpiryMalformedCookie is logged when the session cookie is not
	// a token scs could have made (wrong length or characters: truncated,
	// oversized or forged). The store is not asked; the request is served as
	// anonymous and the cookie is expired.
	SessionExpiryMalformedCookie = define(Event{
		Name: "sessionexpiry.malformed_cookie", Level: zapcore.WarnLevel, OWASP: InputValidationFail,
		Meaning:    "the session cookie was not a well-formed token (truncated, oversized or forged); served as anonymous",
		Fields:     []string{"length"},
		HighVolume: true,
	})
	// SessionExpiryResurrectionBlocked is logged when a request that was in
	// flight while its session was destroyed (by a logout or an expiry in
	// another request, on any instance) saved the session back to the store:
	// the saved copy is deleted again at once.
	SessionExpiryResurrectionBlocked = define(Event{
		Name: "sessionexpiry.resurrection_blocked", Level: zapcore.WarnLevel, OWASP: SessionUseAfterExpire,
		Meaning: "a request in flight saved a session destroyed meanwhile; the saved copy was deleted again",
		Fields:  []string{"session"},
	})
	// SessionExpiryRenewalBlocked is logged when a token renewal (a login,
	// a second factor, a password change) replaced the token of a session
	// that was logged out meanwhile by another request, on any instance:
	// the new token is destroyed instead of saved.
	SessionExpiryRenewalBlocked = define(Event{
		Name: "sessionexpiry.renewal_blocked", Level: zapcore.WarnLevel, OWASP: SessionUseAfterExpire,
		Meaning: "a token renewal replaced a session logged out meanwhile; the new token was destroyed",
		Fields:  []string{"session", "replaced"},
	})
	// SessionExpiryStoreError is logged when the session store fails: the
	// request is answered 503 (fail closed), or, for the look-up that only
	// classifies a dead cookie, served as anonymous with FailOpen.
	SessionExpiryStoreError = define(Event{
		Name: "sessionexpiry.store_error", Level: zapcore.ErrorLevel, OWASP: AuthnLoginFail,
		Meaning:    "the session store failed; the request was refused (503), or served as anonymous with FailOpen",
		Fields:     []string{"op", "error", "fail_open"},
		HighVolume: true,
	})
)
