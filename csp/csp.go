package csp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// The header names, canonical, so that values are assigned into the header
// map without Header.Set's canonicalization.
const (
	headerEnforce    = "Content-Security-Policy"
	headerReportOnly = "Content-Security-Policy-Report-Only"
	headerEndpoints  = "Reporting-Endpoints"
	headerCache      = "Cache-Control"
)

var headerNames = [2]string{headerEnforce, headerReportOnly}

// DefaultReportPath is where reports go when Reporting.Path is empty: the
// path the suite's receiver (package cspreport) is mounted on.
const DefaultReportPath = "/csp-report"

// DefaultReportGroup is the endpoint name when Reporting.Group is empty.
const DefaultReportGroup = "csp-endpoint"

// Reporting asks browsers to report violations: it adds report-to and
// report-uri to both policies and sends the Reporting-Endpoints header
// that names the endpoint, from this one setting.
type Reporting struct {
	// Path is the URL reports are sent to: a path on this site ("/csp-report",
	// the default) or an absolute https URL. Browsers send Reporting API
	// reports only to potentially trustworthy URLs, so a path is sent
	// only from HTTPS pages.
	Path string
	// Group is the endpoint name in report-to and Reporting-Endpoints
	// (default "csp-endpoint").
	Group string
	// SampleRate is the fraction of responses that carry the reporting
	// directives, from 0 (excluded: zero means 1) to 1: 0.01 reports from
	// one response in a hundred. An unsampled response has no report-to,
	// report-uri nor Reporting-Endpoints in its enforced policy, and no
	// report-only header at all. The draw uses math/rand/v2: it needs no
	// secrecy.
	SampleRate float64
}

// A Target says which of the two policies a per-request change or a
// preset applies to.
type Target uint8

const (
	// ToBoth changes the enforced and the report-only policy.
	ToBoth Target = iota
	// ToEnforce changes only the enforced policy.
	ToEnforce
	// ToReportOnly changes only the report-only policy.
	ToReportOnly
)

func (t Target) has(i int) bool { return t == ToBoth || int(t) == i+1 }

// A Change changes the policy of one response: used as a named preset
// (Config.Presets, compiled at startup, applied with [Use]) or given to
// [Apply] for one request.
type Change struct {
	// Target is which policy changes (default both).
	Target Target
	// Exempt removes the targeted policy from the response: no header.
	Exempt bool
	// Override replaces each named directive's sources (adding the
	// directive if it is absent); the other directives stay.
	Override Policy
	// Append adds sources to each named directive. Appending to a fetch
	// directive that is absent first copies default-src's sources into it,
	// as the browser would have fallen back to them.
	Append Policy
}

// Config configures a [Middleware]. The zero value enforces [Strict], a
// nonce-based policy, with a fresh nonce in every response and no
// reporting.
type Config struct {
	// Enforce is the policy sent as Content-Security-Policy. Build it from
	// directives, or from a string with [Raw]. If Enforce and ReportOnly
	// are both empty, Enforce is [Strict](); if only ReportOnly is set, no
	// policy is enforced (a report-only rollout).
	Enforce Policy
	// ReportOnly is the policy sent as Content-Security-Policy-Report-Only:
	// violations are reported, not blocked. It carries the same nonce as
	// Enforce.
	ReportOnly Policy
	// Reporting, when not nil, adds report-to and report-uri to both
	// policies and sends Reporting-Endpoints. &csp.Reporting{} reports
	// every violation to /csp-report. Do not also write report-to or
	// report-uri in the policies.
	Reporting *Reporting
	// NonceBytes is the number of random bytes of each nonce, from
	// crypto/rand; 0 means 16, fewer is an error.
	NonceBytes int
	// Lazy makes the nonce only when something asks for it ([Nonce], the
	// template function) and writes the headers with the response, so a
	// response that used no nonce carries none (and is not made
	// uncacheable). It wraps the ResponseWriter; the wrapper has Unwrap, so
	// http.ResponseController reaches Flush and Hijack.
	Lazy bool
	// Force replaces a Content-Security-Policy header that the handler set
	// itself; by default the handler's header is kept. Force wraps the
	// ResponseWriter, as Lazy does.
	Force bool
	// Presets are named changes, compiled and checked at startup, applied to
	// a request with [Use].
	Presets map[string]Change
	// PerRequest makes [Apply], [Override], [Append], [Exempt] and [Use]
	// work on every request. It is implied by a nonce in either policy, by
	// Lazy, Force and Presets; without any of them a static policy is
	// served with no per-request state at all (no allocation).
	PerRequest bool
	// Logger is the security logger; nil means seclog.Default(). Its
	// trusted-proxy setting decides whether a request came over HTTPS
	// (upgrade-insecure-requests is left out of plain-HTTP responses).
	Logger *seclog.Logger
}

