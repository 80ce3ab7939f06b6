// Package referrer sets the Referrer-Policy response header, which tells the
// browser how much of the page's URL it may send in the Referer header of
// the requests the page makes and of the links followed from it.
//
// The policy is typed ([Policy]), validated and serialized once, in [New];
// per request the middleware only assigns a prebuilt value to the header
// map (no allocation). The zero [Config] sends "same-origin", as
// django-security does: the full URL to the same origin, nothing to any
// other.
//
// A policy may have fallbacks for browsers that do not know it: the header
// is a comma-separated list and the browser uses the last token it knows,
// so [New] writes the fallbacks first and the preferred policy last.
//
// # Per-route policies
//
// The middleware sets the header before it calls the next handler, so
// anything that runs after it and before the response is written wins: an
// inner referrer middleware mounted on one route
// (mux.Handle("/reset/", strict.Handler(reset))), [Middleware.Apply] in a
// handler, or the handler's own w.Header().Set("Referrer-Policy", …). This
// costs nothing per request: no request context, no wrapped
// ResponseWriter. Build the per-route middlewares once, at startup, like
// the outer one.
package referrer

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// Header is the name of the response header this package sets, in
// canonical form.
const Header = "Referrer-Policy"

// Policy is a Referrer-Policy token (W3C Referrer Policy). Use the
// constants; [New] rejects any other value.
type Policy string

// The eight policies of the W3C Referrer Policy specification. For a
// request from https://example.com/page?q=1, "the full URL" below is that
// URL and "the origin" is https://example.com/.
const (
	// NoReferrer sends no Referer header at all.
	NoReferrer Policy = "no-referrer"
	// NoReferrerWhenDowngrade sends the full URL, except from HTTPS to
	// HTTP: the full URL of a page reaches every other HTTPS site.
	NoReferrerWhenDowngrade Policy = "no-referrer-when-downgrade"
	// SameOrigin sends the full URL to the same origin and nothing to other
	// origins. It is this package's default (django-security's too).
	SameOrigin Policy = "same-origin"
	// Origin sends only the origin ("https://example.com/"), to every site,
	// even from HTTPS to HTTP.
	Origin Policy = "origin"
	// StrictOrigin sends only the origin, and nothing from HTTPS to HTTP.
	StrictOrigin Policy = "strict-origin"
	// OriginWhenCrossOrigin sends the full URL to the same origin and only
	// the origin to other sites, even from HTTPS to HTTP.
	OriginWhenCrossOrigin Policy = "origin-when-cross-origin"
	// StrictOriginWhenCrossOrigin sends the full URL to the same origin,
	// only the origin to other sites, and nothing from HTTPS to HTTP. It is
	// what browsers do when no policy is given.
	StrictOriginWhenCrossOrigin Policy = "strict-origin-when-cross-origin"
	// UnsafeURL sends the full URL, path and query included, to every
	// site, even from HTTPS to HTTP. Avoid it.
	UnsafeURL Policy = "unsafe-url"
)

// policies lists every token, in the order of the specification.
var policies = []Policy{
	NoReferrer, NoReferrerWhenDowngrade, SameOrigin, Origin, StrictOrigin,
	OriginWhenCrossOrigin, StrictOriginWhenCrossOrigin, UnsafeURL,
}

// Valid reports whether p is one of the eight policy tokens, written
// exactly as the specification writes it (lower case, no spaces).
func (p Policy) Valid() bool {
	for _, q := range policies {
		if p == q {
			return true
		}
	}
	return false
}

// Config configures a [Middleware]. The zero value sends
// "Referrer-Policy: same-origin".
type Config struct {
	// Policy is the preferred policy. Empty means SameOrigin. Consider
	// StrictOriginWhenCrossOrigin (the browsers' own default, which lets
	// other sites see where their visitors come from) or NoReferrer (the
	// strictest; helmet's default).
	Policy Policy
	// Fallbacks are policies for browsers that do not know Policy, in
	// order of preference, the most preferred last. They are sent before
	// Policy: "Fallbacks[0], …, Policy". Each may appear once, and not
	// equal Policy. Fallbacks require Policy to be set.
	Fallbacks []Policy
	// Off sends no Referrer-Policy header, and removes one that a
	// middleware running before this one has set, so that the browser's
	// default (strict-origin-when-cross-origin) applies. Off cannot be
	// combined with Policy or Fallbacks.
	Off bool
	// Logger receives the warnings of New (a policy that sends full URLs
	// to other sites). Nil means seclog.Default(). The middleware logs
	// no security event per request: setting a header is not one.
	Logger *seclog.Logger
}

