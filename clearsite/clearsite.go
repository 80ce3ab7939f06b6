// Package clearsite sends Clear-Site-Data, the response header that tells
// the browser to delete what the site stored in it: cookies, local and
// session storage, IndexedDB, service workers, caches.
//
// It is sent in two cases:
//
//   - on a fixed list of paths ([Config.Paths], ServeMux patterns that each
//     match one path, such as "/logout" or "POST /account/delete"), as
//     django-security's ClearSiteDataMiddleware does with its URL list;
//   - on demand: a handler calls [Middleware.Send](w, r) when it logs a
//     user out or finds the session expired, before it writes its response
//     (a 303 redirect to the login page, say); so does code outside the
//     Handler, such as session expiry's OnExpire hook. With
//     [Config.Trigger] set, a handler inside [Middleware.Handler] may call
//     the package-level [Trigger](w) instead, which needs no reference to
//     the Middleware and reports a call made after the headers were
//     written.
//
// The header is only sent on HTTPS requests, as decided by the suite's
// trusted-proxy setting ([seclog.Logger.IsHTTPS]): browsers ignore it on
// insecure origins. [Config.AllowLoopbackHTTP] lets plain http://localhost
// development servers send it too. A Clear-Site-Data header that the
// handler (or an earlier middleware) set is never overwritten.
//
// The default directives are "cookies" and "storage" (django-security's
// default): they log the browser out and delete what scripts stored,
// without the multi-second stall that "cache" costs in Chromium.
package clearsite

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/seclog"
)

// Directive is one type of data that Clear-Site-Data clears. Use the
// constants; the header quotes them ("cookies"), so write them without
// quotes.
type Directive string

// The directives of Clear-Site-Data (W3C Clear Site Data, MDN).
const (
	// Cache clears the HTTP cache (and in some browsers the back/forward
	// cache and prerendered pages). Chromium stalls for seconds while it
	// does so (crbug.com/40233601): New logs a warning when it is chosen.
	Cache Directive = "cache"
	// Cookies clears the cookies of the whole registrable domain, its
	// subdomains included, and HTTP authentication credentials.
	Cookies Directive = "cookies"
	// Storage clears DOM storage: localStorage, sessionStorage, IndexedDB,
	// service worker registrations, the Cache API and similar.
	Storage Directive = "storage"
	// ExecutionContexts asks the browser to reload the site's open
	// documents. No current browser does (never implemented in Chrome,
	// removed from Firefox 68): New logs a warning when it is chosen.
	ExecutionContexts Directive = "executionContexts"
	// ClientHints clears the Client Hints the site asked the browser to
	// send (Accept-CH).
	ClientHints Directive = "clientHints"
	// PrefetchCache clears Speculation Rules prefetches (Chromium only).
	PrefetchCache Directive = "prefetchCache"
	// PrerenderCache clears Speculation Rules prerenders (Chromium only).
	PrerenderCache Directive = "prerenderCache"
	// All ("*") clears every type of data, the cache included, with the
	// same cost as Cache: New logs a warning when it is chosen.
	All Directive = "*"
)

// directives lists every known directive, for validation and messages.
var directives = []Directive{Cache, Cookies, Storage, ExecutionContexts, ClientHints, PrefetchCache, PrerenderCache, All}

// constName returns the Go name of a known directive, for messages.
func constName(d Directive) string {
	switch d {
	case Cache:
		return "clearsite.Cache"
	case Cookies:
		return "clearsite.Cookies"
	case Storage:
		return "clearsite.Storage"
	case ExecutionContexts:
		return "clearsite.ExecutionContexts"
	case ClientHints:
		return "clearsite.ClientHints"
	case PrefetchCache:
		return "clearsite.PrefetchCache"
	case PrerenderCache:
		return "clearsite.PrerenderCache"
	case All:
		return "clearsite.All"
	}
	return ""
}

