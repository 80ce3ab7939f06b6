// Package nocache keeps confidential responses out of every cache: the
// browser's, a shared proxy's, a CDN's. It sets
//
//	Cache-Control: no-store, private, max-age=0
//
// on the responses it marks, and removes their ETag and Last-Modified, so
// that no later 304 Not Modified can bring back a copy stored before.
//
// # Which responses
//
// A response is marked when its path is confidential or its request is
// authenticated:
//
//   - Exempt rules (django-security's WHITELIST_ON): every path is
//     confidential except those the rules match unambiguously.
//   - Confidential rules (django-security's BLACKLIST_ON): only the paths
//     the rules match are confidential, and so is a path that some reading
//     could take to one of them (an ambiguous path fails closed).
//   - Neither: every path is confidential, unless Authenticated is set, in
//     which case no path is confidential by itself.
//   - Authenticated, when set, marks every response to an authenticated
//     request, whatever the rules say, exempt paths included.
//
// So the zero [Config] marks every response; Config{Authenticated: f}
// marks the responses to authenticated requests; rules are judged by
// pathrule, as net/http.ServeMux routes the request.
//
// # When the handler has its own Cache-Control
//
// The decision is taken when the response header is written (the
// ResponseWriter is wrapped, for marked requests only). If a Cache-Control
// header is there by then, set by the handler or by an outer middleware,
// it is kept, unless [Config.Force] is set. If it lacks no-store the
// middleware backs off and changes nothing; if it has no-store (a
// handler's own, or the csp package's on a response that carries a
// nonce) the response is still marked otherwise: ETag and Last-Modified
// removed, the Legacy headers added. A conditional GET or HEAD
// (If-None-Match, If-Modified-Since) on a marked path reaches the handler
// without those headers, so that http.ServeContent and its like answer in
// full rather than 304; on other methods they are preconditions and are
// kept.
package nocache

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/seclog"
)

// CacheControl is the Cache-Control value set on marked responses.
// no-store forbids any cache to keep the response; private keeps shared
// caches away even where no-store is ignored; max-age=0 makes any copy
// stale at once.
const CacheControl = "no-store, private, max-age=0"

// Header names, in canonical form.
const (
	hCacheControl = "Cache-Control"
	hPragma       = "Pragma"
	hExpires      = "Expires"
	hETag         = "Etag" // http.CanonicalHeaderKey("ETag")
	hLastModified = "Last-Modified"
	hIfNoneMatch  = "If-None-Match"
	hIfModSince   = "If-Modified-Since"
)

// Config configures a [Middleware]. The zero value marks every response.
type Config struct {
	// Exempt lists the paths whose responses are not confidential (static
	// assets, public pages), as net/http.ServeMux patterns: "/static/",
	// "GET /{$}", "/docs/{page}". Every other path is confidential. A path
	// is exempt only when the rules match it unambiguously: a path that is
	// not clean, or that some server could read as another path, is
	// confidential. django-security: NO_CONFIDENTIAL_CACHING WHITELIST_ON.
	// Exclusive with Confidential and ConfidentialRegexps.
	Exempt []string
	// ExemptRegexps lists exempt paths as Django-style regular
	// expressions, for porting django-security's WHITELIST_REGEXES:
	// matched against the cleaned path without its leading "/", at its
	// start (Python's re.match), in Go's RE2 syntax. Prefer Exempt.
	ExemptRegexps []string
	// Confidential lists the only paths whose responses are confidential
	// (besides authenticated ones, see Authenticated), as ServeMux
	// patterns. A path that the rules match under any reading, or that is
	// not clean, is confidential. django-security: BLACKLIST_ON.
	// Exclusive with Exempt and ExemptRegexps.
	Confidential []string
	// ConfidentialRegexps lists confidential paths as Django-style regular
	// expressions (django-security's BLACKLIST_REGEXES), read as
	// ExemptRegexps are. Prefer Confidential.
	ConfidentialRegexps []string
	// Authenticated reports whether a request is made by a logged-in user.
	// When set, every response to such a request is marked, on every path,
	// exempt ones included; and when no rules are set, only those are.
	// It is called once per request that the rules did not already mark.
	Authenticated func(r *http.Request) bool
	// Force marks responses even when the handler (or an outer
	// middleware) has set its own Cache-Control, which is replaced.
	// Without Force, that Cache-Control is kept, and a response whose
	// Cache-Control lacks no-store is left as it is.
	Force bool
	// Legacy adds "Pragma: no-cache" and "Expires: 0" to marked
	// responses, for HTTP/1.0 caches (django-security sends both).
	Legacy bool
	// Logger receives the package's warnings: once per middleware, when
	// it backs off from a handler's Cache-Control that lacks no-store on
	// a confidential response. Nil means seclog.Default(). The
	// middleware logs no security event per request.
	Logger *seclog.Logger
}