type reporting struct {
	path, name string
	rate       float64
	endpoints  []string // Reporting-Endpoints value
}

type preset struct {
	c [2]*compiled // after the change; nil: exempt (or no policy)
}

// A Middleware sets Content-Security-Policy headers. Build it with [New];
// it is safe for concurrent use.
type Middleware struct {
	log        *seclog.Logger
	base       [2]*compiled // enforce, report-only; nil if absent
	rep        *reporting
	presets    map[string]*preset
	nonceBytes int
	nonceLen   int  // base64 length
	uir        bool // a policy differs by scheme (upgrade-insecure-requests, report-to)
	anyNonce   bool
	stateful   bool
	wrap       bool
	lazy       bool
	force      bool
	warned     atomic.Bool // keptOther logged
}

var (
	groupRE = regexp.MustCompile(`^[a-z*][a-z0-9_\-.*]*$`)
	pathRE  = regexp.MustCompile(`^(?:/|https://)[A-Za-z0-9\-._~:/?#\[\]@!$&()*+=%]*$`)
)

// New checks cfg and compiles its policies into the header values every
// response will carry. An error names the Config field and the directive,
// and says what to write instead. Weaknesses that are not errors ('unsafe-inline'
// in script-src without a nonce, a missing object-src, deprecated
// directives…) are logged once, here, as csp.policy_weak and
// csp.directive_deprecated events.
func New(cfg Config) (*Middleware, error) {
	m := &Middleware{log: cfg.Logger, lazy: cfg.Lazy, force: cfg.Force}
	if m.log == nil {
		m.log = seclog.Default()
	}
	m.nonceBytes = cfg.NonceBytes
	switch {
	case m.nonceBytes == 0:
		m.nonceBytes = 16
	case m.nonceBytes < 16:
		return nil, fmt.Errorf("csp: Config.NonceBytes is %d; a nonce needs at least 16 random bytes (128 bits): write 16 or more, or 0 for 16", cfg.NonceBytes)
	case m.nonceBytes > 64:
		return nil, fmt.Errorf("csp: Config.NonceBytes is %d; 64 is the most this package sends: write 16 to 64", cfg.NonceBytes)
	}
	m.nonceLen = base64.RawURLEncoding.EncodedLen(m.nonceBytes)

	if r := cfg.Reporting; r != nil {
		rep := &reporting{path: r.Path, name: r.Group, rate: r.SampleRate}
		if rep.path == "" {
			rep.path = DefaultReportPath
		}
		if rep.name == "" {
			rep.name = DefaultReportGroup
		}
		if !pathRE.MatchString(rep.path) {
			return nil, fmt.Errorf("csp: Config.Reporting.Path %q: write a path starting with \"/\" or an https:// URL, in ASCII, without quotes, spaces, \";\" or \",\"", rep.path)
		}
		if !groupRE.MatchString(rep.name) || !tokenRE.MatchString(rep.name) {
			return nil, fmt.Errorf("csp: Config.Reporting.Group %q: write a lower-case name of letters, digits, \"-\" or \"_\", starting with a letter", rep.name)
		}
		if rep.rate < 0 || rep.rate > 1 || rep.rate != rep.rate {
			return nil, fmt.Errorf("csp: Config.Reporting.SampleRate %v: write a fraction in (0, 1], or 0 for 1", rep.rate)
		}
		if rep.rate == 0 {
			rep.rate = 1
		}
		rep.endpoints = []string{rep.name + `="` + rep.path + `"`}
		m.rep = rep
	}

	enforce, reportOnly := cfg.Enforce, cfg.ReportOnly
	if len(enforce) == 0 && len(reportOnly) == 0 {
		enforce = Strict()
	}
	pols := [2]Policy{enforce, reportOnly}
	fields := [2]string{"Config.Enforce", "Config.ReportOnly"}
	type lintAt struct {
		policy string
		l      lint
	}
	var lints []lintAt
	for i, p := range pols {
		if len(p) == 0 {
			continue
		}
		if err := m.checkPolicy(fields[i], p); err != nil {
			return nil, err
		}
		reports := m.rep != nil || p.find(ReportTo) >= 0 || p.find(ReportURI) >= 0
		for _, l := range p.lints(i == 1, reports) {
			lints = append(lints, lintAt{[2]string{"enforce", "report-only"}[i], l})
		}
		m.base[i] = compile(p.Clone(), m.rep, i == 1)
	}

	if len(cfg.Presets) > 0 {
		m.presets = make(map[string]*preset, len(cfg.Presets))
	}
	for name, ch := range cfg.Presets {
		at := fmt.Sprintf("Config.Presets[%q]", name)
		cs, err := m.applyChange(m.base, ch, at)
		if err != nil {
			return nil, err
		}
		pr := &preset{c: cs}
		for i, c := range cs {
			if c != nil && c != m.base[i] {
				reports := m.rep != nil || c.policy.find(ReportTo) >= 0 || c.policy.find(ReportURI) >= 0
				for _, l := range c.policy.lints(i == 1, reports) {
					lints = append(lints, lintAt{fmt.Sprintf("preset %s %s", name, [2]string{"enforce", "report-only"}[i]), l})
				}
			}
		}
		m.presets[name] = pr
	}

	for _, c := range m.all() {
		if c.hasNonce {
			m.anyNonce = true
		}
		if c.policy.find(UpgradeInsecureRequests) >= 0 || c.policy.find(ReportTo) >= 0 || m.rep != nil {
			m.uir = true
		}
	}
	m.wrap = m.lazy || m.force
	m.stateful = m.anyNonce || m.wrap || len(m.presets) > 0 || cfg.PerRequest

	for _, la := range lints {
		ev := seclog.CSPPolicyWeak
		if la.l.deprecated {
			ev = seclog.CSPDirectiveDeprecated
		}
		m.log.Log(nil, ev, zap.String("policy", la.policy), zap.String("directive", la.l.directive), zap.String("reason", la.l.reason))
	}
	return m, nil
}