// DefaultDirectives returns the directives sent when [Config.Directives] is
// empty: Cookies and Storage.
func DefaultDirectives() []Directive { return []Directive{Cookies, Storage} }

// HeaderName is the canonical name of the header.
const HeaderName = "Clear-Site-Data"

// Config configures a [Middleware]. The zero value is the secure default:
// "cookies", "storage", sent on demand ([Middleware.Send]) over HTTPS only.
type Config struct {
	// Directives are the types of data to clear, in the order sent. Empty
	// means [DefaultDirectives] (Cookies, Storage). Each may be listed once,
	// and All only alone.
	Directives []Directive

	// Paths are the requests that always get the header, in
	// net/http.ServeMux pattern syntax, each matching exactly one path:
	// "/logout", "POST /logout", "/account/{id}/forget" or "/logout/{$}"
	// (Django-style "/logout/" is a subtree in ServeMux: write
	// "/logout/{$}"). A request gets the header only when its cleaned path
	// matches a pattern unambiguously (package pathrule). Empty
	// means none: the header is then sent only on demand.
	Paths []string

	// Trigger makes the package-level [Trigger] available to the handlers
	// inside [Middleware.Handler]: Handler then gives them a thin
	// ResponseWriter wrapper, through which Trigger(w) finds the
	// middleware and learns whether the headers were already written. The
	// wrapper is pooled (no allocation) but adds a dynamic call to each
	// write. Without it, Trigger returns [ErrNotWrapped]: call
	// [Middleware.Send](w, r), which costs nothing on the requests that do
	// not call it.
	Trigger bool

	// AllowLoopbackHTTP also sends the header on plain-HTTP requests made
	// to a loopback host (localhost, *.localhost, 127.0.0.0/8, ::1) from a
	// loopback address, which browsers treat as a secure origin. It is
	// meant for development servers; production traffic never qualifies.
	AllowLoopbackHTTP bool

	// Logger receives the security events; nil means seclog.Default().
	// Its trusted-proxy setting decides which requests came over HTTPS.
	Logger *seclog.Logger
}

// Middleware sends Clear-Site-Data. It is safe for concurrent use.
type Middleware struct {
	value      []string // the header value; len == cap == 1, shared
	directives string   // the value, for events
	paths      *pathrule.Set
	literal    map[string]bool // see onPath; nil when some path is not literal
	short      []literalPath   // literal as a slice, when it is short enough
	trigger    bool
	// sent holds the fields of the clearsite.sent event per trigger,
	// built once: seclog.Log only reads them.
	sentPath, sentHandler []zap.Field
	loopback              bool
	log                   *seclog.Logger
}

// Errors returned by [Trigger] and [Middleware.Send]. Each one but
// ErrNotWrapped is also logged as a clearsite.not_sent event.
var (
	// ErrNotWrapped: the ResponseWriter given to Trigger does not come from
	// a clearsite Handler built with Config.Trigger (directly or through
	// Unwrap).
	ErrNotWrapped = errors.New("clearsite: Trigger: the ResponseWriter does not come from a clearsite Handler with Config.Trigger set (is Trigger set, is the handler inside the Handler, and does every wrapper in between have an Unwrap method?); or call Middleware.Send(w, r) instead")
	// ErrInsecure: the request did not come over HTTPS, where browsers
	// ignore the header; nothing was sent.
	ErrInsecure = errors.New("clearsite: not an HTTPS request (by seclog's trusted-proxy setting): Clear-Site-Data not sent")
	// ErrHeadersWritten: the response's headers were already written; it is
	// too late to add the header. Call Trigger before writing the response.
	ErrHeadersWritten = errors.New("clearsite: Trigger: the response headers were already written: Clear-Site-Data not sent")
)