// Middleware marks confidential responses. It is safe for concurrent use,
// and it satisfies bulwark.Middleware.
type Middleware struct {
	exempt       *pathrule.Set // nil unless Exempt rules are set
	confidential *pathrule.Set // nil unless Confidential rules are set
	auth         func(*http.Request) bool
	all          bool // no rules and no Authenticated: every response
	force        bool

	cacheControl []string // prebuilt values, len == cap == 1
	pragma       []string // nil unless Legacy
	expires      []string

	logger *seclog.Logger
	warned atomic.Bool
}

// New validates cfg and compiles its rules. An error names the field: an
// Exempt list and a Confidential list both set, or a rule that does not
// compile (a [*pathrule.Error], which says which and what to write).
func New(cfg Config) (*Middleware, error) {
	exempt := len(cfg.Exempt) > 0 || len(cfg.ExemptRegexps) > 0
	confidential := len(cfg.Confidential) > 0 || len(cfg.ConfidentialRegexps) > 0
	if exempt && confidential {
		return nil, errors.New("nocache: both Exempt and Confidential lists are set: use Exempt (and ExemptRegexps) to mark every path but some (django-security WHITELIST_ON), or Confidential (and ConfidentialRegexps) to mark only some (BLACKLIST_ON), not both")
	}
	m := &Middleware{
		auth:         cfg.Authenticated,
		force:        cfg.Force,
		cacheControl: []string{CacheControl},
		logger:       cfg.Logger,
	}
	var err error
	switch {
	case exempt:
		m.exempt, err = compile("Exempt", cfg.Exempt, cfg.ExemptRegexps)
	case confidential:
		m.confidential, err = compile("Confidential", cfg.Confidential, cfg.ConfidentialRegexps)
	default:
		m.all = cfg.Authenticated == nil
	}
	if err != nil {
		return nil, err
	}
	if cfg.Legacy {
		m.pragma, m.expires = []string{"no-cache"}, []string{"0"}
	}
	if m.logger == nil {
		m.logger = seclog.Default()
	}
	return m, nil
}

// compile compiles one list; its errors name field and field+"Regexps".
func compile(field string, patterns, regexps []string) (*pathrule.Set, error) {
	s, err := pathrule.Compile(pathrule.Config{Field: field, Patterns: patterns, Regexps: regexps})
	if err != nil {
		return nil, fmt.Errorf("nocache: %w", err)
	}
	return s, nil
}

// Confidential reports whether the response to r is to be marked: the
// middleware's whole decision, a function of the request alone (see the
// package documentation). Use it with [Middleware.Apply] where no handler
// chain exists, such as a reverse proxy's ModifyResponse.
func (m *Middleware) Confidential(r *http.Request) bool {
	switch {
	case m.all:
		return true
	case m.exempt != nil:
		if !m.exempt.Judge(r).Allowed() {
			return true
		}
	case m.confidential != nil:
		if m.confidential.Judge(r).Denied() {
			return true
		}
	}
	return m.auth != nil && m.auth(r)
}

// Apply marks the response header h: it sets Cache-Control (and, with
// Legacy, Pragma and Expires) and removes ETag and Last-Modified. Without
// Force, a non-empty Cache-Control already in h is kept: when it has
// no-store (a handler's own, or csp's on a response with a nonce) the
// response is still marked otherwise (validators removed, Legacy headers
// added); when it has not, Apply backs off and changes nothing (and logs
// a warning once). It does not allocate. The Handler calls it when the
// response header is written; call it yourself for a response that
// [Middleware.Confidential] marks outside a handler chain.
//
// The values are shared by every response: do not change them in place
// (h["Cache-Control"][0] = …); replace them with Header().Set.
func (m *Middleware) Apply(h http.Header) {
	keep := false
	if len(h) != 0 {
		if !m.force {
			if cc := h[hCacheControl]; nonEmpty(cc) {
				if !hasNoStore(cc) {
					m.backOff(cc)
					return
				}
				keep = true
			}
		}
		delete(h, hETag)
		delete(h, "ETag") // as a handler may have assigned it, uncanonicalized
		delete(h, hLastModified)
	}
	if !keep {
		h[hCacheControl] = m.cacheControl
	}
	if m.pragma != nil {
		h[hPragma] = m.pragma
		h[hExpires] = m.expires
	}
}

