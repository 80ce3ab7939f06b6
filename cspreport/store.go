package cspreport

import (
	"context"
	"errors"
	"time"
)

// A Report is one CSP violation report after normalisation: the privacy
// defaults applied (no query nor fragment in URLs, their paths templated:
// no path parameters, ":id" for segments that look like ids or tokens; no
// data: bodies; the client's address cut to a prefix), every value cut to its bound, and its
// two fingerprints computed. Stores keep Reports merged by fingerprint:
// counts, first and last seen, one example.
type Report struct {
	// GroupFP is the group fingerprint: effective directive, blocked kind,
	// blocked origin (or keyword, or scheme), document origin and templated
	// path, and disposition. The summary lists groups.
	GroupFP string
	// DetailFP is the detail fingerprint: the group, the source file, line,
	// column and a hash of the sample.
	DetailFP string
	// Format is the body's shape: "report-uri", "report-to" (an element of
	// a Reporting API array) or "report-to-single" (WebKit's single object).
	Format string
	// Directive is the effective directive, in lower case ("script-src-elem").
	Directive string
	// Disposition is "enforce", "report" or "unknown" (WebKit's legacy
	// body has none; a ?disposition= query parameter can tell).
	Disposition string
	// BlockedKind is "url", "scheme" (data, blob, an extension …), a
	// keyword ("inline", "eval", "wasm-eval", "trusted-types-policy",
	// "trusted-types-sink", "self"), "empty" or "other".
	BlockedKind string
	// BlockedOrigin is scheme://host[:port] for a URL, else the keyword or
	// the scheme.
	BlockedOrigin string
	// Blocked is the blocked value as stored: a URL without query nor
	// fragment, or "data:" for a data: URI.
	Blocked string
	// DocumentURL is the page's URL without query nor fragment.
	DocumentURL string
	// DocumentOrigin and DocumentPath split DocumentURL; in DocumentPath,
	// segments that look like ids are replaced with ":id".
	DocumentOrigin, DocumentPath string
	// Referrer is the referrer without query nor fragment.
	Referrer string
	// SourceFile is the script or style that caused the violation, without
	// query nor fragment.
	SourceFile string
	// Line, Column and StatusCode are 0 when absent.
	Line, Column, StatusCode int
	// Sample is the first characters of the blocked code (script-sample),
	// cut to 256 bytes. It is attacker-controlled: escape it on output.
	Sample string
	// Policy is the original policy, cut to 16 KiB, and PolicyHash its
	// SHA-256 (hex); stores keep each policy once.
	Policy, PolicyHash string
	// PolicyVersion is the ?v= (or ?version=) query parameter of the
	// report URL.
	PolicyVersion string
	// UserAgent is the envelope's user_agent, else the request's header.
	UserAgent string
	// ClientPrefix is the client's address cut to /24 (IPv4) or /64 (IPv6).
	ClientPrefix string
	// ReceivedAt is when the request arrived; OccurredAt is ReceivedAt
	// minus the report's age (Reporting API), clamped to a day.
	ReceivedAt, OccurredAt time.Time
}

// Counter kinds, as stored by [Store.Save] and read by [Store.Counters].
const (
	// KindFiltered counts reports dropped by a noise filter, by reason.
	KindFiltered = "filtered"
	// KindOther counts Reporting API reports of other types
	// ("deprecation", "csp-hash" …), by type.
	KindOther = "other"
	// KindInvalid counts batch items that could not be read as reports.
	KindInvalid = "invalid"
)

// A Counter is a count of reports that were not stored as violations,
// by kind ([KindFiltered], [KindOther], [KindInvalid]) and name (the
// filter's reason, the report type, or "item").
type Counter struct {
	// Kind is why the reports were not stored: [KindFiltered],
	// [KindOther] or [KindInvalid].
	Kind string `json:"kind"`
	// Name tells the reports of one kind apart: the filter's reason, the
	// Reporting API type, or "item" for an unreadable batch item.
	Name string `json:"name"`
	// Count is the number of reports, summed over the queried window.
	Count int64 `json:"count"`
}

// An OtherReport is a Reporting API report of another type than
// csp-violation (deprecation, intervention, coop, crash …), kept apart
// from the CSP figures when [Config.KeepOther] is set. It is counted as
// [KindOther] either way.
type OtherReport struct {
	// Type is the report's type, cut to 64 bytes.
	Type string `json:"type"`
	// URL is the page's URL, without query nor fragment unless
	// [Config.KeepQuery].
	URL string `json:"url"`
	// UserAgent is the envelope's user_agent, else the request's header.
	UserAgent string `json:"user_agent"`
	// ClientPrefix is the client's address cut to /24 (IPv4) or /64
	// (IPv6): enough to see a flood from one network, not who sent it.
	ClientPrefix string `json:"client_prefix"`
	// Body is the report's body as the browser sent it (JSON), or empty
	// when it was longer than [MaxOtherBodyLen]. It is attacker-controlled
	// and may hold URLs with their queries.
	Body string `json:"body"`
	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time `json:"received_at"`
}