// New validates cfg and returns the middleware. It returns an error naming
// the field for an unknown, quoted or repeated directive, All listed with
// others, and a path pattern that is invalid or matches more than one
// path. It logs a clearsite.directive_warning event for Cache, All and
// ExecutionContexts.
func New(cfg Config) (*Middleware, error) {
	log := cfg.Logger
	if log == nil {
		log = seclog.Default()
	}
	ds := cfg.Directives
	if len(ds) == 0 {
		ds = DefaultDirectives()
	}
	if err := checkDirectives(ds); err != nil {
		return nil, err
	}
	m := &Middleware{
		trigger:  cfg.Trigger,
		loopback: cfg.AllowLoopbackHTTP,
		log:      log,
	}
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + string(d) + `"`)
	}
	m.directives = b.String()
	m.value = []string{m.directives}[:1:1]
	m.sentPath = []zap.Field{zap.String("trigger", triggerPath), zap.String("directives", m.directives)}
	m.sentHandler = []zap.Field{zap.String("trigger", triggerHandler), zap.String("directives", m.directives)}

	if len(cfg.Paths) > 0 {
		if err := m.compilePaths(cfg.Paths); err != nil {
			return nil, err
		}
	}
	for _, d := range ds {
		if reason := warning(d); reason != "" {
			log.Log(nil, seclog.ClearSiteDirective, zap.String("directive", string(d)), zap.String("reason", reason))
		}
	}
	return m, nil
}

func checkDirectives(ds []Directive) error {
	for i, d := range ds {
		if !knownDirective(d) {
			return fmt.Errorf("clearsite: Directives[%d] %q: %s", i, string(d), unknownHint(d))
		}
		for j := range i {
			if ds[j] == d {
				return fmt.Errorf("clearsite: Directives[%d] %q: listed twice (also Directives[%d]); remove one", i, string(d), j)
			}
		}
		if d == All && len(ds) > 1 {
			return fmt.Errorf("clearsite: Directives[%d] %q: \"*\" already means every type of data; list clearsite.All alone, or list the types you want without it", i, string(d))
		}
	}
	return nil
}

func knownDirective(d Directive) bool {
	for _, k := range directives {
		if d == k {
			return true
		}
	}
	return false
}

// unknownHint says what to write instead of an unknown directive.
func unknownHint(d Directive) string {
	s := strings.TrimSpace(string(d))
	if u := strings.Trim(s, `"'`); u != s && knownDirective(Directive(u)) {
		return fmt.Sprintf("write it without quotes, as %s: the header quotes every directive itself", constName(Directive(u)))
	}
	for _, k := range directives {
		if strings.EqualFold(strings.Trim(s, `"'`), string(k)) {
			return fmt.Sprintf("directives are case-sensitive (browsers ignore %q): write %s (%q)", string(d), constName(k), string(k))
		}
	}
	if strings.ContainsAny(s, ",") {
		return "one directive per element: write []clearsite.Directive{clearsite.Cookies, clearsite.Storage}"
	}
	names := make([]string, len(directives))
	for i, k := range directives {
		names[i] = constName(k)
	}
	return "not a Clear-Site-Data directive; use one of " + strings.Join(names, ", ")
}

// warning returns why a valid directive deserves a warning, or "".
func warning(d Directive) string {
	switch d {
	case Cache:
		return `"cache" makes Chromium stall for seconds while it clears (crbug.com/40233601) and evicts the back/forward cache; to log a user out, "cookies" and "storage" are enough`
	case All:
		return `"*" includes "cache", which makes Chromium stall for seconds while it clears (crbug.com/40233601); to log a user out, "cookies" and "storage" are enough`
	case ExecutionContexts:
		return `"executionContexts" is ignored by browsers (never implemented in Chrome, removed from Firefox 68)`
	}
	return ""
}

