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
	// CSPReportOverloaded is logged when a request's reports are refused
	// with 503 and Retry-After, never accepted and dropped, because the
	// write queue is full (reason queue-full), the receiver is closing
	// (closed) or the commit took longer than the receiver's
	// CommitTimeout (commit-timeout: the store is slow or hung). A client
	// that hangs up while its commit waits is not logged.
	CSPReportOverloaded = define(Event{
		Name: "cspreport.overloaded", Level: zapcore.ErrorLevel, OWASP: ExcessRateLimitExceeded,
		Meaning:    "CSP reports were refused with 503 and Retry-After: write queue full, receiver closed, or commit slower than CommitTimeout",
		Fields:     []string{"reason"},
		HighVolume: true,
	})
	// CSPReportStoreError is logged when commits start failing (once per
	// state change, not per commit): every request waiting on a failed
	// commit is answered 503, so the browsers send the reports again
	// later. reports and requests are those of the first failed commit.
	// It is sampled like a high-volume event, so that a store that
	// fails and recovers in a loop cannot flood the log.
	CSPReportStoreError = define(Event{
		Name: "cspreport.store_error", Level: zapcore.ErrorLevel, OWASP: SequenceFail,
		Meaning:    "CSP report commits started failing; requests are answered 503 until cspreport.store_recovered",
		Fields:     []string{"error", "reports", "requests"},
		HighVolume: true,
	})
	// CSPReportStoreRecovered is logged when a commit, or a health
	// probe, succeeds after cspreport.store_error: error is the last
	// failure, failed_commits and failed_reports count the commits and
	// reports refused in between, failing_for how long it lasted.
	CSPReportStoreRecovered = define(Event{
		Name: "cspreport.store_recovered", Level: zapcore.WarnLevel, OWASP: SequenceFail,
		Meaning:    "the CSP report store writes again after cspreport.store_error; counts of what was refused meanwhile",
		Fields:     []string{"error", "failed_commits", "failed_reports", "failing_for"},
		HighVolume: true,
	})
)
