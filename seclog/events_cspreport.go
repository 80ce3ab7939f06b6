package seclog

import "go.uber.org/zap/zapcore"

// The events of package cspreport. Reports are counted, not logged one by
// one: a new violation group is logged once, and every refusal is a
// high-volume event, since anyone can send reports.
var (
	// CSPReportViolation is logged once per new violation group (a
	// directive, a blocked origin or keyword, a document origin and path
	// and a disposition never seen before), when the group is committed.
	// Later reports of the group only raise its count. Anyone can forge
	// reports with new groups, so it is high-volume.
	CSPReportViolation = define(Event{
		Name: "cspreport.violation", Level: zapcore.WarnLevel, OWASP: MaliciousExtraneous,
		Meaning:    "Content Security Policy violation: a browser reported a new violation group",
		Fields:     []string{"group", "directive", "disposition", "blocked", "document", "source", "client_prefix", "policy_version", "user_agent"},
		HighVolume: true,
	})
	// CSPReportRejected is logged when a report request is refused before
	// anything is stored: wrong method (405), wrong media type or content
	// encoding (415), too big or too many items (413), undecodable (400).
	CSPReportRejected = define(Event{
		Name: "cspreport.rejected", Level: zapcore.WarnLevel, OWASP: InputValidationFail,
		Meaning:    "a CSP report request was refused (400, 405, 413 or 415); nothing was stored",
		Fields:     []string{"status", "reason"},
		HighVolume: true,
	})
	// CSPReportRateLimited is logged when a client (an address prefix) sent
	// more reports than its rate allows: 429 with Retry-After.
	CSPReportRateLimited = define(Event{
		Name: "cspreport.rate_limited", Level: zapcore.WarnLevel, OWASP: ExcessRateLimitExceeded,
		Meaning:    "a client sent CSP reports faster than its rate limit; answered 429",
		Fields:     []string{"client_prefix", "reports", "retry_after"},
		HighVolume: true,
	})
	// CSPReportOverloaded is logged when the write queue is full or the
	// receiver is closing: the reports are refused with 503 and
	// Retry-After, never accepted and dropped.
	CSPReportOverloaded = define(Event{
		Name: "cspreport.overloaded", Level: zapcore.ErrorLevel, OWASP: ExcessRateLimitExceeded,
		Meaning:    "the CSP report write queue was full or closed; answered 503 with Retry-After",
		Fields:     []string{"reason"},
		HighVolume: true,
	})
	// CSPReportStoreError is logged when a group commit failed: every
	// request waiting on it is answered 503, so the browsers send the
	// reports again later.
	CSPReportStoreError = define(Event{
		Name: "cspreport.store_error", Level: zapcore.ErrorLevel, OWASP: SequenceFail,
		Meaning: "a batch of CSP reports could not be committed; the requests waiting on it were answered 503",
		Fields:  []string{"error", "reports", "requests"},
	})
)