// compilePaths compiles the patterns, and checks that each matches one
// path. pathrule's errors come first: they say what a pattern means ("static/"
// is a host), which the one-path checks take for granted.
func (m *Middleware) compilePaths(paths []string) error {
	set, err := pathrule.Compile(pathrule.Config{Field: "Paths", Patterns: paths})
	if err != nil {
		return fmt.Errorf("clearsite: %w", err)
	}
	literal := make(map[string]bool, len(paths))
	simple := true // every pattern is a lower-case path without method or host
	for i, p := range paths {
		method, host, path := splitPattern(p)
		if path == "" {
			continue // no path: pathrule explains the syntax error
		}
		if strings.HasSuffix(path, "/") {
			hint := fmt.Sprintf("write %q for that one path", strings.TrimSuffix(p, "/")+"/{$}")
			if path == "/" {
				hint = fmt.Sprintf("write %q for the root page alone", p+"{$}")
			}
			return fmt.Errorf("clearsite: Paths[%d] %q: a pattern ending in \"/\" matches every path below it too, and the header must only be sent where it is meant; %s", i, p, hint)
		}
		if strings.HasSuffix(path, "...}") {
			return fmt.Errorf("clearsite: Paths[%d] %q: a {name...} wildcard matches every path below it, and the header must only be sent where it is meant; list the exact paths", i, p)
		}
		lit, _ := strings.CutSuffix(path, "{$}")
		if !plainPath(lit) {
			literal = nil
		}
		simple = simple && method == "" && host == "" && strings.ToLower(lit) == lit
		if literal != nil {
			literal[lit] = false
		}
	}
	if simple && literal != nil {
		for lit := range literal {
			// The reasoning of onPath, checked on the compiled rules: a
			// request for lit itself is an unambiguous Match.
			r := &http.Request{Method: http.MethodGet, Host: "example.com", URL: &url.URL{Path: lit}, Header: http.Header{}}
			literal[lit] = exactPath(lit) && set.Judge(r).Allowed()
		}
	}
	m.paths, m.literal = set, literal
	if len(literal) <= maxShort {
		for lit, exact := range literal {
			m.short = append(m.short, literalPath{lit, exact})
		}
	}
	return nil
}

// literalPath is a plain literal path of the list and whether it is exact
// (see onPath).
type literalPath struct {
	path  string
	exact bool
}

// maxShort is the longest list of literal paths that onPath scans rather
// than hashes: comparing a few strings, most of them of another length, is
// cheaper than hashing the request's path.
const maxShort = 8

// lookupLiteral reports whether p is one of the literal paths, and whether
// that one is exact.
func (m *Middleware) lookupLiteral(p string) (exact, ok bool) {
	if m.short != nil {
		for _, l := range m.short {
			if l.path == p {
				return l.exact, true
			}
		}
		return false, false
	}
	exact, ok = m.literal[p]
	return exact, ok
}

