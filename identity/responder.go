package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/bulwark-go/bulwark/internal/httpjson"
	"github.com/bulwark-go/bulwark/pathrule"
)

// Kind is the kind of client that sent a request, as the [Responder]
// judges it: it decides how a refusal is answered.
type Kind uint8

const (
	// Navigation is a person's browser loading a page: it is redirected.
	Navigation Kind = iota
	// API is a script or a program (fetch, XMLHttpRequest, a JSON client):
	// it gets a status and a JSON body, never a redirect it would follow
	// silently into an HTML login page.
	API
	// HTMX is an htmx request: it gets HX-Redirect, since htmx ignores the
	// headers of a 3xx.
	HTMX
	// Subresource is a browser fetching part of a page (an image, a
	// favicon, a style, a script, a font: Fetch Metadata with a mode
	// other than navigate): it gets the status and JSON body an API
	// client gets, never a redirect. Followed, a redirect would load the
	// login or challenge page as an image, and a challenge page that
	// begins a challenge on GET would begin a new one behind the user's
	// back, so that the answer to the one on screen is refused.
	Subresource
)

// String returns "navigation", "api", "htmx" or "subresource".
func (k Kind) String() string {
	switch k {
	case API:
		return "api"
	case HTMX:
		return "htmx"
	case Subresource:
		return "subresource"
	}
	return "navigation"
}

// varyOn lists the request headers the kind of client is read from; every
// refusal names them in Vary.
const varyOn = "Accept, Sec-Fetch-Mode, Sec-Fetch-Dest, X-Requested-With, HX-Request"

// A Refusal says why a gate refuses a request and where a person should go.
type Refusal struct {
	// Code is a short machine-readable reason, the "error" member of the
	// JSON body: "login_required", "session_expired",
	// "password_change_required", "mfa_required", "forbidden", and
	// "invalid_credentials" for a credential the identity [Middleware]
	// refused.
	Code string
	// Location is where a person is sent: the login page, the
	// password-change page, the second-factor challenge. Empty for a plain
	// 403 (authenticated, not authorized).
	Location string
	// Unauthenticated is true when the request lacks (valid) credentials:
	// API clients get 401 with the configured challenge, or 403 when none
	// is configured (an HTTP 401 must carry WWW-Authenticate). False means
	// the user is known but may not pass: 403 for every kind of client.
	Unauthenticated bool
	// Reason, if set, is a finer machine-readable reason, the "reason"
	// member of the JSON body ("compromised", "idle", …). It must not
	// carry data from the request.
	Reason string
	// Next asks for the current request's URI to be passed to Location as
	// the "next" parameter, for a navigation by GET or HEAD, when
	// [SafeNext] accepts it.
	Next bool
}

// ResponderConfig configures a [Responder]. The zero value answers with
// the defaults below.
type ResponderConfig struct {
	// NextParam is the name of the query parameter that carries the
	// return path (default "next").
	NextParam string
	// Challenge is the WWW-Authenticate value of a 401 to an API client
	// (for example `Bearer realm="api"`). Empty means API clients without
	// credentials get 403, as DRF does: a 401 without a challenge breaks
	// RFC 9110.
	Challenge string
	// APIPatterns are routes (ServeMux patterns, such as "/api/") whose
	// requests are always answered as API requests, whatever their headers.
	APIPatterns []string
	// Handler, if set, writes every refusal instead of the built-in
	// answers; it reads the refusal with [RefusalFromContext] and the kind
	// of client with [Responder.Kind].
	Handler http.Handler
}

// A Responder answers the requests that a gate refuses, by kind of client.
// One Responder is shared by every gate of an application (loginrequired,
// sessionexpiry, passwordexpiry, mfa), so that refusals look the same
// whichever gate made them:
//
//   - a navigation gets 303 See Other to the refusal's Location, written
//     by [Redirect] exactly as given, with "next" for GET and HEAD (303
//     turns any method into GET; a POST's "next" would land on a page
//     that refuses GET);
//   - an API client, and a browser's subresource request (an image, a
//     favicon, a style), gets 401 with the configured WWW-Authenticate
//     challenge (403 when none is configured), or 403 when the user is
//     known, and a JSON body {"error": code, "location": url};
//   - htmx gets 204 with HX-Redirect;
//   - a refusal without a Location (authenticated but not authorized) is
//     403 with the JSON body for every kind.
//
// Every refusal carries Vary on the headers the kind was read from and
// Cache-Control: no-store. It is safe for concurrent use.
type Responder struct {
	nextParam string
	challenge string
	api       *pathrule.Set
	handler   http.Handler
}

// NewResponder returns a Responder for cfg, or an error naming the field
// that is wrong.
func NewResponder(cfg ResponderConfig) (*Responder, error) {
	rs := &Responder{nextParam: cfg.NextParam, challenge: cfg.Challenge, handler: cfg.Handler}
	if rs.nextParam == "" {
		rs.nextParam = "next"
	}
	if url.QueryEscape(rs.nextParam) != rs.nextParam {
		return nil, fmt.Errorf("identity: ResponderConfig.NextParam %q: use letters, digits, '-', '_' or '.'", cfg.NextParam)
	}
	if strings.ContainsAny(rs.challenge, "\r\n") {
		return nil, errors.New("identity: ResponderConfig.Challenge must be one line (no CR or LF)")
	}
	if len(cfg.APIPatterns) > 0 {
		set, err := pathrule.Compile(pathrule.Config{Field: "APIPatterns", Patterns: cfg.APIPatterns})
		if err != nil {
			return nil, fmt.Errorf("identity: ResponderConfig.%w", err)
		}
		rs.api = set
	}
	return rs, nil
}

