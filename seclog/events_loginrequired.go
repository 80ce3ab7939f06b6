package seclog

import "go.uber.org/zap/zapcore"

// The events of package loginrequired.
var (
	// LoginRequiredRedirect is logged when an anonymous request on a route
	// that is not public is refused: sent to the login page, or answered
	// 401/403 for a script.
	LoginRequiredRedirect = define(Event{
		Name: "loginrequired.redirect", Level: zapcore.InfoLevel, OWASP: AuthzFail,
		Meaning:    "an anonymous request on a route that is not public was sent to log in",
		Fields:     []string{"rule", "client"},
		HighVolume: true,
	})
	// LoginRequiredForbidden is logged when a logged-in user is refused a
	// route: its rule's authorizer said no, or strict mode found no rule.
	LoginRequiredForbidden = define(Event{
		Name: "loginrequired.forbidden", Level: zapcore.WarnLevel, OWASP: AuthzFail,
		Meaning:    "a logged-in user was refused a route (403): its rule does not authorize them, or no rule covers it in strict mode",
		Fields:     []string{"rule", "reason"},
		HighVolume: true,
	})
	// LoginRequiredAdmin is logged when a user passes a rule that only
	// staff or superusers pass.
	LoginRequiredAdmin = define(Event{
		Name: "loginrequired.admin_access", Level: zapcore.InfoLevel, OWASP: AuthzAdmin,
		Meaning: "a staff or superuser route was served to an authorized user",
		Fields:  []string{"rule"},
	})
)
