// Package ajaxonly refuses, with a 403, requests that are not AJAX: the
// port of django-security's require_ajax decorator, extended to Fetch
// Metadata.
//
// A request is AJAX when
//
//   - the browser's Fetch Metadata say it is a script's request:
//     Sec-Fetch-Dest: empty with Sec-Fetch-Mode cors or same-origin (what
//     fetch() and XMLHttpRequest send in every current browser, to secure
//     origins), or
//   - it has no Fetch Metadata and carries X-Requested-With: XMLHttpRequest
//     (jQuery and most XHR libraries send it; django-security's only test).
//
// When Fetch Metadata are present they decide alone: a navigation that
// also claims X-Requested-With is refused, since no page can add that
// header to a navigation.
//
// Everything else, a navigation, a form, an <img> or <script> load, a
// beacon, is refused. Neither signal says where a request comes from: a
// cross-origin fetch() is AJAX too, and non-browser clients can send any
// header. Use http.CrossOriginProtection and authentication for that;
// ajaxonly keeps endpoints meant for scripts from being loaded as
// documents, frames or scripts of another page.
//
// Use [Middleware.Handler] for a whole chain or for one handler, and
// [Middleware.Check] for the decision alone. Every response the middleware
// judges gets Vary: X-Requested-With, Sec-Fetch-Mode, Sec-Fetch-Dest, so
// caches keep AJAX and non-AJAX answers apart.
package ajaxonly

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// Request headers the decision reads (canonical forms).
const (
	headerXRequestedWith = "X-Requested-With"
	headerFetchMode      = "Sec-Fetch-Mode"
	headerFetchDest      = "Sec-Fetch-Dest"
)

// VaryValue is the Vary header value set on every response the middleware
// judges: the request headers the decision reads.
const VaryValue = "X-Requested-With, Sec-Fetch-Mode, Sec-Fetch-Dest"

// MaxBodyLen is the longest [Config.Body] accepted: refusals stay small. For
// a larger page, set [Config.Refused].
const MaxBodyLen = 4096

// Defaults of the refusal.
const (
	DefaultBody        = "Forbidden: this endpoint answers scripts only\n"
	DefaultContentType = "text/plain; charset=utf-8"
)

// ErrNotAJAX is the error [Middleware.Check] returns for a request that is
// not AJAX.
var ErrNotAJAX = errors.New("ajaxonly: not an AJAX request (neither Sec-Fetch-Dest: empty with Sec-Fetch-Mode cors or same-origin, nor, without Fetch Metadata, X-Requested-With: XMLHttpRequest)")

// Config configures a [Middleware]. The zero value is the secure default:
// a request that is not AJAX gets a short plain-text 403.
type Config struct {
	// Body is the body of the 403; empty means [DefaultBody]. At most
	// [MaxBodyLen] bytes.
	Body string
	// ContentType is the Content-Type of the 403, a valid media type; empty
	// means [DefaultContentType]; write "application/json" for a JSON Body.
	ContentType string
	// Refused, when set, answers refused requests instead of the built-in
	// 403 (then leave Body and ContentType empty). It is called with the
	// Vary header already set; it should answer 403 and say little.
	Refused http.Handler
	// Logger receives the ajaxonly.refused events; nil means
	// seclog.New(zap.L()).
	Logger *seclog.Logger
}

// Middleware lets only AJAX requests through. It is safe for concurrent
// use.
type Middleware struct {
	refused     http.Handler
	contentType []string
	length      []string
	body        []byte
	log         *seclog.Logger
}

// Shared header values (len == cap == 1, so an Add by a handler copies).
var (
	varyValue    = []string{VaryValue}[:1:1]
	nosniffValue = []string{"nosniff"}[:1:1]
)