// Kind judges the kind of client that sent r: htmx (HX-Request), a
// navigation (Sec-Fetch-Mode: navigate), a script (Fetch Metadata with an
// empty destination, X-Requested-With: XMLHttpRequest, an Accept that
// prefers JSON to HTML, or a route in APIPatterns), a subresource (Fetch
// Metadata with any other mode and destination: an image, a style); a
// request with none of these signs is a navigation.
func (rs *Responder) Kind(r *http.Request) Kind {
	h := r.Header
	if h.Get("HX-Request") == "true" {
		return HTMX
	}
	if rs.api != nil && rs.api.Denies(r) {
		// An ambiguous path under an API pattern is answered as API too:
		// a 401 never sends a script into an HTML page.
		return API
	}
	switch h.Get("Sec-Fetch-Mode") {
	case "navigate":
		return Navigation
	case "":
	default: // cors, same-origin, no-cors, websocket
		if h.Get("Sec-Fetch-Dest") == "empty" {
			return API
		}
		return Subresource
	}
	if strings.EqualFold(h.Get("X-Requested-With"), "XMLHttpRequest") {
		return API
	}
	if prefersJSON(h.Values("Accept")) {
		return API
	}
	return Navigation
}

// prefersJSON reports whether an Accept header names a JSON type and no
// HTML type.
func prefersJSON(accept []string) bool {
	json, html := false, false
	for _, v := range accept {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch {
			case mt == "text/html" || mt == "application/xhtml+xml":
				html = true
			case mt == "application/json" || strings.HasSuffix(mt, "+json"):
				json = true
			}
		}
	}
	return json && !html
}

type refusalKey struct{}

// RefusalFromContext returns the refusal being answered, in a
// [ResponderConfig.Handler].
func RefusalFromContext(ctx context.Context) (Refusal, bool) {
	ref, ok := ctx.Value(refusalKey{}).(Refusal)
	return ref, ok
}

// Refuse answers r with ref, as the kind of client expects (see
// [Responder]). It writes the whole response; the caller logs the security
// event.
func (rs *Responder) Refuse(w http.ResponseWriter, r *http.Request, ref Refusal) {
	h := w.Header()
	h.Add("Vary", varyOn)
	h.Set("Cache-Control", "no-store")
	if rs.handler != nil {
		rs.handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), refusalKey{}, ref)))
		return
	}
	location := ref.Location
	if location != "" && ref.Next && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		location = rs.withNext(location, r)
	}
	kind := rs.Kind(r)
	if location == "" {
		kind = API // nowhere to send a person: a plain 403 (or 401) for everyone
	}
	switch kind {
	case Navigation:
		Redirect(w, r, location, http.StatusSeeOther)
	case HTMX:
		h.Set("HX-Redirect", location)
		w.WriteHeader(http.StatusNoContent)
	default:
		status := http.StatusForbidden
		if ref.Unauthenticated {
			if status = rs.unauthenticatedStatus(); status == http.StatusUnauthorized {
				h.Set("WWW-Authenticate", rs.challenge)
			}
		}
		body, _ := json.Marshal(struct {
			Error    string `json:"error"`
			Reason   string `json:"reason,omitempty"`
			Location string `json:"location,omitempty"`
		}{ref.Code, ref.Reason, location})
		httpjson.Write(w, r, status, string(body))
	}
}

// unauthenticatedStatus is the one rule of the suite's 401s, DRF's: a
// request without (valid) credentials is 401 when there is a challenge to
// send with it, 403 when there is none (RFC 9110: a 401 carries
// WWW-Authenticate).
func (rs *Responder) unauthenticatedStatus() int {
	if rs.challenge == "" {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// withNext adds the request's escaped URI to location as the next
// parameter, when SafeNext accepts it as a same-site path.
func (rs *Responder) withNext(location string, r *http.Request) string {
	next := r.URL.RequestURI()
	if !strings.HasPrefix(next, "/") || !SafeNext(next, nil, false) {
		return location
	}
	sep := "?"
	if strings.Contains(location, "?") {
		sep = "&"
	}
	return location + sep + rs.nextParam + "=" + url.QueryEscape(next)
}

// Unavailable answers r with 503 Service Unavailable, Retry-After: 5,
// Cache-Control: no-store and the small JSON body {"error":"unavailable"},
// or hands it to custom when custom is not nil (after setting the two
// headers). It is the answer of every gate whose store or provider cannot
// decide: fail closed. The caller logs the security event.
func Unavailable(w http.ResponseWriter, r *http.Request, custom http.Handler) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "5")
	if custom != nil {
		custom.ServeHTTP(w, r)
		return
	}
	httpjson.Write(w, r, http.StatusServiceUnavailable, `{"error":"unavailable"}`)
}

// defaultResponder is built once: the zero ResponderConfig cannot fail.
var defaultResponder = sync.OnceValue(func() *Responder {
	rs, err := NewResponder(ResponderConfig{})
	if err != nil {
		panic(err) // unreachable
	}
	return rs
})

// DefaultResponder returns the Responder of the zero ResponderConfig, for
// a gate configured without one: no WWW-Authenticate challenge (API clients
// get 403), "next" as the return parameter, no API patterns.
func DefaultResponder() *Responder { return defaultResponder() }
