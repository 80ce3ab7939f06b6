package seclog

import "go.uber.org/zap/zapcore"

// The events of package mfa (the second-factor gate and its verifiers).
var (
	// MFARequired is logged when a logged-in user who has not passed the
	// second factor in this session (or, on a step-up route, not recently
	// enough) is refused a route: sent to the challenge, or answered
	// 401/403 JSON for a script.
	MFARequired = define(Event{
		Name: "mfa.required", Level: zapcore.InfoLevel, OWASP: AuthzFail,
		Meaning:    "a user without a (recent enough) second factor in this session was sent to the challenge (or answered 401/403 JSON)",
		Fields:     []string{"reason", "client"},
		HighVolume: true,
	})
	// MFAChallenge is logged when a second-factor challenge begins: a
	// one-time state is stored in the session and the verifier asked to
	// start (a form to fill in, or a redirect to the provider).
	MFAChallenge = define(Event{
		Name: "mfa.challenge", Level: zapcore.InfoLevel, OWASP: AuthnTokenCreated,
		Meaning: "a second-factor challenge began for the session's user",
		Fields:  []string{"mfa_method"},
	})
	// MFASuccess is logged when a user passes the second factor: the
	// session token is renewed and the session marked verified.
	MFASuccess = define(Event{
		Name: "mfa.success", Level: zapcore.InfoLevel, OWASP: AuthnLoginSuccess,
		Meaning: "a user passed the second factor; the session token was renewed",
		Fields:  []string{"mfa_method", "factor"},
	})
	// MFAFailure is logged when a second-factor answer is refused: a wrong,
	// expired or malformed code, or a user who is not enrolled; or when a
	// switch to another method is refused (a method no verifier has, or
	// one the user is not enrolled in).
	MFAFailure = define(Event{
		Name: "mfa.failure", Level: zapcore.WarnLevel, OWASP: AuthnLoginFail,
		Meaning: "a second-factor answer was refused (reason: invalid, not_enrolled; malformed or oversize when the gate could not read its form), or a switch of method (reason: unknown_method, not_enrolled)",
		Fields:  []string{"mfa_method", "reason"},
	})
	// MFALocked is logged when a second-factor answer is refused without
	// being checked because the user has used up the attempt limit.
	MFALocked = define(Event{
		Name: "mfa.locked", Level: zapcore.WarnLevel, OWASP: AuthnLoginLock,
		Meaning:    "a second-factor answer was refused unchecked: too many failed attempts",
		Fields:     []string{"mfa_method"},
		HighVolume: true,
	})
	// MFAReplay is logged when a one-time code that was already accepted
	// (same or earlier time step) is presented again (RFC 6238 §5.2).
	MFAReplay = define(Event{
		Name: "mfa.replay", Level: zapcore.ErrorLevel, OWASP: AuthnTokenReuse,
		Meaning: "a second-factor code already used (same or earlier time step) was presented again and refused",
		Fields:  []string{"mfa_method"},
	})
	// MFAStateMismatch is logged when a challenge is completed without one
	// begun in this session for this user, after it expired, with a state
	// that does not match (a forged or replayed callback), or with an
	// answer that names another method than the challenge's.
	MFAStateMismatch = define(Event{
		Name: "mfa.state_mismatch", Level: zapcore.ErrorLevel, OWASP: SequenceFail,
		Meaning: "a second-factor completion came without a matching challenge in the session (reason: no_challenge, expired, mismatch: a forged or replayed state; other_method: an answer for another method)",
		Fields:  []string{"mfa_method", "reason"},
	})
	// MFABypassed is logged each time the provider cannot answer and the
	// gate, configured with fail mode Open, lets the user in without a
	// second factor for a short while.
	MFABypassed = define(Event{
		Name: "mfa.bypassed", Level: zapcore.WarnLevel, OWASP: AuthnLoginSuccess,
		Meaning: "the second-factor provider could not answer and fail mode Open let the user in without a second factor",
		Fields:  []string{"mfa_method", "error"},
	})
	// MFAUnavailable is logged when the provider (or the verifier's store)
	// cannot answer: the challenge cannot begin or complete and the gate
	// fails closed (503), or the challenge began with the user's next
	// factor instead (one event per provider skipped).
	MFAUnavailable = define(Event{
		Name: "mfa.unavailable", Level: zapcore.ErrorLevel, OWASP: AuthnLoginFail,
		Meaning: "the second-factor provider or its store could not answer; the challenge was refused (503), or began with the user's next factor",
		Fields:  []string{"mfa_method", "error", "fail_open"},
	})
	// MFAAbandoned is logged when the request ended (the client hung up,
	// or the server's deadline for it passed) while the verifier was
	// asked, as a challenge began or completed: the verifier's error is
	// then no outage, so no fail mode applies, nothing is cached and
	// nobody else is refused.
	MFAAbandoned = define(Event{
		Name: "mfa.abandoned", Level: zapcore.InfoLevel, OWASP: SequenceFail,
		Meaning:    "the request ended while the second-factor verifier was asked; not an outage: no bypass, no refusal, nothing cached",
		Fields:     []string{"mfa_method", "error"},
		HighVolume: true,
	})
	// MFAStoreError is logged when the gate could not tell whether a user
	// needs a second factor (Config.Required failed): the request is
	// refused with 503.
	MFAStoreError = define(Event{
		Name: "mfa.store_error", Level: zapcore.ErrorLevel, OWASP: AuthzFail,
		Meaning: "whether the user needs a second factor could not be read; the request was refused (503)",
		Fields:  []string{"error"},
	})
	// MFAEnrolled is logged when a user confirms a new second factor.
	MFAEnrolled = define(Event{
		Name: "mfa.enrolled", Level: zapcore.InfoLevel, OWASP: UserUpdated,
		Meaning: "a user confirmed a new second factor",
		Fields:  []string{"mfa_method", "target_user"},
	})
	// MFADisabled is logged when a user's second factor is removed.
	MFADisabled = define(Event{
		Name: "mfa.disabled", Level: zapcore.WarnLevel, OWASP: UserUpdated,
		Meaning: "a user's second factor was removed",
		Fields:  []string{"mfa_method", "target_user"},
	})
	// MFARecoveryCodes is logged when a new set of recovery codes is issued
	// (the old ones stop working).
	MFARecoveryCodes = define(Event{
		Name: "mfa.recovery_codes", Level: zapcore.InfoLevel, OWASP: SensitiveCreate,
		Meaning: "a new set of recovery codes was issued; the previous ones no longer work",
		Fields:  []string{"mfa_method", "target_user", "count"},
	})
)
