// Package assistant turns stored CSP violation reports into policy
// advice: for each document origin and directive, the sources the site's
// real users need (with the evidence), the sources that look like
// injection or noise (with the reason), the origin's latest policy with
// the needed sources merged in, and, for a report-only policy, whether it
// is ready to enforce.
//
// The assistant only reads a [cspreport.Store]; it never changes one. It
// follows the premise of report-uri.com's CSP Wizard (the superset of
// your visitors sees every page) with the noise rules of Sentry and
// Nelmio, and it never proposes what strict-CSP guidance forbids
// ('unsafe-inline', 'unsafe-eval', a bare scheme, a wildcard for one
// host): see docs/cspreport.md, "The policy assistant".
package assistant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/seclog"
)

// Defaults of [Config].
const (
	// DefaultMinClients is the number of distinct clients a source needs
	// to be suggested: one or two clients are a browser extension, an
	// injection or an attack; three networks agreeing are the site.
	DefaultMinClients = 3
	// DefaultWindow is how long a report-only policy must go without a
	// violation from real clients to be ready to enforce: a week, so
	// that weekly jobs, weekend traffic and every page a real user
	// opens in a week have had their say.
	DefaultWindow = 7 * 24 * time.Hour
	// DefaultWildcardHosts is the number of distinct suggested hosts of
	// one parent domain (a.cdn.example, b.cdn.example …) above which
	// they are merged into one wildcard (*.cdn.example).
	DefaultWildcardHosts = 5
	// maxGroups bounds the groups one Suggest reads.
	maxGroups = 10000
)

