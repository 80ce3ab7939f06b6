// Package pathrule judges requests against allow or deny lists of path rules,
// exactly as net/http.ServeMux would route them, and guards routers from
// paths that are not clean.
//
// # Rules
//
// Rules are written in ServeMux pattern syntax ("/static/", "GET /health",
// "/users/{id}/avatar", "/{$}", "example.com/x") and compiled once into a
// ServeMux whose handlers are markers ([Compile], [Set]). A request matches
// a rule only when ServeMux itself would hand it to that rule: never by a
// string prefix of the raw path, and never when the mux would answer a
// redirect instead (such as "/static" → "/static/", the confusion of
// CVE-2025-47910). As in ServeMux, "/static/" matches everything below it
// and "/static" only that one path: that is a choice, not a mistake.
//
// Matching what ServeMux does is necessary but not enough: the handler behind
// the rule, a proxy, or a file server may read the same path differently. So a
// request whose path is not clean (dot segments, "//", encoded dot segments or
// slashes that make it unclean once decoded, control characters) is never
// judged a match ([Reject]), and a clean request is judged under several
// readings used by real servers and frameworks (decoding twice, "\" as a
// separator, ";" path parameters stripped, case folded, overlong UTF-8,
// "?" and "#" in the decoded path, NFKC, trailing dots and spaces trimmed,
// trailing slash ignored, RFC 3986 dot removal). When every reading matches,
// the verdict is [Match]; when none does, [NoMatch]; when they disagree,
// [Reject] with a reason naming the reading.
//
// The same [Set] serves both uses: as an allow list, a request passes only on
// [Result.Allowed] (an unambiguous match); as a deny list, it is refused on
// [Result.Denied] (a match under any reading, or a path that is not clean).
// Code that decides before the router, such as an authorizer that needs
// the {id} of "/tasks/{id}", reads the route's values with
// [Set.WithPathValues].
//
// # Mistakes
//
// A configuration mistake is an [*Error] from [Compile] that names the
// field, the rule and what to write. Besides syntax errors, conflicts and
// duplicates, it refuses patterns that ServeMux accepts but that match
// nothing, or not what they say:
//
//   - "static/" or "api/": a first segment without its "/" is read as a
//     host, which no request has: write "/static/". A host must be a name
//     with a dot, "localhost" or an IP address, so a single-label intranet
//     host ("intranet/") cannot be written.
//   - "localhost:8080/": ServeMux compares the request's host without its
//     port: write "localhost/". "*.example.com/": hosts have no
//     wildcards. "Example.com/": hosts are compared as written, and arrive
//     in lower case.
//   - "https://example.com/x": a URL is not a pattern: write "example.com/x".
//   - "/static/*", "/static/**": "*" is a literal character: write
//     "/static/" (a trailing slash matches everything below it);
//     "/users/*/avatar": write "/users/{id}/avatar"; "/static/*.css": there
//     are no globs.
//   - "get /health": methods are case-sensitive and clients send them in
//     upper case: write "GET /health" (a method of the application's own,
//     such as "purge", is taken as written).
//   - "/search?q=go", "/docs#intro": a pattern matches the path, never the
//     query or the fragment: write "/search".
//   - "static": a pattern has a "/": write "/static".
//   - "/a/../b": a path that is not clean never matches: write "/b".
//   - "GET/x": a method without its space reads as a host: write "GET /x".
//   - In Regexps, "^/static/": Django-style expressions are matched against
//     the path without its leading "/", so it never matches: write
//     "^static/".
//
// # The guard
//
// A [Guard] is the middleware to put in front of routers other than
// ServeMux (chi, gorilla/mux, a file server), so that they only ever see
// clean paths; [Guard.Check] is its decision alone.
//
// The package does not log. Callers log the reasons it returns.
package pathrule

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Config lists the rules of a [Set].
type Config struct {
	// Patterns are rules in net/http.ServeMux pattern syntax:
	// "[METHOD ][HOST]/PATH", for example "/static/", "GET /health",
	// "/users/{id}/avatar", "/{$}" or "example.com/docs/". A pattern "/"
	// matches every request. Each pattern may be listed once.
	Patterns []string

	// Regexps are Django-style regular expressions, an explicit option for
	// porting django-security settings such as LOGIN_EXEMPT_URLS. As in
	// django-security, an expression is matched against the cleaned,
	// decoded path without its leading "/" ("login/" for "/login/"), and
	// matches when it matches at the start (Python's re.match): end it with
	// "$" to make it exact. The syntax is Go's (RE2): no look-around, and
	// `\z` instead of `\Z`. Prefer Patterns for new rules.
	Regexps []string

	// Field names Patterns in the caller's own configuration, for errors:
	// with Field "Exempt", a mistake in Patterns[2] is reported as
	// Exempt[2] and one in Regexps[0] as ExemptRegexps[0], the suite's one
	// shape of path list. Empty means "Patterns" and "Regexps".
	Field string
}

