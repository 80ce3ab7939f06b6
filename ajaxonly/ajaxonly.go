// Package ajaxonly refuses, with a 403, requests that are not AJAX from
// this origin: the port of django-security's require_ajax decorator,
// extended to Fetch Metadata.
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
// An AJAX request must also come from this origin, or one of
// [Config.AllowOrigins]: Sec-Fetch-Site: same-origin when the browser
// sends it (same-site is another origin: another subdomain or port), and
// otherwise an Origin header, when there is one, equal to the request's
// own origin (the scheme by the suite's trusted-proxy rule,
// seclog.Logger.IsHTTPS, and the Host). django-security's
// X-Requested-With check gets this from the browser: the header forces a
// CORS preflight. fetch() sends no such header, so a script of another
// origin, with the user's cookies, is refused here instead.
//
// Everything else, a navigation, a form, an <img> or <script> load, a
// beacon, is refused. Non-browser clients can send any header: ajaxonly
// is not authentication. It keeps endpoints meant for this site's scripts
// from being loaded as documents, frames or scripts of another page, or
// called by another origin's scripts.
//
// Use [Middleware.Handler] for a whole chain or for one handler, and
// [Middleware.Check] for the decision alone. Every response the middleware
// judges gets Vary: X-Requested-With, Sec-Fetch-Mode, Sec-Fetch-Dest,
// Sec-Fetch-Site, Origin, so caches keep the answers apart.
package ajaxonly

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
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
	headerFetchSite      = "Sec-Fetch-Site"
	headerOrigin         = "Origin"
)

// VaryValue is the Vary header value set on every response the middleware
// judges: the request headers the decision reads.
const VaryValue = "X-Requested-With, Sec-Fetch-Mode, Sec-Fetch-Dest, Sec-Fetch-Site, Origin"

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

// ErrCrossOrigin is the error [Middleware.Check] returns for an AJAX
// request from another origin that is not in [Config.AllowOrigins].
var ErrCrossOrigin = errors.New("ajaxonly: an AJAX request from another origin (Sec-Fetch-Site is not same-origin, or Origin is not the request's own) that Config.AllowOrigins does not list")

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
	// AllowOrigins lists the other origins whose scripts may call, exactly
	// as browsers send them in Origin: "https://app.example.com",
	// "http://localhost:8080" (scheme and host in lower case, the port
	// only when it is not the scheme's default, nothing after). Empty, the
	// default, allows this origin only. "*" and "null" are refused: list
	// each origin. An origin listed here still needs your CORS handler to
	// read the answers.
	AllowOrigins []string
	// Logger receives the ajaxonly.refused events, and decides with its
	// trusted proxies (seclog.Config.TrustedProxies) whether a request
	// came over HTTPS, for its own origin; nil means seclog.Default(),
	// which trusts no proxy.
	Logger *seclog.Logger
}

// Middleware lets only AJAX requests through. It is safe for concurrent
// use.
type Middleware struct {
	refused     http.Handler
	contentType []string
	length      []string
	body        []byte
	allow       map[string]struct{} // Config.AllowOrigins; nil when empty
	log         *seclog.Logger
}

// Shared header values (len == cap == 1, so an Add by a handler copies).
var (
	varyValue    = []string{VaryValue}[:1:1]
	nosniffValue = []string{"nosniff"}[:1:1]
)

// New validates cfg and returns the middleware. It returns an error naming
// the field for a Body that is too long, a ContentType that is not a media
// type, Refused set together with Body or ContentType, and an entry of
// AllowOrigins that is not an origin as browsers send it.
func New(cfg Config) (*Middleware, error) {
	m := &Middleware{refused: cfg.Refused, log: cfg.Logger}
	if m.log == nil {
		m.log = seclog.Default()
	}
	for i, o := range cfg.AllowOrigins {
		if err := checkOrigin(o); err != nil {
			return nil, fmt.Errorf("ajaxonly: AllowOrigins[%d] %q %w", i, o, err)
		}
		if m.allow == nil {
			m.allow = make(map[string]struct{}, len(cfg.AllowOrigins))
		}
		m.allow[o] = struct{}{}
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

// checkOrigin reports, as the end of an error message, why o is not an
// origin as a browser serializes it in the Origin header, and what to
// write instead.
func checkOrigin(o string) error {
	switch o {
	case "*":
		return errors.New(`is a wildcard: list each origin whose scripts may call, such as "https://app.example.com"`)
	case "null":
		return errors.New(`is the origin of sandboxed frames, files and some redirects, which any site can make: list real origins, such as "https://app.example.com"`)
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return errors.New(`is not an origin: write scheme://host[:port], such as "https://app.example.com"`)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("has the scheme %q: scripts call from https (or http) origins; write \"https://%s\"", u.Scheme, u.Host)
	}
	host := strings.ToLower(u.Host)
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return errors.New("has a host that is not ASCII: write its ASCII (punycode, xn--…) form, as browsers send it")
		}
	}
	host = strings.TrimSuffix(host, map[string]string{"https": ":443", "http": ":80"}[u.Scheme])
	want := u.Scheme + "://" + host
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") {
		return fmt.Errorf("has more than an origin (a user, path, query or fragment): write %q", want)
	}
	if o != want {
		return fmt.Errorf("is not written as browsers send it (lower case, no default port): write %q", want)
	}
	return nil
}