// checkPolicy checks p and that it does not fight Config.Reporting.
func (m *Middleware) checkPolicy(field string, p Policy) error {
	if err := p.check(field); err != nil {
		return err
	}
	if m.rep != nil {
		for _, n := range []string{ReportTo, ReportURI} {
			if p.find(n) >= 0 {
				return fmt.Errorf("csp: %s: %s: Config.Reporting already adds report-to and report-uri; remove %s from the policy", field, n, n)
			}
		}
	}
	return nil
}

// all returns every compiled policy: base and presets.
func (m *Middleware) all() []*compiled {
	var cs []*compiled
	for _, c := range m.base {
		if c != nil {
			cs = append(cs, c)
		}
	}
	for _, p := range m.presets {
		for _, c := range p.c {
			if c != nil {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// applyChange returns cur changed by ch, compiled. A policy that ch does
// not target, or that ch leaves as it was, is returned as is.
func (m *Middleware) applyChange(cur [2]*compiled, ch Change, at string) ([2]*compiled, error) {
	if ch.Target > ToReportOnly {
		return cur, fmt.Errorf("csp: %s: Target %d: write csp.ToBoth, csp.ToEnforce or csp.ToReportOnly", at, ch.Target)
	}
	// The change's own directives are held to the same checks.
	for _, p := range []Policy{ch.Override, ch.Append} {
		if err := p.check(at); err != nil {
			return cur, err
		}
	}
	out := cur
	for i := range 2 {
		if !ch.Target.has(i) {
			continue
		}
		if ch.Exempt {
			out[i] = nil
			continue
		}
		if cur[i] == nil || (len(ch.Override) == 0 && len(ch.Append) == 0) {
			continue // no policy to change: a change does not create one
		}
		p := change(cur[i].policy, ch.Override, ch.Append)
		field := at + [2]string{" (enforce)", " (report-only)"}[i]
		if err := m.checkPolicy(field, p); err != nil {
			return cur, err
		}
		out[i] = compile(p, m.rep, i == 1)
	}
	return out, nil
}

// Handler returns next wrapped: every response gets the policies, with a
// fresh nonce when they use one, available to next as [Nonce](r.Context()).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	if !m.stateful {
		return staticHandler{m, next}
	}
	return stateHandler{m, next}
}

// staticHandler serves a policy that needs no per-request state.
type staticHandler struct {
	m    *Middleware
	next http.Handler
}

func (h staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.m.setStatic(w.Header(), r)
	h.next.ServeHTTP(w, r)
}

// stateHandler serves a policy with per-request state. It is a method of
// a type, not a closure, so that it is compiled once, here, where
// r.WithContext is inlined into it (see below), and not copied into a
// caller's code where it might not be.
type stateHandler struct {
	m    *Middleware
	next http.Handler
}

func (h stateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	st := &state{parent: r.Context(), m: m, w: w, cur: m.base}
	st.https = !m.uir || m.log.IsHTTPS(r)
	st.sampled = m.rep == nil || m.rep.rate >= 1 || mrand.Float64() < m.rep.rate
	// The request with the state as its context lives in the state too:
	// WithContext is inlined and its copy does not escape, so this is one
	// allocation where r.WithContext alone would make two.
	st.req = *r.WithContext(st)
	if m.wrap {
		h.next.ServeHTTP((*writer)(st), &st.req)
		st.finalize()
		return
	}
	st.apply()
	h.next.ServeHTTP(w, &st.req)
}

// setStatic is the whole work for a policy without nonce or per-request
// state: assign the precomputed values, keeping any the handler chain set.
func (m *Middleware) setStatic(h http.Header, r *http.Request) {
	https, sampled := 1, 1
	if m.uir && !m.log.IsHTTPS(r) {
		https = 0
	}
	if m.rep != nil && m.rep.rate < 1 && mrand.Float64() >= m.rep.rate {
		sampled = 0
	}
	set := false
	for i, c := range m.base {
		if c == nil {
			continue
		}
		v := &c.v[https][sampled][1]
		if v.off {
			continue
		}
		set = true
		if _, ok := h[headerNames[i]]; !ok {
			h[headerNames[i]] = v.static
		} else {
			m.keptOther(i)
		}
	}
	if set && sampled == 1 && https == 1 && m.rep != nil {
		if _, ok := h[headerEndpoints]; !ok {
			h[headerEndpoints] = m.rep.endpoints
		}
	}
}

// keptOther warns, once per middleware, that a policy header set before
// the middleware ran was kept and its own not sent: most often unrolled/secure
// configured with ContentSecurityPolicy in front of it, which would
// otherwise silently replace the nonce policy.
func (m *Middleware) keptOther(i int) {
	if m.warned.CompareAndSwap(false, true) {
		m.log.Zap().Warn("csp: a "+headerNames[i]+" header was already set when this middleware ran (by an outer middleware, such as unrolled/secure's ContentSecurityPolicy option) and is kept, so this middleware's policy is not sent: remove the other one, or set csp.Config.Force (logged once)",
			zap.String("header", headerNames[i]))
	}
}

var noStore = []string{"no-store"}

// state is everything per request, in one allocation: it is the request's
// context (one context value, found by [Nonce] and the change functions),
// the wrapping writer when one is needed ([writer] is the same memory),
// and the header slices. It is kept within the 416-byte size class: every
// byte of it is allocated, zeroed and collected once per request.
type state struct {
	parent context.Context
	req    http.Request // r with this state as its context, passed on
	m      *Middleware
	w      http.ResponseWriter // the writer the middleware was given
	cur    [2]*compiled
	nonce  string
	// hdr holds the values this state assigns into the header map, as
	// one-element slices: a value in the map whose first element is
	// hdr[i][0] is ours; the handler's own (Header().Set) is another.
	hdr     [2][1]string
	set     uint8 // bit i: hdr[i] was assigned and not removed since
	https   bool
	sampled bool
	done    bool // lazy/force: headers decided
	cc      bool // Cache-Control: no-store set here
}

type stateKey struct{}

// Deadline, Done and Err are the parent context's: the state only adds
// a value.
func (st *state) Deadline() (time.Time, bool) { return st.parent.Deadline() }
func (st *state) Done() <-chan struct{}       { return st.parent.Done() }
func (st *state) Err() error                  { return st.parent.Err() }

// Value returns the state for its own key and asks the parent otherwise.
func (st *state) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.parent.Value(key)
}

func stateOf(ctx context.Context) *state {
	if ctx == nil {
		return nil
	}
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// finalize decides the headers once, when the response starts.
func (st *state) finalize() {
	if st.done {
		return
	}
	st.done = true
	st.apply()
}

// apply sets the headers for the current policies. A header this state did
// not set (the handler's own, or an outer one's) is kept unless Force.
func (st *state) apply() {
	m := st.m
	https, sampled := 0, 0
	if st.https {
		https = 1
	}
	if st.sampled {
		sampled = 1
	}
	nonceIdx := 1
	if m.lazy && st.nonce == "" {
		nonceIdx = 0
	}
	var vs [2]*variant
	needNonce := !m.lazy && m.anyNonce && st.nonce == ""
	size := 0
	for i, c := range st.cur {
		if c == nil {
			continue
		}
		v := &c.v[https][sampled][nonceIdx]
		if v.off {
			continue
		}
		vs[i] = v
		if len(v.segs) > 1 {
			needNonce = needNonce || st.nonce == ""
			size += v.size + (len(v.segs)-1)*m.nonceLen
		}
	}
	var vals [2]string
	if size > 0 || needNonce {
		vals = st.build(vs, size, needNonce)
	}
	h := st.w.Header()
	nonceSent := false
	anySet := false
	// An empty header map (the common case when the response starts) has
	// nothing to keep: skip the lookups.
	empty := len(h) == 0
	for i, v := range vs {
		key := headerNames[i]
		var cur []string
		var present bool
		if !empty {
			cur, present = h[key]
		}
		ours := st.set&(1<<i) != 0 && present && len(cur) > 0 && &cur[0] == &st.hdr[i][0]
		if present && !ours && !m.force {
			if !m.wrap {
				m.keptOther(i) // before the handler: set by an outer middleware
			}
			continue
		}
		if v == nil {
			if ours {
				delete(h, key)
			}
			st.set &^= 1 << i
			continue
		}
		anySet = true
		if v.static != nil {
			st.hdr[i][0] = v.static[0]
		} else {
			st.hdr[i][0] = vals[i]
			nonceSent = true
		}
		h[key] = st.hdr[i][:]
		st.set |= 1 << i
	}
	if m.rep != nil && st.sampled && st.https && anySet {
		if _, ok := h[headerEndpoints]; empty || !ok {
			h[headerEndpoints] = m.rep.endpoints
		}
	}
	var cc []string
	var present bool
	if !empty {
		cc, present = h[headerCache]
	}
	if nonceSent {
		if !present {
			h[headerCache] = noStore
			st.cc = true
		}
	} else if st.cc && present && len(cc) > 0 && &cc[0] == &noStore[0] {
		delete(h, headerCache)
		st.cc = false
	}
}

// build returns the header values of vs with the nonce spliced in, in one
// allocation. With newNonce it first makes the nonce, which is then a
// substring of the first value that carries it (or, if none does, a
// string of its own).
func (st *state) build(vs [2]*variant, size int, newNonce bool) [2]string {
	m := st.m
	var enc [88]byte
	nonce := st.nonce
	if newNonce {
		var raw [64]byte
		readRand(raw[:m.nonceBytes])
		base64.RawURLEncoding.Encode(enc[:m.nonceLen], raw[:m.nonceBytes])
		if size == 0 {
			st.nonce = string(enc[:m.nonceLen])
			return [2]string{}
		}
	}
	var b strings.Builder
	b.Grow(size)
	at := -1 // where the nonce first is in the string
	var ends [2]int
	for i, v := range vs {
		if v != nil && v.static == nil {
			for j, s := range v.segs {
				if j > 0 {
					if at < 0 {
						at = b.Len()
					}
					if newNonce {
						b.Write(enc[:m.nonceLen])
					} else {
						b.WriteString(nonce)
					}
				}
				b.WriteString(s)
			}
		}
		ends[i] = b.Len()
	}
	s := b.String()
	if newNonce {
		st.nonce = s[at : at+m.nonceLen]
	}
	return [2]string{s[:ends[0]], s[ends[0]:ends[1]]}
}

// newNonce makes the nonce alone (lazy mode).
func (st *state) newNonce() {
	m := st.m
	var raw [64]byte
	readRand(raw[:m.nonceBytes])
	st.nonce = base64.RawURLEncoding.EncodeToString(raw[:m.nonceBytes])
}

// writer decides the headers when the response starts (Lazy, Force). It
// is the state itself, seen as a ResponseWriter: no allocation of its own.
type writer state

func (w *writer) st() *state { return (*state)(w) }

// Header returns the underlying writer's header map.
func (w *writer) Header() http.Header { return w.w.Header() }

// WriteHeader decides the headers, unless code is informational (1xx).
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.st().finalize()
	}
	w.w.WriteHeader(code)
}