// An Event is one violation report as the browser sent it, kept when
// [Config.RawEvents] is set, at most that many per detail key and hour.
type Event struct {
	// GroupFP is the group fingerprint ([Report.GroupFP]).
	GroupFP string `json:"group"`
	// DetailFP is the detail fingerprint ([Report.DetailFP]).
	DetailFP string `json:"detail"`
	// ReceivedAt is when the request arrived.
	ReceivedAt time.Time `json:"received_at"`
	// Raw is the report's JSON (the legacy object, or one element of a
	// Reporting API batch), at most [MaxRawLen] bytes. It is
	// attacker-controlled and holds the URLs with their queries.
	Raw string `json:"raw"`
}

// A Group is one violation group as the summary shows it.
type Group struct {
	// Fingerprint identifies the group ([Report.GroupFP]): the key to
	// its details, to mute it, and to link to it (?group=).
	Fingerprint string `json:"fingerprint"`
	// Directive is the effective directive the reports share; it and
	// the five fields below are what makes them one group.
	Directive string `json:"effective_directive"`
	// Disposition is "enforce" (blocked), "report" (report-only) or
	// "unknown".
	Disposition string `json:"disposition"`
	// BlockedKind is [Report.BlockedKind]: "url", "scheme", "inline" …
	BlockedKind string `json:"blocked_kind"`
	// BlockedOrigin is [Report.BlockedOrigin].
	BlockedOrigin string `json:"blocked_origin"`
	// DocumentOrigin is the origin of the pages that reported.
	DocumentOrigin string `json:"document_origin"`
	// DocumentPath is their templated path (ids replaced with ":id").
	DocumentPath string `json:"document_path"`
	// Count is the number of reports in the queried window (by the hour).
	Count int64 `json:"count"`
	// Total is the number of reports since the group was first seen.
	Total int64 `json:"total"`
	// FirstSeen is when the group's first violation happened
	// ([Report.OccurredAt]).
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is when its latest violation happened.
	LastSeen time.Time `json:"last_seen"`
	// Muted groups are still counted but left out of the summary unless
	// asked for ([GroupQuery.Muted]): for known noise.
	Muted bool `json:"muted"`
	// ExampleBlocked is the blocked value of the group's first report.
	ExampleBlocked string `json:"example_blocked"`
	// ExampleSource is the source file of the group's first report.
	ExampleSource string `json:"example_source"`
	// Browsers counts the group's reports by browser family of their
	// User-Agent since it was first seen, most frequent first.
	Browsers []BrowserCount `json:"browsers"`
}

// A BrowserCount is the number of reports from one browser family.
type BrowserCount struct {
	// Family is the coarse browser family of the reports' User-Agent:
	// "Edge", "Opera", "Samsung Internet", "Firefox", "Chrome" (Chromium
	// and the others built on it), "Safari", "bot", "other", or
	// "unknown" for an empty User-Agent. The User-Agent is
	// attacker-controlled: the family is a hint, not a fact.
	Family string `json:"family"`
	// Count is the number of reports from that family.
	Count int64 `json:"count"`
}

// A Detail is one detail key of a group: a source location and sample.
type Detail struct {
	// Fingerprint identifies the detail ([Report.DetailFP]).
	Fingerprint string `json:"fingerprint"`
	// GroupFP is the fingerprint of the [Group] it belongs to.
	GroupFP string `json:"group"`
	// SourceFile, Line and Column locate the code that caused the
	// violation, when the browser said ([Report.SourceFile]).
	SourceFile string `json:"source_file"`
	// Line is the line in SourceFile, 0 when absent.
	Line int `json:"line"`
	// Column is the column in SourceFile, 0 when absent.
	Column int `json:"column"`
	// Sample is the start of the blocked code ([Report.Sample]). It is
	// attacker-controlled: escape it on output.
	Sample string `json:"sample"`
	// PolicyHash is the SHA-256 (hex) of the violated policy, from the
	// detail's first report: stores keep each policy once under its hash.
	PolicyHash string `json:"policy_hash"`
	// PolicyVersion is the ?v= of the report URL, as last reported: it
	// tells whether a violation survived a policy change.
	PolicyVersion string `json:"policy_version"`
	// ExampleDocument is the page URL of the detail's first report.
	ExampleDocument string `json:"example_document"`
	// ExampleBlocked is the blocked value of the first report.
	ExampleBlocked string `json:"example_blocked"`
	// ExampleUA is the User-Agent of the first report.
	ExampleUA string `json:"example_user_agent"`
	// Count is the number of reports with this detail, ever.
	Count int64 `json:"count"`
	// FirstSeen is when the detail's first violation happened
	// ([Report.OccurredAt]).
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is when its latest violation happened.
	LastSeen time.Time `json:"last_seen"`
}