// An Error is a rule that [Compile] refuses: a syntax error, a conflict
// with another rule, or a mistake that ServeMux accepts but that would
// match nothing or something else than it says ("static/" is a host
// pattern; "/static/*" has a literal "*"). The message names the field and
// the index, the rule, what is wrong and, when there is one, what to
// write:
//
//	Exempt[2] "static/": "static" is read as a host …: write "/static/"
//
// It has no package prefix: the caller, whose field it names, adds its
// own ("loginrequired: Exempt[2] …").
type Error struct {
	// Field is the configuration field that holds the rule: "Patterns" or
	// "Regexps", or the name given in [Config.Field] ("Exempt",
	// "ExemptRegexps"), or a single-valued field such as "LoginURL".
	Field string
	// Index is the rule's position in Field, or -1 when Field holds one
	// value.
	Index int
	// Pattern is the rule as written.
	Pattern string
	// Err says what is wrong.
	Err error
	// Fix is the rule to write instead, when there is one ("" otherwise).
	Fix string
}

// Error returns `Field[Index] "Pattern": Err: write "Fix"`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	if e.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", e.Index)
	}
	fmt.Fprintf(&b, " %q: %v", e.Pattern, e.Err)
	if e.Fix != "" {
		fmt.Fprintf(&b, ": write %q", e.Fix)
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// fields returns the names of the Patterns and Regexps of cfg in errors.
func (cfg *Config) fields() (patterns, regexps string) {
	if cfg.Field == "" {
		return "Patterns", "Regexps"
	}
	return cfg.Field, cfg.Field + "Regexps"
}

// Verdict is the outcome of judging a request against a [Set].
type Verdict uint8

const (
	// Reject means the request path is not clean, or the mux would redirect
	// it, or its readings disagree about whether a rule matches. It is the
	// zero Verdict, so a Result that was never filled in fails closed for
	// both allow and deny lists.
	Reject Verdict = iota
	// NoMatch means no reading of the request matches any rule.
	NoMatch
	// Match means every reading of the request matches a rule.
	Match
)

// String returns "reject", "no-match" or "match".
func (v Verdict) String() string {
	switch v {
	case Reject:
		return "reject"
	case NoMatch:
		return "no-match"
	case Match:
		return "match"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Result is the judgement of one request.
type Result struct {
	// Verdict is Match, NoMatch or Reject.
	Verdict Verdict
	// Pattern is the rule that matched, as written in the Config (a
	// pattern or a regular expression). For a Reject it is the rule that
	// some reading matched, if any; it is empty for NoMatch.
	Pattern string
	// Reason says why a request was rejected, as one of the Reason
	// constants (for example "dot-segment" or "case-fold"). It is empty
	// unless Verdict is Reject.
	Reason string

	wild bool // a Match of a pattern with wildcards: see WithPathValues
}

// Allowed reports whether the request may pass an allow list: only on an
// unambiguous Match. Everything else fails closed.
func (res Result) Allowed() bool { return res.Verdict == Match }

// Denied reports whether the request must be refused by a deny list: on a
// Match, and on a Reject (some reading may reach a denied path, or the path
// is not clean).
func (res Result) Denied() bool { return res.Verdict != NoMatch }

// Set is a compiled set of rules. It is safe for concurrent use.
type Set struct {
	rules      []string // patterns, then regexps, as written; a marker's index
	markers    []marker
	mux        *http.ServeMux
	fold       []*http.ServeMux // case-folded patterns; more than one on conflicts
	foldAlways bool             // some pattern has upper case: fold every request
	hasMethods bool             // some pattern has a method
	hasHosts   bool             // some pattern has a host
	regexps    []ruleRegexp
}

type ruleRegexp struct {
	rule int // index in Set.rules
	re   *regexp.Regexp
	fold *regexp.Regexp // the same, case-insensitive
}

// marker is the handler registered for each rule. It is never served.
type marker struct {
	rule int  // index in Set.rules; catchAll for the "no rule" handler
	wild bool // the rule's pattern has wildcards that give path values
}

const catchAll = -1

// ServeHTTP does nothing: a marker is compared, or served by
// WithPathValues only for ServeMux to set the request's path values.
func (*marker) ServeHTTP(http.ResponseWriter, *http.Request) {}

var catchAllMarker = &marker{rule: catchAll}

// Compile validates and compiles the rules of cfg. An error is an [*Error]
// that names the rule, what is wrong and what to write: a syntax error, a
// pattern that conflicts with another (ServeMux would panic), a duplicate,
// or a mistake that ServeMux accepts but that no request, or not the one
// meant, can match (see the package documentation, "Mistakes"). An empty
// Config compiles to a Set that matches nothing.
func Compile(cfg Config) (*Set, error) {
	if !modernMux() {
		return nil, errors.New("pathrule: net/http.ServeMux runs with GODEBUG=httpmuxgo121=1, which reads patterns as Go 1.21 did; pathrule needs Go 1.22 patterns: remove that setting")
	}
	pField, rField := cfg.fields()
	n := len(cfg.Patterns) + len(cfg.Regexps)
	s := &Set{
		rules:   make([]string, 0, n),
		markers: make([]marker, len(cfg.Patterns)),
		mux:     http.NewServeMux(),
	}
	seen := make(map[string]int, len(cfg.Patterns))
	for i, p := range cfg.Patterns {
		if j, dup := seen[p]; dup {
			return nil, &Error{Field: pField, Index: i, Pattern: p, Err: fmt.Errorf("listed twice (also %s[%d]); remove one", pField, j)}
		}
		seen[p] = i
		info, e := checkPattern(p)
		if e == nil {
			s.markers[i] = marker{rule: i, wild: info.wild}
			if err := handle(s.mux, p, &s.markers[i]); err != nil {
				e = &Error{Err: err}
			}
		}
		if e != nil {
			e.Field, e.Index, e.Pattern = pField, i, p
			return nil, e
		}
		s.rules = append(s.rules, p)
		s.foldAlways = s.foldAlways || info.mixedCase
		s.hasMethods = s.hasMethods || info.method
		s.hasHosts = s.hasHosts || info.host
		s.addFold(info.folded, &s.markers[i])
	}
	// The catch-all makes "no rule" a marker too, so that neither 404 nor
	// 405 handlers are built per request. It cannot be registered when a
	// rule already matches everything ("/", "/{path...}"): then that rule
	// is the catch-all.
	_ = handle(s.mux, "/", catchAllMarker)
	for _, m := range s.fold {
		_ = handle(m, "/", catchAllMarker)
	}
	for i, src := range cfg.Regexps {
		if e := checkRegexp(src); e != nil {
			e.Field, e.Index, e.Pattern = rField, i, src
			return nil, e
		}
		re, err := regexp.Compile(`^(?:` + src + `)`)
		if err != nil {
			return nil, &Error{Field: rField, Index: i, Pattern: src, Err: fmt.Errorf("%v%s", err, regexpHint(src))}
		}
		s.regexps = append(s.regexps, ruleRegexp{
			rule: len(s.rules),
			re:   re,
			fold: regexp.MustCompile(`(?i)^(?:` + src + `)`),
		})
		s.rules = append(s.rules, src)
		s.foldAlways = s.foldAlways || hasUpper(src)
	}
	return s, nil
}

// modernMux reports whether ServeMux has Go 1.22 patterns (methods,
// wildcards, "{$}"), that is whether GODEBUG=httpmuxgo121=1 is not set.
var modernMux = sync.OnceValue(func() bool {
	mux := http.NewServeMux()
	mux.Handle("/{$}", catchAllMarker)
	h, _ := mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}})
	return h == catchAllMarker
})