// Write decides the headers, then writes.
func (w *writer) Write(b []byte) (int, error) {
	w.st().finalize()
	return w.w.Write(b)
}

// FlushError decides the headers, then flushes the underlying writer.
func (w *writer) FlushError() error {
	w.st().finalize()
	return http.NewResponseController(w.w).Flush()
}

// Flush is FlushError for http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.w }

// Nonce returns the nonce of the response being served: put it in the
// nonce attribute of every inline <script> and <style>. It is base64url
// (A-Z a-z 0-9 - _), which html/template leaves as it is. It is "" for a context that did
// not come through a csp Middleware with a nonce policy. In Lazy mode the
// first call makes the nonce; a call after the response started returns
// "" and logs csp.nonce_late.
func Nonce(ctx context.Context) string {
	st := stateOf(ctx)
	if st == nil {
		return ""
	}
	if st.nonce == "" && st.m.lazy {
		if st.done {
			st.m.log.Log(&st.req, seclog.CSPNonceLate)
			return ""
		}
		st.newNonce()
	}
	return st.nonce
}

// ErrNoState is returned by the per-request changes for a request that has
// no csp state: it did not pass through a csp Middleware, or that
// Middleware serves a static policy (no nonce, Lazy, Force, Presets nor
// PerRequest).
var ErrNoState = errors.New("csp: the request has no csp state: serve it through a csp Middleware with Config.PerRequest (or a nonce, Lazy, Force or Presets)")

