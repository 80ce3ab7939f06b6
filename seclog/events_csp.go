package seclog

import "go.uber.org/zap/zapcore"

// The events of package csp.
var (
	// CSPPolicyWeak is logged once at startup for each weakness the csp
	// package finds in a configured policy (an unsafe source in
	// script-src, 'strict-dynamic' without a nonce or hash, a missing
	// object-src or base-uri, a report-only policy that cannot report, a
	// directive that report-only ignores). The policy is still served.
	CSPPolicyWeak = define(Event{
		Name: "csp.policy_weak", Level: zapcore.WarnLevel, OWASP: SysStartup,
		Meaning: "a configured Content-Security-Policy is served but has a known weakness",
		Fields:  []string{"policy", "directive", "reason"},
	})
	// CSPDirectiveDeprecated is logged once at startup for each deprecated
	// directive in a configured policy (plugin-types, prefetch-src,
	// navigate-to, block-all-mixed-content, report-uri without report-to).
	CSPDirectiveDeprecated = define(Event{
		Name: "csp.directive_deprecated", Level: zapcore.InfoLevel, OWASP: SysStartup,
		Meaning: "a configured Content-Security-Policy uses a deprecated directive",
		Fields:  []string{"policy", "directive", "reason"},
	})
	// CSPNonceLate is logged when, in lazy mode, the nonce is asked for
	// after the response headers were sent: the nonce cannot be in the
	// header any more, so the empty string was returned.
	CSPNonceLate = define(Event{
		Name: "csp.nonce_late", Level: zapcore.ErrorLevel, OWASP: SequenceFail,
		Meaning: "the CSP nonce was asked for after the response headers were sent; none was given",
	})
	// CSPChangeRefused is logged when a per-request change of the policy
	// (csp.Apply, Override, Append, Exempt, Use) was refused: invalid
	// directives, an unknown preset, or headers already sent. The response
	// keeps the policy it had.
	CSPChangeRefused = define(Event{
		Name: "csp.change_refused", Level: zapcore.ErrorLevel, OWASP: InputValidationFail,
		Meaning: "a per-request change of the Content-Security-Policy was refused; the policy in force is unchanged",
		Fields:  []string{"reason"},
	})
)