// MustCompile is like [Compile] with Config{Patterns: patterns}, but panics
// on error. It is meant for tests, examples and package-level variables
// whose patterns are constants.
func MustCompile(patterns ...string) *Set {
	s, err := Compile(Config{Patterns: patterns})
	if err != nil {
		panic(err)
	}
	return s
}

// handle registers h for pattern and turns the panic of ServeMux.Handle into
// an error, which names neither the pattern nor its field.
func handle(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New(dropRegisteredAt(fmt.Sprint(v)))
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// dropRegisteredAt removes the " (registered at file:line)" notes of a
// ServeMux conflict message: they name this package's source, not the
// user's configuration.
func dropRegisteredAt(msg string) string {
	const note = " (registered at "
	for {
		i := strings.Index(msg, note)
		if i < 0 {
			return msg
		}
		j := strings.IndexByte(msg[i:], ')')
		if j < 0 {
			return msg
		}
		msg = msg[:i] + msg[i+j+1:]
	}
}

// regexpHint suggests the Go spelling of Python-only regexp syntax.
func regexpHint(src string) string {
	switch {
	case strings.Contains(src, `\Z`):
		return `; write \z instead of \Z`
	case strings.Contains(src, "(?=") || strings.Contains(src, "(?!") ||
		strings.Contains(src, "(?<=") || strings.Contains(src, "(?<!"):
		return "; Go's regexp has no look-around: write the rule as a ServeMux pattern, or list the cases"
	}
	return ""
}

// patternInfo is what Compile learns from a pattern.
type patternInfo struct {
	// folded is the case-folded pattern: method in upper case, host and
	// literal path segments in lower case, wildcard names as written.
	folded string
	// mixedCase reports whether folding changed the pattern: then a
	// request in lower case may match it only when folded.
	mixedCase bool
	// method and host report whether the pattern has them.
	method, host bool
	// wild reports whether the pattern has wildcards that give path
	// values ("{id}", "{rest...}"; not "{$}").
	wild bool
}

// mistake is a pattern error found by checkPattern, to be completed with
// the field, index and pattern by Compile.
func mistake(fix, format string, args ...any) *Error {
	return &Error{Err: fmt.Errorf(format, args...), Fix: fix}
}

// checkPattern rejects patterns that ServeMux accepts but that are surely
// mistakes, each with what to write (see the package documentation,
// "Mistakes"), and describes p. It leaves syntax errors to ServeMux.
func checkPattern(p string) (info patternInfo, err *Error) {
	method, rest := "", p
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		method, rest = p[:i], strings.TrimLeft(p[i+1:], " \t")
	}
	slash := strings.IndexByte(rest, '/')
	withMethod := func(hostPath string) string {
		if method == "" {
			return hostPath
		}
		return method + " " + hostPath
	}
	if slash < 0 {
		if rest == "" || strings.ContainsAny(rest, " \t") || (method == "" && isMethod(rest)) {
			return patternInfo{folded: p}, nil // ServeMux explains the syntax error
		}
		return info, mistake(withMethod("/"+rest), `a pattern is [METHOD ][HOST]/PATH, and this one has no "/"`)
	}
	host, pth := rest[:slash], rest[slash:]
	switch {
	case strings.ContainsAny(host, " \t"):
		return info, mistake("", "host %q has a space: write [METHOD ][HOST]/PATH, one space after the method", host)
	case method == "" && isMethod(host):
		return info, mistake(host+" "+pth, "host %q looks like a method", host)
	case method != "" && method != strings.ToUpper(method) && isMethod(strings.ToUpper(method)):
		return info, mistake(strings.ToUpper(method)+" "+rest, "method %q is not %s: methods are case-sensitive and clients send them in upper case", method, strings.ToUpper(method))
	case strings.HasSuffix(host, ":") && strings.HasPrefix(pth, "//"):
		u := strings.TrimPrefix(pth, "//")
		h, upth, _ := strings.Cut(u, "/")
		return info, mistake(withMethod(hostOnly(h)+"/"+upth), "a URL is not a pattern: a pattern is [METHOD ][HOST]/PATH, without scheme or port")
	}
	if host != "" {
		if e := checkHost(host, pth, withMethod); e != nil {
			return info, e
		}
	}
	if method != "CONNECT" && cleanPath(pth) != pth {
		return info, mistake(withMethod(host+cleanPath(pth)), "path %q is not clean, so no request can match it", pth)
	}
	if i := strings.IndexAny(pth, "?#"); i >= 0 {
		what := "query"
		if pth[i] == '#' {
			what = "fragment"
		}
		return info, mistake(withMethod(host+pth[:i]), "a pattern matches the path, never the %s: %q is a literal character that no request path holds", what, pth[i:i+1])
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(host))
	segs := strings.Split(pth[1:], "/")
	for i, seg := range segs {
		b.WriteByte('/')
		if strings.HasPrefix(seg, "{") {
			b.WriteString(seg)
			info.wild = info.wild || seg != "{$}"
			continue
		}
		if strings.Contains(seg, "*") {
			return info, starMistake(segs, i, func(path string) string { return withMethod(host + path) })
		}
		b.WriteString(foldSegment(seg))
	}
	hostPath, upper := b.String(), strings.ToUpper(method)
	info.folded = hostPath
	info.mixedCase = upper != method || hostPath != host+pth
	info.method = method != ""
	info.host = host != ""
	if method != "" {
		info.folded = upper + " " + hostPath
	}
	return info, nil
}