// ErrTooLate is returned by a per-request change made after the response
// started (Lazy or Force mode, where it can be known).
var ErrTooLate = errors.New("csp: the response headers were already sent; change the policy before writing the response")

// Apply changes the policies of r's response as ch says. ch is checked as
// Config is (an invalid change is refused with an error and a
// csp.change_refused event, and the response keeps its policy); prefer a
// preset ([Use]) for a change that every request of a route makes, since a
// preset is compiled once. Call it before the handler writes the response.
func Apply(r *http.Request, ch Change) error {
	st, err := changeable(r)
	if err != nil {
		return err
	}
	cs, err := st.m.applyChange(st.cur, ch, "csp.Apply")
	if err != nil {
		st.refuse(err)
		return err
	}
	st.update(cs)
	return nil
}

// Use applies the preset named name (Config.Presets) to r's response.
func Use(r *http.Request, name string) error {
	st, err := changeable(r)
	if err != nil {
		return err
	}
	p, ok := st.m.presets[name]
	if !ok {
		err := fmt.Errorf("csp: no preset named %q in Config.Presets", name)
		st.refuse(err)
		return err
	}
	st.update(p.c)
	return nil
}

// Override replaces the named directives of the target policies of r's
// response ([Change].Override).
func Override(r *http.Request, t Target, d ...Directive) error {
	return Apply(r, Change{Target: t, Override: d})
}

