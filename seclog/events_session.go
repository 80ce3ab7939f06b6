package seclog

import "go.uber.org/zap/zapcore"

// The event of a chain in the wrong order, shared by every middleware that
// reads the scs session (identity's Sessions, sessionexpiry, mfa,
// passwordexpiry).
var (
	// SessionNotLoaded is logged when a middleware that reads the scs
	// session serves a request whose context holds no session data of its
	// manager: the manager's LoadAndSave did not run before it (a
	// hand-made chain in the wrong order). The request is answered 500,
	// instead of scs's panic. "middleware" names the middleware, "fix"
	// says what to write. Every request of such a deployment logs it, so
	// it is sampled.
	SessionNotLoaded = define(Event{
		Name: "session.not_loaded", Level: zapcore.ErrorLevel, OWASP: SysCrash,
		Meaning:    "a middleware that reads the scs session ran before the manager's LoadAndSave (a chain in the wrong order); the request was answered 500",
		Fields:     []string{"middleware", "fix"},
		HighVolume: true,
	})
)