// New validates cfg and returns the middleware. It returns an error naming
// the field for a Body that is too long, a ContentType that is not a media
// type, and Refused set together with Body or ContentType.
func New(cfg Config) (*Middleware, error) {
	m := &Middleware{refused: cfg.Refused, log: cfg.Logger}
	if m.log == nil {
		m.log = seclog.New(zap.L())
	}
	if cfg.Refused != nil {
		if cfg.Body != "" || cfg.ContentType != "" {
			return nil, errors.New("ajaxonly: Refused is set, so Body and ContentType are not used; leave them empty (the Refused handler writes its own response)")
		}
		return m, nil
	}
	body, ct := cfg.Body, cfg.ContentType
	if len(body) > MaxBodyLen {
		return nil, fmt.Errorf("ajaxonly: Body is %d bytes; keep it under %d (a refusal says little), or set Refused to a handler", len(body), MaxBodyLen)
	}
	if body == "" {
		body = DefaultBody
	}
	if ct == "" {
		ct = DefaultContentType
	} else {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "/") {
			return nil, fmt.Errorf("ajaxonly: ContentType %q is not a media type; write it as \"application/json\" or \"text/plain; charset=utf-8\"", ct)
		}
		if strings.ContainsAny(ct, "\r\n") {
			return nil, fmt.Errorf("ajaxonly: ContentType %q has a line break; write a single-line media type", ct)
		}
	}
	m.body = []byte(body)
	m.contentType = []string{ct}[:1:1]
	m.length = []string{strconv.Itoa(len(body))}[:1:1]
	return m, nil
}

// MustNew is like [New] but panics on error, for package-level variables
// and tests.
func MustNew(cfg Config) *Middleware {
	m, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return m
}

// Check reports whether r is AJAX: nil if it is, [ErrNotAJAX] if not. It
// is a pure function of the request's headers (it neither logs nor
// writes), for code that decides without a handler chain.
func (m *Middleware) Check(r *http.Request) error {
	if isAJAX(r.Header) {
		return nil
	}
	return ErrNotAJAX
}

// isAJAX is the decision. It reads the header map with canonical keys,
// without allocating.
//
// Fetch Metadata, when present, decide alone: a browser that sends them
// sends them on every request to a secure origin, and no page can add
// X-Requested-With to a navigation, so a navigation that claims it was
// not made by a page's script in that browser. Without them (plain HTTP,
// an old browser) X-Requested-With decides, compared exactly as
// django-security does.
func isAJAX(h http.Header) bool {
	mode, ok := h[headerFetchMode]
	if !ok {
		if _, ok := h[headerFetchDest]; !ok {
			v := h[headerXRequestedWith]
			return len(v) > 0 && v[0] == "XMLHttpRequest"
		}
		return false // a destination without a mode: not what browsers send
	}
	if len(mode) == 0 || mode[0] != "cors" && mode[0] != "same-origin" {
		return false
	}
	dest := h[headerFetchDest]
	return len(dest) > 0 && dest[0] == "empty"
}

// Handler returns next wrapped: AJAX requests reach next, others are
// refused with a 403 (or Config.Refused) and logged as an ajaxonly.refused
// event. Both get the Vary header. Wrap a whole chain (every route below
// answers scripts only) or a single handler:
//
//	mux.Handle("GET /api/items", ajax.Handler(items))
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
	addVary(w.Header())
	if isAJAX(r.Header) {
		h.next.ServeHTTP(w, r)
		return
	}
	h.m.refuse(w, r)
}

// refuse logs the refusal and answers it.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request) {
	m.log.Log(r, seclog.AjaxOnlyRefused,
		seclog.String("x_requested_with", r.Header.Get(headerXRequestedWith)),
		seclog.String("sec_fetch_mode", r.Header.Get(headerFetchMode)),
		seclog.String("sec_fetch_dest", r.Header.Get(headerFetchDest)),
	)
	if m.refused != nil {
		m.refused.ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h["Content-Type"] = m.contentType
	h["Content-Length"] = m.length
	h["X-Content-Type-Options"] = nosniffValue
	w.WriteHeader(http.StatusForbidden)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.body)
	}
}

// addVary adds the request headers of the decision to Vary, unless Vary is
// "*" or already names them. The common case, no Vary yet, is inlined.
func addVary(h http.Header) {
	// An empty map (a response not started yet, the common case) has no
	// Vary to merge with: skip the lookup.
	if len(h) != 0 {
		if old, ok := h["Vary"]; ok {
			mergeVary(h, old)
			return
		}
	}
	h["Vary"] = varyValue
}

func mergeVary(h http.Header, old []string) {
	for _, v := range old {
		if v == VaryValue || strings.TrimSpace(v) == "*" {
			return
		}
	}
	h["Vary"] = append(old, VaryValue)
}