// Check reports whether r is AJAX from this origin (or one of
// Config.AllowOrigins): nil if it is, [ErrNotAJAX] or [ErrCrossOrigin] if
// not. It is a pure function of the request (its headers, Host and
// connection; it neither logs nor writes), for code that decides without a
// handler chain.
func (m *Middleware) Check(r *http.Request) error {
	if !isAJAX(r.Header) {
		return ErrNotAJAX
	}
	if !m.fromAllowedOrigin(r) {
		return ErrCrossOrigin
	}
	return nil
}

// fromAllowedOrigin reports whether r, a script's request, comes from this
// origin or one of AllowOrigins, without allocating.
//
// Sec-Fetch-Site, when the browser sends it, decides: same-origin only
// (same-site is another subdomain or port; none is no page at all), or
// the Origin of a listed origin. Without it, the Origin header decides
// when there is one: the request's own origin, or a listed one. Browsers
// send Origin on every cross-origin fetch() and XMLHttpRequest; a request
// without it is a same-origin GET, or not a browser's.
func (m *Middleware) fromAllowedOrigin(r *http.Request) bool {
	h := r.Header
	if site, ok := h[headerFetchSite]; ok {
		if len(site) > 0 && site[0] == "same-origin" {
			return true
		}
		return m.listed(h)
	}
	origin := h[headerOrigin]
	if len(origin) == 0 {
		return true
	}
	return m.ownOrigin(r, origin[0]) || m.listed(h)
}

// listed reports whether the request's Origin is one of AllowOrigins.
func (m *Middleware) listed(h http.Header) bool {
	if m.allow == nil {
		return false
	}
	origin := h[headerOrigin]
	if len(origin) == 0 {
		return false
	}
	_, ok := m.allow[origin[0]]
	return ok
}

// ownOrigin reports whether origin is r's own: the scheme as the trusted-
// proxy rule judges it (seclog.Logger.IsHTTPS), "://", and the Host, the
// scheme's default port left out as browsers do.
func (m *Middleware) ownOrigin(r *http.Request, origin string) bool {
	scheme, port := "http://", ":80"
	if m.log.IsHTTPS(r) {
		scheme, port = "https://", ":443"
	}
	host, ok := strings.CutPrefix(origin, scheme)
	return ok && r.Host != "" && strings.EqualFold(host, strings.TrimSuffix(r.Host, port))
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

// Handler returns next wrapped: AJAX requests from this origin (or one of
// Config.AllowOrigins) reach next, others are refused with a 403 (or
// Config.Refused) and logged as an ajaxonly.refused event. Both get the
// Vary header. Wrap a whole chain (every route below
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
	err := h.m.Check(r)
	if err == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	h.m.refuse(w, r, err)
}

// refuse logs the refusal and answers it.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, err error) {
	reason := "not_ajax"
	if err == ErrCrossOrigin {
		reason = "cross_origin"
	}
	m.log.Log(r, seclog.AjaxOnlyRefused,
		zap.String("reason", reason),
		seclog.String("x_requested_with", r.Header.Get(headerXRequestedWith)),
		seclog.String("sec_fetch_mode", r.Header.Get(headerFetchMode)),
		seclog.String("sec_fetch_dest", r.Header.Get(headerFetchDest)),
		seclog.String("sec_fetch_site", r.Header.Get(headerFetchSite)),
		seclog.String("origin", r.Header.Get(headerOrigin)),
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
