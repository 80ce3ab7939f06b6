// Package bulwark composes the suite's middlewares in the recommended
// order. It is thin: each middleware lives in its own package (csp,
// referrer, nocache, clearsite, loginrequired, sessionexpiry, …) and can be
// used alone; this package only puts the ones you configured in the order
// that makes them correct together (docs/ordering.md), as an alice.Chain.
//
//	chain := bulwark.Chain{
//		Secure:   secure.New(bulwark.SecureOptions()),
//		Sessions: sessions, // *scs.SessionManager
//		// … the other slots you use; empty slots are skipped
//	}
//	http.ListenAndServe(addr, chain.Then(mux))
package bulwark

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/unrolled/secure"

	"github.com/bulwark-go/bulwark/seclog"
)

// Middleware is what every middleware of the suite is: a value whose
// Handler method wraps the next handler (an alice.Constructor as a method,
// as http.CrossOriginProtection has).
type Middleware interface {
	Handler(next http.Handler) http.Handler
}

// MiddlewareFunc adapts an alice.Constructor (a func(http.Handler)
// http.Handler, such as another library's middleware) to a [Middleware],
// to put it in a slot of [Chain].
type MiddlewareFunc func(next http.Handler) http.Handler

// Handler calls f(next).
func (f MiddlewareFunc) Handler(next http.Handler) http.Handler { return f(next) }

// Chain holds one slot per middleware of the suite, in the order they run
// for a request, from the outermost to the innermost. Fill the slots you
// use and leave the others nil; the order is fixed by the struct, so it
// cannot be got wrong:
//
//  1. Secure: the classic headers (HSTS, nosniff, frame options, COOP),
//     from unrolled/secure, set before anything can answer.
//  2. Sessions: the scs session is loaded (LoadAndSave).
//  3. SessionExpiry: an expired session is ended before it is judged.
//  4. Identity: the request's user is found (package identity: session,
//     bearer token, basic), or the request is anonymous.
//  5. LoginRequired: an anonymous request on a path that is not allowed is
//     sent to log in.
//  6. MFA: a logged-in user without a second factor in this session is
//     sent to the challenge.
//  7. PasswordExpiry: a user whose password has expired is sent to change it.
//  8. Profiling: only for authorized requests that ask for it.
//  9. CSP, Referrer, NoCache, ClearSite: response headers, decided before
//     the application writes.
//
// The CSP report receiver (package cspreport) is not in the chain: mount it
// outside the login gate.
//
// Logger is the suite's security logger. The chain asks it one thing:
// whether a request came over HTTPS ([seclog.Logger.IsHTTPS], which
// believes X-Forwarded-Proto only from the proxies of
// seclog.Config.TrustedProxies). The Secure slot sees a request as HTTPS
// exactly when that rule says so, whatever X-Forwarded-Proto or an
// absolute-form request line a client sends; nil trusts no proxy (HTTPS
// means a TLS connection to this server), as seclog's zero value does.
type Chain struct {
	Logger         *seclog.Logger
	Secure         *secure.Secure
	Sessions       *scs.SessionManager
	SessionExpiry  Middleware
	Identity       Middleware
	LoginRequired  Middleware
	MFA            Middleware
	PasswordExpiry Middleware
	Profiling      Middleware
	CSP            Middleware
	Referrer       Middleware
	NoCache        Middleware
	ClearSite      Middleware
}

// Alice returns the configured middlewares, in order, as an alice.Chain,
// to be extended with Append or finished with Then.
func (c Chain) Alice() alice.Chain {
	var cs []alice.Constructor
	if c.Secure != nil {
		isHTTPS := (*seclog.Proxies)(nil).IsHTTPS
		if c.Logger != nil {
			isHTTPS = c.Logger.IsHTTPS
		}
		s := c.Secure
		cs = append(cs, func(next http.Handler) http.Handler {
			return &secureHandler{s: s, isHTTPS: isHTTPS, next: next}
		})
	}
	if c.Sessions != nil {
		cs = append(cs, c.Sessions.LoadAndSave)
	}
	for _, m := range []Middleware{
		c.SessionExpiry, c.Identity, c.LoginRequired, c.MFA, c.PasswordExpiry,
		c.Profiling, c.CSP, c.Referrer, c.NoCache, c.ClearSite,
	} {
		if !isNil(m) {
			cs = append(cs, m.Handler)
		}
	}
	return alice.New(cs...)
}

