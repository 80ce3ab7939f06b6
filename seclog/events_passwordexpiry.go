package seclog

import "go.uber.org/zap/zapcore"

// The events of package passwordexpiry.
var (
	// PasswordExpiryRequired is logged when a logged-in user who must
	// change their password is refused a route that is not exempt: sent to
	// the change page, or answered 403 JSON for a script.
	PasswordExpiryRequired = define(Event{
		Name: "passwordexpiry.required", Level: zapcore.InfoLevel, OWASP: AuthzFail,
		Meaning:    "a user who must change their password was sent to the change page (or answered 403 JSON)",
		Fields:     []string{"reason", "client", "cached"},
		HighVolume: true,
	})
	// PasswordExpiryChanged is logged when the application reports that a
	// user changed their password: the requirement is cleared and the
	// session's verdict updated.
	PasswordExpiryChanged = define(Event{
		Name: "passwordexpiry.changed", Level: zapcore.InfoLevel, OWASP: AuthnPasswordChange,
		Meaning: "a user's password change was recorded; any requirement to change it was cleared",
		Fields:  []string{"target_user", "cleared_reason"},
	})
	// PasswordExpiryChangeFailed is logged when a password change could
	// not be recorded (a store error): the user stays required to change.
	PasswordExpiryChangeFailed = define(Event{
		Name: "passwordexpiry.change_failed", Level: zapcore.ErrorLevel, OWASP: AuthnPasswordChangeFail,
		Meaning: "a password change could not be recorded (store error); the requirement stays",
		Fields:  []string{"target_user", "error"},
	})
	// PasswordExpiryFlagged is logged when a user is flagged as having to
	// change their password (first login, admin reset, compromise,
	// temporary password).
	PasswordExpiryFlagged = define(Event{
		Name: "passwordexpiry.flagged", Level: zapcore.WarnLevel, OWASP: UserUpdated,
		Meaning: "a user was flagged as having to change their password, with a reason",
		Fields:  []string{"target_user", "reason"},
	})
	// PasswordExpiryFlagFailed is logged when a flag could not be recorded
	// (a store error): the user is not required to change their password.
	PasswordExpiryFlagFailed = define(Event{
		Name: "passwordexpiry.flag_failed", Level: zapcore.ErrorLevel, OWASP: UserUpdated,
		Meaning: "a requirement to change a password could not be recorded (store error)",
		Fields:  []string{"target_user", "reason", "error"},
	})
	// PasswordExpiryStoreError is logged when the gate could not read a
	// user's requirement (a store error, or a user id the store refuses):
	// the request is refused with 503, or, with FailOpen, served.
	PasswordExpiryStoreError = define(Event{
		Name: "passwordexpiry.store_error", Level: zapcore.ErrorLevel, OWASP: AuthzFail,
		Meaning: "the password-change requirement could not be read; the request was refused (503) or, with FailOpen, served",
		Fields:  []string{"error", "fail_open"},
	})
)
