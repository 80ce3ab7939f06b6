package seclog

import "go.uber.org/zap/zapcore"

// The events of package throttle (login and second-factor throttling).
var (
	// ThrottleRefused is logged when a credential check is refused
	// unchecked because a counter must still wait (429 with Retry-After).
	// Anyone can cause it, so it is high-volume. counter names the counter
	// that refused: "pair" (the account from this client or device),
	// "client" (this client across accounts) or "account" (the account
	// across untrusted clients).
	ThrottleRefused = define(Event{
		Name: "throttle.refused", Level: zapcore.WarnLevel, OWASP: AuthnLoginLock,
		Meaning:    "a login or second-factor attempt was refused unchecked: too many attempts (429, Retry-After)",
		Fields:     []string{"scope", "counter", "retry_after", "device"},
		HighVolume: true,
	})
	// ThrottleBackoff is logged when a counter uses up its free attempts:
	// from the next attempt on, attempts wait.
	ThrottleBackoff = define(Event{
		Name: "throttle.backoff", Level: zapcore.WarnLevel, OWASP: AuthnLoginFailMax,
		Meaning:    "a counter used up its free attempts: the next attempts of that account, client or device wait, longer each time",
		Fields:     []string{"scope", "counter", "target_user", "failures", "device"},
		HighVolume: true,
	})
	// ThrottleDeviceIssued is logged when a browser gets a device cookie
	// after a complete login.
	ThrottleDeviceIssued = define(Event{
		Name: "throttle.device_issued", Level: zapcore.InfoLevel, OWASP: AuthnTokenCreated,
		Meaning: "a browser that completed a login got a device cookie: its attempts are counted apart from strangers'",
		Fields:  []string{"scope", "target_user"},
	})
	// ThrottleDeviceRefused is logged when a device cookie is shown that
	// is malformed, forged or expired: the client is judged as a stranger.
	ThrottleDeviceRefused = define(Event{
		Name: "throttle.device_refused", Level: zapcore.WarnLevel, OWASP: InputValidationFail,
		Meaning:    "a device cookie was malformed, badly signed or expired; the client was judged as unknown",
		Fields:     []string{"scope", "reason"},
		HighVolume: true,
	})
	// ThrottleStoreError is logged when the throttle's store cannot
	// answer: the attempt is refused (503), or let through with FailOpen.
	ThrottleStoreError = define(Event{
		Name: "throttle.store_error", Level: zapcore.ErrorLevel, OWASP: AuthnLoginFail,
		Meaning: "the throttle's store could not answer; the attempt was refused (503), or let through when fail_open",
		Fields:  []string{"scope", "error", "fail_open"},
	})
	// ThrottleReset is logged when an administrator forgets an account's
	// attempts (Throttle.Reset).
	ThrottleReset = define(Event{
		Name: "throttle.reset", Level: zapcore.InfoLevel, OWASP: AuthzAdmin,
		Meaning: "an administrator forgot an account's attempts from every client and device",
		Fields:  []string{"scope", "target_user"},
	})
)