// Middleware sets Referrer-Policy on every response. It is safe for
// concurrent use, and it satisfies bulwark.Middleware.
type Middleware struct {
	value []string // prebuilt header value, len == cap == 1; nil when off
	off   bool
}

// New validates cfg and builds the header value once. An error names the
// field and says what to write instead: an unknown or misspelt token, an
// empty token, a token listed twice, fallbacks without a policy, or Off
// together with a policy.
func New(cfg Config) (*Middleware, error) {
	if cfg.Off {
		if cfg.Policy != "" || len(cfg.Fallbacks) > 0 {
			return nil, errors.New("referrer: Off is set together with Policy or Fallbacks: remove Off to send the policy, or remove Policy and Fallbacks to send none")
		}
		return &Middleware{off: true}, nil
	}
	if cfg.Policy == "" && len(cfg.Fallbacks) > 0 {
		return nil, errors.New("referrer: Fallbacks are set but Policy is empty: name the preferred policy in Policy (it is sent last, after the fallbacks, because the browser uses the last token it knows)")
	}
	preferred := cfg.Policy
	if preferred == "" {
		preferred = SameOrigin
	}
	if err := check("Policy", preferred); err != nil {
		return nil, err
	}
	tokens := make([]string, 0, len(cfg.Fallbacks)+1)
	for i, p := range cfg.Fallbacks {
		field := fmt.Sprintf("Fallbacks[%d]", i)
		if p == "" {
			return nil, fmt.Errorf("referrer: %s is empty: remove it", field)
		}
		if err := check(field, p); err != nil {
			return nil, err
		}
		if p == preferred {
			return nil, fmt.Errorf("referrer: %s %q is the Policy itself: remove it from Fallbacks", field, p)
		}
		for j, q := range cfg.Fallbacks[:i] {
			if p == q {
				return nil, fmt.Errorf("referrer: %s %q: listed twice (also Fallbacks[%d]): remove one", field, p, j)
			}
		}
		tokens = append(tokens, string(p))
	}
	tokens = append(tokens, string(preferred))

	logger := cfg.Logger
	if logger == nil {
		logger = seclog.Default()
	}
	if preferred == UnsafeURL || preferred == NoReferrerWhenDowngrade {
		logger.Zap().Warn("referrer: the policy sends the full URL of your pages, path and query included, to other sites",
			zap.String("policy", string(preferred)),
			zap.String("instead", string(StrictOriginWhenCrossOrigin)))
	}
	v := strings.Join(tokens, ", ")
	return &Middleware{value: []string{v}}, nil
}

// check reports an error for a token that is not one of the eight, with a
// suggestion when the mistake is a common one.
func check(field string, p Policy) error {
	if p.Valid() {
		return nil
	}
	s := string(p)
	if strings.ContainsAny(s, ",") {
		return fmt.Errorf("referrer: %s %q: one token per entry: put the preferred policy in Policy and the others in Fallbacks, the most preferred last", field, s)
	}
	// Normalise the usual slips: case, spaces, underscores, and the
	// header's own spelling "referer".
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.NewReplacer("_", "-", " ", "-", "referer", "referrer").Replace(n)
	if q := Policy(n); q.Valid() {
		return fmt.Errorf("referrer: %s %q is not a policy token: write %q (referrer.%s)", field, s, n, constName(q))
	}
	names := make([]string, len(policies))
	for i, q := range policies {
		names[i] = string(q)
	}
	return fmt.Errorf("referrer: %s %q is not a policy token: use one of the constants (%s)", field, s, strings.Join(names, ", "))
}

// constName returns the name of p's constant, for error messages.
func constName(p Policy) string {
	var b strings.Builder
	for _, w := range strings.Split(string(p), "-") {
		if w == "url" {
			b.WriteString("URL")
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Value returns the header value the middleware sends, such as
// "no-referrer, strict-origin-when-cross-origin", or "" when Off.
func (m *Middleware) Value() string {
	if m.off {
		return ""
	}
	return m.value[0]
}

// Handler returns next wrapped so that every response carries the policy:
// the header is set before next is called, so next (or an inner
// middleware) may replace it for its route; see the package documentation.
// With Off, a Referrer-Policy set before this middleware is removed.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Apply(w.Header())
		next.ServeHTTP(w, r)
	})
}

// Apply sets the policy in h, replacing any value there, or removes the
// header when m is Off. Call it in a handler to give one response a policy
// other than the one the outer middleware set (build m once, at startup),
// or in a reverse proxy's ModifyResponse. It does not allocate.
//
// The value is shared by every response: do not change it in place
// (h[Header][0] = …); replace it with Header().Set or another Apply.
func (m *Middleware) Apply(h http.Header) {
	if m.off {
		delete(h, Header)
		return
	}
	h[Header] = m.value
}