// nonEmpty reports whether a header has a non-empty value.
func nonEmpty(v []string) bool {
	for _, s := range v {
		if s != "" {
			return true
		}
	}
	return false
}

// hasNoStore reports whether a Cache-Control header has the no-store
// directive.
func hasNoStore(v []string) bool {
	for _, s := range v {
		for d := range strings.SplitSeq(s, ",") {
			name, _, _ := strings.Cut(d, "=")
			if strings.EqualFold(strings.TrimSpace(name), "no-store") {
				return true
			}
		}
	}
	return false
}

// backOff logs, once, that a confidential response keeps its own
// Cache-Control, which lacks no-store.
func (m *Middleware) backOff(v []string) {
	if m.warned.CompareAndSwap(false, true) {
		m.logger.Zap().Warn("nocache: a confidential response has its own Cache-Control without no-store and was left as it is; set nocache.Config.Force to replace it (logged once)",
			seclog.String("cache_control", strings.Join(v, ", ")))
	}
}

// Handler returns next wrapped so that the responses [Middleware.Confidential]
// marks get the headers when they are written. A request that is not
// marked goes to next as it is, with nothing added.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return &handler{m: m, next: next}
}

// handler is what Handler returns: a struct rather than a closure, so that
// serving a request is a direct method call.
type handler struct {
	m    *Middleware
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if !m.Confidential(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	// Only GET and HEAD are answered 304; on other methods these headers
	// are preconditions (PUT with If-None-Match: * creates only), kept.
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(len(r.Header[hIfNoneMatch]) > 0 || len(r.Header[hIfModSince]) > 0) {
		r = unconditional(r)
	}
	mw := pool.Get().(*writer)
	mw.rw, mw.m = w, m
	h.next.ServeHTTP(mw, r)
	if !mw.done {
		// The handler wrote nothing: net/http will send a 200 with the
		// header as it is now.
		m.Apply(w.Header())
	}
	*mw = writer{}
	pool.Put(mw)
}

// unconditional returns a shallow copy of r without the validators that
// would let a handler answer 304 with a copy stored before.
func unconditional(r *http.Request) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	r2.Header.Del(hIfNoneMatch)
	r2.Header.Del(hIfModSince)
	return r2
}

var pool = sync.Pool{New: func() any { return new(writer) }}

// writer marks the response when its header is written: at the first
// final WriteHeader, or at the first Write, ReadFrom or Flush before any.
type writer struct {
	rw   http.ResponseWriter
	m    *Middleware
	done bool // the header was written (or the connection hijacked)
}

// Header returns the header map of the underlying ResponseWriter.
func (w *writer) Header() http.Header { return w.rw.Header() }

// WriteHeader marks the response before the first final status. 1xx
// informational statuses (except 101) pass through unmarked: the final
// response follows them.
func (w *writer) WriteHeader(code int) {
	if !w.done {
		if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
			w.rw.WriteHeader(code)
			return
		}
		w.done = true
		w.m.Apply(w.rw.Header())
	}
	w.rw.WriteHeader(code)
}

// Write writes the header first if the handler did not.
func (w *writer) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.rw.Write(p)
}

// ReadFrom keeps net/http's sendfile path (io.Copy to the ResponseWriter)
// for marked responses.
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return io.Copy(w.rw, src)
}

// Flush writes the header if needed, then flushes the underlying writer
// (an http.Flusher for handlers that type-assert).
func (w *writer) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the underlying writer's error; it is what
// http.ResponseController calls.
func (w *writer) FlushError() error {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(w.rw).Flush()
}

// Hijack hands the connection over (an http.Hijacker for handlers that
// type-assert, such as WebSocket upgraders); no header is written after.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.done = true
	}
	return c, rw, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.rw }