// Append adds sources to the target policies of r's response
// ([Change].Append): an absent fetch directive is first seeded from
// default-src.
func Append(r *http.Request, t Target, d ...Directive) error {
	return Apply(r, Change{Target: t, Append: d})
}

// Exempt sends r's response without the target policies.
func Exempt(r *http.Request, t Target) error {
	return Apply(r, Change{Target: t, Exempt: true})
}

// changeable returns r's state if its policy can still change.
func changeable(r *http.Request) (*state, error) {
	st := stateOf(r.Context())
	if st == nil {
		return nil, ErrNoState
	}
	if st.done {
		st.refuse(ErrTooLate)
		return nil, ErrTooLate
	}
	return st, nil
}

func (st *state) refuse(err error) {
	st.m.log.Log(&st.req, seclog.CSPChangeRefused, zap.String("reason", err.Error()))
}

func (st *state) update(cs [2]*compiled) {
	st.cur = cs
	if !st.m.wrap {
		st.apply()
	}
}

// With returns a middleware that applies the preset named name to every
// request it serves, for a route: mux.Handle("/embed", m.With("embed")(h)).
// It panics if there is no such preset, at setup rather than per request.
func (m *Middleware) With(name string) func(http.Handler) http.Handler {
	if _, ok := m.presets[name]; !ok {
		panic(fmt.Sprintf("csp: With(%q): no preset of that name in Config.Presets", name))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = Use(r, name)
			next.ServeHTTP(w, r)
		})
	}
}