// A GroupQuery selects groups for the summary.
type GroupQuery struct {
	// Since keeps groups seen at or after Since, and counts their reports
	// from the hour of Since on. Zero means all time.
	Since time.Time
	// Limit is the most groups returned (0: 100).
	Limit int
	// Muted includes muted groups.
	Muted bool
	// Until, when not zero, ends the window: it keeps groups first seen
	// before Until, and counts their reports of the hours that start
	// before it. With Since it selects a past span, for example the
	// quiet span before a window in which a group came back.
	Until time.Time
	// The filters below keep the groups whose field equals theirs; an
	// empty filter keeps every group. They are exact matches: a page
	// offers the values it read from the store.
	//
	// Fingerprint keeps one group ([Group.Fingerprint]).
	Fingerprint string
	// Directive keeps one effective directive ("script-src-elem").
	Directive string
	// Disposition keeps "enforce", "report" or "unknown".
	Disposition string
	// DocumentOrigin keeps the groups of one document origin.
	DocumentOrigin string
	// Browser keeps the groups that at least one report of this browser
	// family ([BrowserCount.Family]) has reached since they were first
	// seen: stores count browsers per group, not per hour.
	Browser string
}

// ErrNotFound is returned by [Store.Mute] for an unknown group.
var ErrNotFound = errors.New("cspreport: no such group")

// A Store keeps violation reports merged into groups and details, and the
// counters of what was not stored. Implementations are safe for concurrent
// use and return errors, never panic, when they cannot answer: the
// receiver then answers 503, so browsers send the reports again.
//
// The receiver does the merging: each group commit reduces its reports
// to a [Batch] of rows (one per group, detail, hour, client, policy and
// counter); a store adds those rows to what it holds, with the same
// rules ([Batch.Merge] in memory, the equivalent upserts in SQL).
//
// [MemoryStore] keeps everything in memory; the subpackage
// cspreport/sqlstore keeps it in SQLite or PostgreSQL.
type Store interface {
	// Save adds the rows of b to the store, atomically: all of them or
	// none (one transaction, or one lock); once it returns nil they are
	// durable and every read sees them. It returns the fingerprints of
	// the groups of b the store did not hold before: the receiver logs
	// one security event per new group. An empty batch writes nothing,
	// but Save fails if the store cannot write now: it is the probe of
	// [Receiver.Check]. Save keeps nothing of b once it returns: the
	// receiver reuses its memory.
	Save(ctx context.Context, b *Batch) (newGroups []string, err error)
	// Groups returns groups by descending count in the window.
	Groups(ctx context.Context, q GroupQuery) ([]Group, error)
	// CountGroups returns how many groups Groups would return for q
	// without its limit: the M of "N of M groups shown".
	CountGroups(ctx context.Context, q GroupQuery) (int, error)
	// Hours returns the reports of the groups q selects (its limit
	// aside, muted ones only with q.Muted) summed by hour, directive and
	// disposition, for the hours from that of q.Since to q.Until, in
	// order of hour, directive and disposition: the series of a chart.
	Hours(ctx context.Context, q GroupQuery) ([]HourCount, error)
	// Details returns a group's details by descending count (at most limit,
	// 0 meaning 100).
	Details(ctx context.Context, groupFP string, limit int) ([]Detail, error)
	// GroupClients returns, for each of the given groups, the distinct
	// client prefixes ([Report.ClientPrefix]) that reported it at or after
	// since: the evidence that a source is needed by many clients, or
	// sent by one.
	GroupClients(ctx context.Context, groups []string, since time.Time) (map[string][]string, error)
	// Policy returns the text of the policy whose SHA-256 (hex) is hash
	// ([Detail.PolicyHash]), or "" when the store does not hold it (never
	// stored, or deleted with the last detail that used it).
	Policy(ctx context.Context, hash string) (string, error)
	// Counters returns the counters from the hour of since on, summed by
	// kind and name.
	Counters(ctx context.Context, since time.Time) ([]Counter, error)
	// Events returns the raw events of a detail key, newest first (at
	// most limit, 0 meaning 100).
	Events(ctx context.Context, detailFP string, limit int) ([]Event, error)
	// Others returns the reports of other types received at or after
	// since, newest first (at most limit, 0 meaning 100).
	Others(ctx context.Context, since time.Time, limit int) ([]OtherReport, error)
	// Mute mutes or unmutes a group; a muted group still counts but is
	// left out of the summary unless asked for.
	Mute(ctx context.Context, groupFP string, muted bool) error
	// DeleteBefore deletes what was last seen before before (groups,
	// details, hourly counts, clients, counters, unused policies, raw
	// events and reports of other types received before it), in
	// transactions of at most chunk rows (0: 1000), and returns the
	// number of rows deleted.
	DeleteBefore(ctx context.Context, before time.Time, chunk int) (int64, error)
}

// stamp is a time as stores keep it: UTC, to the microsecond.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// hourOf is the hourly bucket of t.
func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