// Config configures an [Assistant]. Zero values take the defaults.
type Config struct {
	// Store is where the reports are read. Required.
	Store cspreport.Store
	// MinClients is the least number of distinct clients a source needs
	// to be suggested; with fewer it is suspicious ("few-clients"). 0
	// means [DefaultMinClients]. 1 suggests everything that is not noise
	// by its kind: for a test, or a site that only its staff visits.
	MinClients int
	// Window is how long a report-only policy must stay free of
	// violations from real clients to be ready to enforce; it also
	// bounds the reports read for readiness. 0 means [DefaultWindow].
	Window time.Duration
	// WildcardHosts is how many distinct hosts of one parent domain, in
	// one directive, are replaced with a wildcard host-source. 0 means
	// [DefaultWildcardHosts]. There is no public-suffix list here: the
	// parent must have at least two labels, and each host must be one
	// label under it.
	WildcardHosts int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// An Assistant reads a store and suggests policies. It is safe for
// concurrent use.
type Assistant struct {
	store                     cspreport.Store
	minClients, wildcardHosts int
	window                    time.Duration
	now                       func() time.Time
}

// New checks cfg and returns an Assistant.
func New(cfg Config) (*Assistant, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("assistant: Config.Store is nil: give the report store the receiver writes")
	case cfg.MinClients < 0:
		return nil, fmt.Errorf("assistant: Config.MinClients %d: write 1 or more, or 0 for %d", cfg.MinClients, DefaultMinClients)
	case cfg.Window < 0:
		return nil, fmt.Errorf("assistant: Config.Window %v: write a positive duration such as 168h, or 0 for %v", cfg.Window, DefaultWindow)
	case cfg.WildcardHosts < 0 || cfg.WildcardHosts == 1:
		return nil, fmt.Errorf("assistant: Config.WildcardHosts %d: write 2 or more, or 0 for %d", cfg.WildcardHosts, DefaultWildcardHosts)
	}
	a := &Assistant{store: cfg.Store, minClients: cfg.MinClients, window: cfg.Window,
		wildcardHosts: cfg.WildcardHosts, now: cfg.Now}
	if a.minClients == 0 {
		a.minClients = DefaultMinClients
	}
	if a.window == 0 {
		a.window = DefaultWindow
	}
	if a.wildcardHosts == 0 {
		a.wildcardHosts = DefaultWildcardHosts
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// A Finding is one source of one directive on one origin, with its
// evidence. Suggestions and suspicious sources share the type; only
// suspicious ones have a Reason. Its JSON is the contract of `bulwark
// suggest`.
type Finding struct {
	// Origin is the document origin ("https://app.example.com").
	Origin string `json:"origin"`
	// Directive is the effective directive the reports named
	// ("script-src-elem").
	Directive string `json:"directive"`
	// Source is the source expression: a host-source
	// ("https://cdn.example.com", a wildcard "https://*.example.com"
	// when many hosts of one domain need it), a scheme ("data:"), a
	// keyword ("'self'", "'unsafe-inline'") or a hash ("'sha256-…'").
	Source string `json:"source"`
	// Clients is the number of distinct client address prefixes that
	// reported it in the window ([cspreport.Store.GroupClients]).
	Clients int `json:"clients"`
	// Documents is the number of distinct pages (templated paths).
	Documents int `json:"documents"`
	// Browsers is the number of distinct browser families.
	Browsers int `json:"browsers"`
	// Reports is the number of reports in the queried window.
	Reports int64 `json:"-"`
	// FirstSeen and LastSeen bound the violations.
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is when the latest violation happened.
	LastSeen time.Time `json:"last_seen"`
	// Reason says why a suspicious source is not suggested: see the
	// Reason constants.
	Reason string `json:"reason,omitempty"`
}

// The reasons of suspicious findings.
const (
	// ReasonFewClients: seen from fewer than Config.MinClients clients.
	ReasonFewClients = "few-clients"
	// ReasonExtension: an extension's scheme (chrome-extension:,
	// moz-extension:, safari-web-extension: …) as the blocked value or
	// the source file.
	ReasonExtension = "extension"
	// ReasonBrowserInternal: a browser-internal scheme (about:, chrome:,
	// resource: …) or a document that is not http(s).
	ReasonBrowserInternal = "browser-internal"
	// ReasonInlineNoSample: inline code without a complete sample, so no
	// hash can allow it; add 'report-sample', move it to a file or give
	// it the nonce.
	ReasonInlineNoSample = "inline-no-sample"
	// ReasonInlineAttribute: an inline event handler or style attribute;
	// allowing it takes 'unsafe-hashes' or 'unsafe-inline': refactor it.
	ReasonInlineAttribute = "inline-attribute"
	// ReasonEval: eval or wasm eval; the assistant never suggests
	// 'unsafe-eval'.
	ReasonEval = "eval"
	// ReasonPrivateAddress: a private or loopback address blocked on a
	// public page: a proxy, antivirus or local software injecting.
	ReasonPrivateAddress = "private-address"
	// ReasonMuted: the group was muted on the dashboard or with
	// the store's Mute: known noise, by the operator's word.
	ReasonMuted = "muted"
	// ReasonNotASource: a violation no source expression allows
	// (Trusted Types, an empty or unreadable blocked value).
	ReasonNotASource = "not-a-source"
)

// A Query selects what [Assistant.Suggest] reads.
type Query struct {
	// Since keeps the reports seen at or after Since (zero: all time).
	// Readiness always reads at least [Config.Window].
	Since time.Time
	// Origin keeps one document origin ("https://app.example.com");
	// empty keeps them all.
	Origin string
}

// A Result is the advice for each origin, plus what the receiver
// filtered before storing (never suggested: counted only).
type Result struct {
	// Origins are the document origins, in order.
	Origins []Origin
	// Filtered are the counters of reports dropped by the receiver's
	// noise filters in the window, by reason.
	Filtered []cspreport.Counter
}

// An Origin is the advice for one document origin.
type Origin struct {
	// Origin is the document origin.
	Origin string
	// Suggestions are the sources the site needs, by directive, then
	// most clients first.
	Suggestions []Finding
	// Suspicious are the sources left out, with their reason.
	Suspicious []Finding
	// Policy is the latest policy the origin's reports carried (the
	// report-only one when there is one), with nonces written as
	// "'nonce'" (csp.NonceSource); "" when the store holds none.
	Policy string
	// ReportOnly is true when Policy is a report-only policy.
	ReportOnly bool
	// Merged is Policy with the suggestions merged in, valid for
	// csp.Parse; "" when Policy is. When the stored policy does not
	// parse, Merged is "" and PolicyError says why.
	Merged string
	// PolicyError is why Policy could not be merged, or "".
	PolicyError string
	// Readiness is set for a report-only policy.
	Readiness *Readiness
}

// Readiness tells whether a report-only policy can be enforced: it is
// ready when the policy has been seen for at least [Config.Window] and no
// real client (no suggestion) has reported a source the policy does not
// allow in that window. Noise (suspicious findings) does not block:
// enforcing will block it, as it should.
type Readiness struct {
	// Ready is true when nothing blocks.
	Ready bool
	// Blockers say what still blocks, one sentence each.
	Blockers []string
	// LastViolation is the latest violation from real clients that the
	// policy does not allow yet (zero when there is none).
	LastViolation time.Time
}

// Find returns the advice for origin, or for the only origin when origin
// is "". With several origins and none given, or an origin with no
// reports, it returns an error that lists the origins.
func (r *Result) Find(origin string) (*Origin, error) {
	var names []string
	for i := range r.Origins {
		if r.Origins[i].Origin == origin || (origin == "" && len(r.Origins) == 1) {
			return &r.Origins[i], nil
		}
		names = append(names, r.Origins[i].Origin)
	}
	if len(names) == 0 {
		return nil, errors.New("no reports in the window")
	}
	if origin == "" {
		return nil, fmt.Errorf("reports from %d origins: choose one of %s", len(names), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("no reports from %s: choose one of %s", origin, strings.Join(names, ", "))
}

// Suggest reads the store and returns the advice.
func (a *Assistant) Suggest(ctx context.Context, q Query) (*Result, error) {
	now := a.now()
	since := q.Since
	if ready := now.Add(-a.window); !since.IsZero() && ready.Before(since) {
		since = ready
	}
	gs, err := a.store.Groups(ctx, cspreport.GroupQuery{Since: since, Limit: maxGroups, Muted: true})
	if err != nil {
		return nil, fmt.Errorf("assistant: %w", err)
	}
	gs = slices.DeleteFunc(gs, func(g cspreport.Group) bool { return q.Origin != "" && g.DocumentOrigin != q.Origin })
	fps := make([]string, len(gs))
	for i, g := range gs {
		fps[i] = g.Fingerprint
	}
	clients, err := a.store.GroupClients(ctx, fps, since)
	if err != nil {
		return nil, fmt.Errorf("assistant: %w", err)
	}
	res := &Result{}
	if res.Filtered, err = a.store.Counters(ctx, q.Since); err != nil {
		return nil, fmt.Errorf("assistant: %w", err)
	}
	res.Filtered = slices.DeleteFunc(res.Filtered, func(c cspreport.Counter) bool { return c.Kind != cspreport.KindFiltered })

	byOrigin := map[string][]cspreport.Group{}
	for _, g := range gs {
		byOrigin[g.DocumentOrigin] = append(byOrigin[g.DocumentOrigin], g)
	}
	for _, name := range slices.Sorted(maps.Keys(byOrigin)) {
		o, err := a.origin(ctx, name, byOrigin[name], clients, q.Since, now)
		if err != nil {
			return nil, err
		}
		res.Origins = append(res.Origins, *o)
	}
	return res, nil
}

// evidence accumulates one (directive, source, reason) of an origin.
type evidence struct {
	Finding
	clients    map[string]bool
	docs       map[string]bool
	browsers   map[string]bool
	report     bool      // seen under a report-only policy
	lastRO     time.Time // latest report-only violation
	wildcarded bool
}

// origin advises on one origin from its groups gs (read since the
// earlier of the query's since and the readiness window).
func (a *Assistant) origin(ctx context.Context, name string, gs []cspreport.Group, clients map[string][]string, since, now time.Time) (*Origin, error) {
	ev := map[[3]string]*evidence{}
	add := func(g *cspreport.Group, directive, source, reason string) {
		directive, source = seclog.Escape(directive), seclog.Escape(source)
		k := [3]string{directive, source, reason}
		e := ev[k]
		if e == nil {
			e = &evidence{Finding: Finding{Origin: seclog.Escape(name), Directive: directive, Source: source, Reason: reason},
				clients: map[string]bool{}, docs: map[string]bool{}, browsers: map[string]bool{}}
			ev[k] = e
		}
		e.Reports += g.Count
		if e.FirstSeen.IsZero() || g.FirstSeen.Before(e.FirstSeen) {
			e.FirstSeen = g.FirstSeen
		}
		e.LastSeen = maxTime(e.LastSeen, g.LastSeen)
		for _, c := range clients[g.Fingerprint] {
			e.clients[c] = true
		}
		e.docs[g.DocumentPath] = true
		for _, b := range g.Browsers {
			e.browsers[b.Family] = true
		}
		if g.Disposition == "report" {
			e.report = true
			e.lastRO = maxTime(e.lastRO, g.LastSeen)
		}
	}
	// The latest policy: the newest detail's, a report-only one first.
	var latest cspreport.Detail
	latestRO := false
	firstRO := map[string]time.Time{} // report-only policy hash → first violation
	for i := range gs {
		g := &gs[i]
		ds, err := a.store.Details(ctx, g.Fingerprint, 0)
		if err != nil {
			return nil, fmt.Errorf("assistant: %w", err)
		}
		ro := g.Disposition == "report"
		for _, d := range ds {
			if f, ok := firstRO[d.PolicyHash]; ro && (!ok || d.FirstSeen.Before(f)) {
				firstRO[d.PolicyHash] = d.FirstSeen
			}
			if d.PolicyHash != "" && ((ro && !latestRO) || (ro == latestRO && d.LastSeen.After(latest.LastSeen))) {
				latest, latestRO = d, ro
			}
		}
		// Groups last seen before since were read for readiness only.
		if since.IsZero() || !g.LastSeen.Before(since) || ro {
			for _, f := range classify(name, g, ds) {
				add(g, f.directive, f.source, f.reason)
			}
		}
	}

	o := &Origin{Origin: seclog.Escape(name), ReportOnly: latestRO}
	var cands []*evidence
	for _, e := range ev {
		e.Clients, e.Documents, e.Browsers = len(e.clients), len(e.docs), len(e.browsers)
		if e.Reason == "" && !valid(e.Directive, e.Source) {
			e.Reason = ReasonNotASource
		}
		if e.Reason == "" && e.Clients < a.minClients {
			e.Reason = ReasonFewClients
		}
		if e.Reason == "" {
			cands = append(cands, e)
		}
	}
	cands = a.wildcards(cands)
	inWindow := func(e *evidence) bool { return since.IsZero() || !e.LastSeen.Before(since) }
	for _, e := range ev {
		if e.wildcarded || !inWindow(e) {
			continue
		}
		if e.Reason != "" {
			o.Suspicious = append(o.Suspicious, e.Finding)
		}
	}
	for _, e := range cands {
		if inWindow(e) {
			o.Suggestions = append(o.Suggestions, e.Finding)
		}
	}
	sortFindings(o.Suggestions)
	sortFindings(o.Suspicious)

	if latest.PolicyHash != "" {
		text, err := a.policyText(ctx, latest)
		if err != nil {
			return nil, err
		}
		o.Policy = text
	}
	if o.Policy != "" {
		merged, err := merge(o.Policy, o.Suggestions)
		if err != nil {
			o.PolicyError = err.Error()
		} else {
			o.Policy = normalizeNonces(o.Policy)
			o.Merged = merged
		}
	}
	if latestRO {
		first, err := a.policyFirstSeen(ctx, name, latest.PolicyHash, firstRO[latest.PolicyHash])
		if err != nil {
			return nil, err
		}
		o.Readiness = a.readiness(o, cands, first, now)
	}
	return o, nil
}

// readiness judges the origin's report-only policy, first reported at
// first: each suggestion seen under a report-only policy in the window
// whose source the policy does not list yet blocks, and so does a policy
// seen for less than the window.
func (a *Assistant) readiness(o *Origin, cands []*evidence, first, now time.Time) *Readiness {
	r := &Readiness{}
	from := now.Add(-a.window)
	for _, e := range cands {
		if !e.report || e.lastRO.Before(from) || allowed(o.Policy, e.Directive, e.Source) {
			continue
		}
		r.LastViolation = maxTime(r.LastViolation, e.lastRO)
		clients := ""
		if e.Clients > 0 {
			clients = fmt.Sprintf(" from %d clients", e.Clients)
		}
		r.Blockers = append(r.Blockers, fmt.Sprintf("%s %s: %d reports%s on %d pages in %d browsers, last seen %s (add it, or change the pages that need it)",
			e.Directive, e.Source, e.Reports, clients, e.Documents, e.Browsers, e.lastRO.UTC().Format(time.RFC3339)))
	}
	slices.Sort(r.Blockers)
	if age := now.Sub(first); age < a.window {
		r.Blockers = append(r.Blockers, fmt.Sprintf("the policy was first reported %s ago, less than the %s window: wait until %s",
			age.Round(time.Minute), a.window, first.Add(a.window).UTC().Format(time.RFC3339)))
	}
	r.Ready = len(r.Blockers) == 0
	return r
}

// policyFirstSeen returns the first violation reported under the
// report-only policy hash on origin, of all time: earlier than first
// when groups last seen before the window hold one.
func (a *Assistant) policyFirstSeen(ctx context.Context, origin, hash string, first time.Time) (time.Time, error) {
	gs, err := a.store.Groups(ctx, cspreport.GroupQuery{Limit: maxGroups, Muted: true})
	if err != nil {
		return first, fmt.Errorf("assistant: %w", err)
	}
	for _, g := range gs {
		if g.DocumentOrigin != origin || g.Disposition != "report" || !g.FirstSeen.Before(first) {
			continue
		}
		ds, err := a.store.Details(ctx, g.Fingerprint, 0)
		if err != nil {
			return first, fmt.Errorf("assistant: %w", err)
		}
		for _, d := range ds {
			if d.PolicyHash == hash && d.FirstSeen.Before(first) {
				first = d.FirstSeen
			}
		}
	}
	return first, nil
}

// policyText returns the policy of detail d, "" if the store no longer
// holds it.
func (a *Assistant) policyText(ctx context.Context, d cspreport.Detail) (string, error) {
	p, err := a.store.Policy(ctx, d.PolicyHash)
	if err != nil {
		return "", fmt.Errorf("assistant: %w", err)
	}
	return p, nil
}

func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Directive, b.Directive), cmp.Compare(b.Clients, a.Clients),
			cmp.Compare(b.Reports, a.Reports), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Reason, b.Reason))
	})
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