// Then returns h wrapped in the configured middlewares, in order.
func (c Chain) Then(h http.Handler) http.Handler {
	return c.Alice().Then(h)
}

// secureHandler runs unrolled/secure on a request whose scheme is the
// suite's verdict. secure reads HTTPS from r.TLS, r.URL.Scheme (which a
// client sets with an absolute-form request line) and SSLProxyHeaders
// (which it believes from anyone); so when the verdict of isHTTPS
// differs from r.URL.Scheme, secure is given a copy of the request whose
// URL says the verdict, and the next handler gets the URL as it came.
type secureHandler struct {
	s       *secure.Secure
	isHTTPS func(*http.Request) bool
	next    http.Handler
}

func (h *secureHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	https := h.isHTTPS(r)
	if https == (r.TLS != nil || strings.EqualFold(r.URL.Scheme, "https")) {
		h.s.HandlerFuncWithNext(w, r, h.next.ServeHTTP)
		return
	}
	u := *r.URL
	orig := u.Scheme
	u.Scheme = "http"
	if https {
		u.Scheme = "https"
	}
	judged := r.WithContext(r.Context())
	judged.URL = &u
	h.s.HandlerFuncWithNext(w, judged, func(w http.ResponseWriter, r *http.Request) {
		u.Scheme = orig // r.URL is &u: the next handler sees the URL as it came
		h.next.ServeHTTP(w, r)
	})
}

// isNil reports whether m is nil or a typed nil pointer (a slot set to a
// *csp.Middleware variable that was never assigned counts as empty).
func isNil(m Middleware) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	switch v.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Interface, reflect.Slice:
		return v.IsNil()
	}
	return false
}

// SecureOptions returns modern defaults for github.com/unrolled/secure,
// for the Secure slot:
//
//   - Strict-Transport-Security: max-age of two years with includeSubDomains,
//     sent only on HTTPS requests. Which requests are HTTPS is the suite's
//     one rule (seclog.Config.TrustedProxies): in a [Chain] whose Logger
//     trusts your TLS-terminating proxy, its X-Forwarded-Proto: https
//     counts, and nobody else's. The options set no SSLProxyHeaders, which
//     secure would believe from any client; keep it so. Used outside a
//     Chain, secure sees only TLS connections to this server as HTTPS.
//     Preload is left to you: it is hard to undo.
//   - X-Content-Type-Options: nosniff.
//   - X-Frame-Options: DENY (for browsers without CSP frame-ancestors; the
//     csp package's policy sets frame-ancestors itself: 'self' in csp.Strict).
//   - X-XSS-Protection: 0: the old XSS auditors are off in every browser
//     and were themselves a source of leaks; "0" is the current advice.
//   - Cross-Origin-Opener-Policy: same-origin.
//   - Cross-Origin-Resource-Policy: same-origin.
//
// SSLRedirect stays off: redirect to HTTPS at your proxy or load balancer.
// If you turn it on, use the Chain with a Logger that trusts the proxy,
// or every request that reached the proxy over HTTPS is redirected again.
// Referrer-Policy and Content-Security-Policy are left to
// the referrer and csp packages.
func SecureOptions() secure.Options {
	return secure.Options{
		STSSeconds:                63072000,
		STSIncludeSubdomains:      true,
		ContentTypeNosniff:        true,
		FrameDeny:                 true,
		BrowserXssFilter:          true,
		CustomBrowserXssValue:     "0",
		CrossOriginOpenerPolicy:   "same-origin",
		CrossOriginResourcePolicy: "same-origin",
	}
}