// splitPattern splits a ServeMux pattern "[METHOD ][HOST]/PATH".
func splitPattern(p string) (method, host, path string) {
	rest := p
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		method, rest = p[:i], strings.TrimLeft(p[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return method, rest, ""
	}
	return method, rest[:i], rest[i:]
}

// plainPath reports whether a pattern's path has only characters that
// ServeMux matches literally and that need no escaping: then a request
// matches it only if its decoded path is that very string.
func plainPath(path string) bool {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// exactPath reports whether a plain literal path (see plainPath) is one
// that pathrule judges without any other reading when a request names it
// as written: no upper case (no case-folded lookup), and no segment that
// ends in "." (no trailing-dot reading). Its characters need no escaping,
// and pathrule has checked that it is clean.
func exactPath(lit string) bool {
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if 'A' <= c && c <= 'Z' || c == '.' && (i+1 == len(lit) || lit[i+1] == '/') {
			return false
		}
	}
	return true
}

// onPath reports whether r matches a path of the list unambiguously.
//
// When the path of every pattern is a plain literal, the request's decoded
// path must equal one of them for pathrule to judge it a Match (ServeMux
// matches a literal segment by segment, unescaped, and a method or host in
// the pattern only narrows the match), so the common request is answered
// by a map lookup and only candidates are judged in full.
//
// A candidate is not judged at all when its literal is exact (the map
// holds true): every pattern is a lower-case path literal without method
// or host, and this literal has no segment ending in "." (see
// compilePaths).
// Then a request whose Path is the literal and whose RawPath is empty has
// an escaped path equal to its decoded one, which is clean and has none of
// the characters that make pathrule try another reading (upper case, "%",
// "\", ";", "?", "#", non-ASCII, a trailing dot or space; its trailing
// slash, if any, only matters on a miss); no rule names a method or host,
// and none has upper case, so no case-folded lookup is due; and ServeMux
// routes the path to its literal rule, which is more specific than any
// other. pathrule's verdict is then Match, which is what it returns.
func (m *Middleware) onPath(r *http.Request) bool {
	if m.literal != nil {
		exact, ok := m.lookupLiteral(r.URL.Path)
		if !ok {
			return false
		}
		if exact && r.URL.RawPath == "" {
			return true
		}
	}
	return m.paths.Judge(r).Allowed()
}

// Value returns the header value the middleware sends, for example
// `"cookies", "storage"`.
func (m *Middleware) Value() string { return m.directives }

// Trigger names in the events.
const (
	triggerPath    = "path"
	triggerHandler = "handler"
)

// Handler returns next wrapped: a request on one of the Paths gets the
// header before next runs, and, with [Config.Trigger], next may call
// [Trigger] with its ResponseWriter.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return &handler{Middleware: m, next: next}
}

// handler serves the requests of Handler (a method, not a closure: one
// indirect call less per request).
type handler struct {
	*Middleware
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.Middleware
	if m.paths != nil && m.onPath(r) {
		_ = m.apply(w.Header(), r, triggerPath, m.sentPath)
	}
	if !m.trigger {
		h.next.ServeHTTP(w, r)
		return
	}
	tw := writers.Get().(*writer)
	*tw = writer{ResponseWriter: w, m: m, r: r}
	h.next.ServeHTTP(tw, r)
	*tw = writer{} // a ResponseWriter is not used after ServeHTTP returns
	writers.Put(tw)
}

// writers recycles the Trigger wrappers, so that Config.Trigger costs no
// allocation per request.
var writers = sync.Pool{New: func() any { return new(writer) }}

// Send sets the header on w now, for r: call it from a logout handler, or
// from code that runs outside the Handler (an earlier middleware in the
// chain, such as session expiry, or a handler not wrapped by it). It
// returns ErrInsecure when r is not an HTTPS request. Call it before the
// response is written: unlike [Trigger] it cannot tell when it is too
// late.
func (m *Middleware) Send(w http.ResponseWriter, r *http.Request) error {
	return m.apply(w.Header(), r, triggerHandler, m.sentHandler)
}

// apply sets the header on h for r, unless r is not secure (ErrInsecure)
// or h already has one, which is kept.
func (m *Middleware) apply(h http.Header, r *http.Request, trigger string, sent []zap.Field) error {
	if !m.secure(r) {
		m.log.Log(r, seclog.ClearSiteNotSent, zap.String("trigger", trigger), zap.String("reason", "insecure"))
		return ErrInsecure
	}
	if len(h) != 0 {
		if _, set := h[HeaderName]; set {
			return nil // the handler's (or an earlier middleware's) value stands
		}
	}
	h[HeaderName] = m.value
	m.log.Log(r, seclog.ClearSiteSent, sent...)
	return nil
}

// secure reports whether the header may be sent for r: an HTTPS request by
// the trusted-proxy setting, or, with AllowLoopbackHTTP, a loopback one.
func (m *Middleware) secure(r *http.Request) bool {
	return m.log.IsHTTPS(r) || m.loopback && loopbackRequest(r)
}

// loopbackRequest reports whether r was made from a loopback address to a
// loopback host name or address: a page that browsers treat as a secure
// origin even over plain HTTP.
func loopbackRequest(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !peer.Addr().Unmap().IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil && a.Unmap().IsLoopback()
}