// checkHost refuses a host part that no request's host can be: a first
// path segment written without its "/" ("static/"), a host with a port
// (ServeMux strips the port of the request's host before it compares),
// a wildcard, upper case (a pattern's host is compared as written, and
// clients send host names in lower case).
func checkHost(host, pth string, withMethod func(string) string) *Error {
	switch {
	case strings.Contains(host, "*"):
		return mistake("", "ServeMux has no wildcards in hosts: list each host, or leave the host out")
	case hostOnly(host) != host:
		return mistake(withMethod(hostOnly(host)+pth), "a pattern's host has no port: ServeMux compares the request's host without its port")
	case !plausibleHost(host):
		return mistake(withMethod("/"+host+pth), "%q is read as a host, since the pattern does not start with \"/\", and no request has that host", host)
	case strings.ToLower(host) != host:
		return mistake(withMethod(strings.ToLower(host)+pth), "host %q is compared as written and clients send host names in lower case", host)
	}
	return nil
}

// plausibleHost reports whether a request's host (without its port) can
// be h: a name with a dot, "localhost", or an IP address, bracketed or
// not. A single-label intranet name ("intranet") is refused too: it reads
// as a path segment written without its "/" far more often.
func plausibleHost(h string) bool {
	if strings.Contains(h, ".") || strings.EqualFold(h, "localhost") {
		return true
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return net.ParseIP(h) != nil
}

// hostOnly returns h without a port (":8080"), keeping IPv6 brackets; h
// itself when it has none.
func hostOnly(h string) string {
	i := strings.LastIndexByte(h, ':')
	if i < 0 || strings.HasSuffix(h[:i], ":") || (strings.Contains(h[:i], ":") && !strings.HasSuffix(h[:i], "]")) {
		return h // no port, or an IPv6 address without brackets
	}
	for _, c := range h[i+1:] {
		if c < '0' || c > '9' {
			return h
		}
	}
	return h[:i]
}

// starMistake explains a "*" in segment i of a pattern's path (segs, split
// after its leading "/"): ServeMux reads it as a literal character.
func starMistake(segs []string, i int, pattern func(path string) string) *Error {
	seg := segs[i]
	last := i == len(segs)-1
	switch {
	case (seg == "*" || seg == "**") && last:
		return mistake(pattern("/"+strings.Join(segs[:i], "/")+"/"), "%q is a literal character in a ServeMux pattern, not a wildcard (a trailing slash matches everything below it)", seg)
	case seg == "*":
		fixed := append(slices.Clone(segs[:i]), "{id}")
		fixed = append(fixed, segs[i+1:]...)
		return mistake(pattern("/"+strings.Join(fixed, "/")), "%q is a literal character in a ServeMux pattern: a wildcard segment is written {name}", seg)
	case seg == "**":
		return mistake(pattern("/"+strings.Join(segs[:i], "/")+"/"), "%q is a literal character in a ServeMux pattern: a trailing slash matches everything below it, a {name...} wildcard the rest of the path", seg)
	}
	return mistake("", "%q is a literal character in a ServeMux pattern, not a glob: list the paths, or use a {name} wildcard segment", "*")
}

// checkRegexp refuses a Django-style expression that can never match: one
// that starts with "/", since the path is matched without its leading "/".
func checkRegexp(src string) *Error {
	caret, body := "", src
	if strings.HasPrefix(body, "^") {
		caret, body = "^", body[1:]
	}
	if strings.HasPrefix(body, "/") {
		return mistake(caret+strings.TrimLeft(body, "/"), `an expression is matched against the path without its leading "/", so it can never match`)
	}
	return nil
}

// isMethod reports whether s is a standard HTTP method.
func isMethod(s string) bool {
	switch s {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// foldSegment lower-cases a literal pattern segment, looking through its
// percent escapes (ServeMux unescapes literal segments).
func foldSegment(seg string) string {
	if strings.IndexByte(seg, '%') < 0 {
		return lower(seg)
	}
	dec := unescapeOnce(seg)
	low := lower(dec)
	if low == dec {
		return seg
	}
	return escapeSegment(low)
}

// addFold registers the case-folded pattern fp in the first fold mux that
// takes it. Patterns that differ only in case fold to the same pattern: the
// first one stands for all. Folding can make two patterns overlap that did
// not before; such a pattern goes to another mux.
func (s *Set) addFold(fp string, h *marker) {
	for _, m := range s.fold {
		err := handle(m, fp, h)
		if err == nil || strings.Contains(err.Error(), "matches the same requests as") {
			return
		}
	}
	m := http.NewServeMux()
	if err := handle(m, fp, h); err == nil {
		s.fold = append(s.fold, m)
	}
}
