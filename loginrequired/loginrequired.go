// Package loginrequired is the login gate of the bulwark suite: every
// request needs a logged-in user unless its route is allowed (deny by
// default), as django-security's LoginRequiredMiddleware, done right:
//
//   - routes are ServeMux patterns ("/static/", "GET /health", "/{$}"),
//     judged on the route the request will be routed to, never on a string
//     prefix of the raw path; a path that is not clean or that parsers read
//     differently is refused with 400 (pathrule);
//   - per-route authorizers (Public, LoggedIn, Staff, Superuser, or your
//     own func), django-denied's model; in Strict mode a route without a
//     rule is refused even to logged-in users, so a new handler is never
//     exposed by accident;
//   - refusals go through the suite's shared identity.Responder: a
//     navigation is sent to the login page with "next", a script gets
//     401/403 JSON, htmx gets HX-Redirect;
//   - the login page and the logout path are allowed automatically.
//
// The user comes from the identity middleware (identity.FromRequest), which
// runs before the gate in the bulwark chain.
package loginrequired

import (
	"fmt"
	"net/http"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/gate"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// A Rule gives the authorizer of the routes that match a ServeMux pattern.
type Rule struct {
	// Pattern is a net/http.ServeMux pattern: "/admin/", "GET /health",
	// "/users/{id}/avatar", "api.example.com/".
	Pattern string
	// Authorize decides who may use the routes (see [Public], [LoggedIn],
	// [Staff], [Superuser], [Func]).
	Authorize Authorizer
}

// Config configures the login gate. The zero value requires a login for
// every route but /login.
type Config struct {
	// Exempt lists the public routes, as ServeMux patterns. It is a
	// shorthand for Rules with [Public].
	Exempt []string
	// ExemptRegexps lists public routes as Django-style regular expressions
	// matched from the start of the clean path without its leading "/",
	// for porting a django-security LOGIN_EXEMPT_URLS. Prefer Exempt.
	ExemptRegexps []string
	// Rules give routes their own authorizer. A request is judged by the
	// one pattern it would be routed to, so "/admin/" with Staff and "/"
	// with LoggedIn mean what they say.
	Rules []Rule
	// Strict refuses (403) a logged-in user on a route that no rule or
	// Exempt pattern covers. Without it, a logged-in user may use any route
	// that has no rule.
	Strict bool
	// LoginURL is where anonymous visitors are sent (default "/login"). A
	// path on this site is allowed automatically, for every method.
	LoginURL string
	// LogoutURL, if set, is allowed automatically too, for every method.
	LogoutURL string
	// Responder answers refusals; nil means identity.NewResponder with its
	// defaults (no WWW-Authenticate challenge: API clients get 403). Share
	// one Responder between all the gates of an application.
	Responder *identity.Responder
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
}

// Outcome is what the gate decides for a request.
type Outcome uint8

const (
	// Pass lets the request through.
	Pass Outcome = iota
	// Login refuses an anonymous request: the visitor must log in.
	Login
	// Forbidden refuses a logged-in user (403).
	Forbidden
	// BadPath refuses a request whose path is not clean or is ambiguous
	// (400).
	BadPath
)

var outcomeNames = []string{"pass", "login", "forbidden", "bad-path"}

// String returns "pass", "login", "forbidden" or "bad-path".
func (o Outcome) String() string { return gate.String(o, outcomeNames) }

// A Decision is the gate's verdict on one request.
type Decision struct {
	// Outcome is what the gate does with the request.
	Outcome Outcome
	// Rule is the pattern of the rule that decided, "" when none did.
	Rule string
	// Reason says why, for Forbidden and BadPath: "not-authorized",
	// "no-rule" (strict mode), or a path reason from pathrule.
	Reason string
	admin  bool
}

// Middleware is the login gate. It is safe for concurrent use.
type Middleware struct {
	core   *gate.Core
	rules  *pathrule.Set
	authz  map[string]Authorizer
	strict bool
}

// New returns the login gate for cfg, or an error naming the field that is
// wrong.
func New(cfg Config) (*Middleware, error) {
	core, err := gate.New(gate.Config{Name: "loginrequired", LoginURL: cfg.LoginURL, Responder: cfg.Responder, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	m := &Middleware{core: core, strict: cfg.Strict, authz: map[string]Authorizer{}}
	var patterns []string
	var fields []ruleField
	add := func(f ruleField, pattern string, a Authorizer) error {
		if a.fn == nil {
			return fmt.Errorf("loginrequired: %s %q has no authorizer (use loginrequired.Public, LoggedIn, Staff, Superuser or Func)", f, pattern)
		}
		if _, dup := m.authz[pattern]; dup {
			return fmt.Errorf("loginrequired: %s %q is given twice", f, pattern)
		}
		m.authz[pattern] = a
		patterns = append(patterns, pattern)
		fields = append(fields, f)
		return nil
	}
	for i, p := range cfg.Exempt {
		if err := add(ruleField{"Exempt", i}, p, Public); err != nil {
			return nil, err
		}
	}
	for i, r := range cfg.Rules {
		if err := add(ruleField{fmt.Sprintf("Rules[%d].Pattern", i), -1}, r.Pattern, r.Authorize); err != nil {
			return nil, err
		}
	}
	for _, u := range []struct{ field, url string }{{"LoginURL", core.LoginURL}, {"LogoutURL", cfg.LogoutURL}} {
		p, err := exactPattern(u.field, u.url)
		if err != nil {
			return nil, err
		}
		if p == "" {
			continue
		}
		if a, ok := m.authz[p]; ok && a.name != Public.name {
			return nil, fmt.Errorf("loginrequired: %s %q is given the authorizer %s by a rule: it must be public, or nobody can log in", u.field, u.url, a)
		}
		if _, ok := m.authz[p]; !ok {
			m.authz[p] = Public
			patterns = append(patterns, p)
			fields = append(fields, ruleField{u.field, -1})
		}
	}
	for _, re := range cfg.ExemptRegexps {
		m.authz[re] = Public
	}
	set, err := pathrule.Compile(pathrule.Config{Field: "Exempt", Patterns: patterns, Regexps: cfg.ExemptRegexps})
	if e, ok := err.(*pathrule.Error); ok && e.Field == "Exempt" {
		e.Field, e.Index = fields[e.Index].name, fields[e.Index].index
	}
	if err != nil {
		return nil, fmt.Errorf("loginrequired: %w", err)
	}
	m.rules = set
	return m, nil
}

// ruleField names the Config field of a pattern in errors: Exempt[2],
// Rules[0].Pattern (index -1), LoginURL (index -1).
type ruleField struct {
	name  string
	index int
}

func (f ruleField) String() string {
	if f.index < 0 {
		return f.name
	}
	return fmt.Sprintf("%s[%d]", f.name, f.index)
}

// exactPattern returns the ServeMux pattern that matches exactly the path
// of a page URL of this site, "" for an absolute URL.
func exactPattern(field, raw string) (string, error) {
	p, err := pathrule.PagePattern(raw)
	if err != nil {
		return "", fmt.Errorf("loginrequired: %s %q: %v (such as %q)", field, raw, err, "/login")
	}
	return p, nil
}

// Check judges r: the pure decision of [Middleware.Handler], with the
// user the identity middleware found (nil: anonymous). The gate reads no
// store and no session: its error is always nil, there so that the four
// gates' Check read alike.
func (m *Middleware) Check(r *http.Request) (Decision, error) {
	return m.decide(r), nil
}

func (m *Middleware) decide(r *http.Request) Decision {
	res := m.rules.Judge(r)
	u := identity.FromRequest(r)
	switch res.Verdict {
	case pathrule.Reject:
		return Decision{Outcome: BadPath, Rule: res.Pattern, Reason: res.Reason}
	case pathrule.Match:
		a := m.authz[res.Pattern]
		ar := r
		if a.routed {
			ar = m.rules.WithPathValues(r, res)
		}
		if a.Allows(ar, u) {
			return Decision{Outcome: Pass, Rule: res.Pattern, admin: a.admin && u != nil}
		}
		if u == nil {
			return Decision{Outcome: Login, Rule: res.Pattern}
		}
		return Decision{Outcome: Forbidden, Rule: res.Pattern, Reason: "not-authorized"}
	}
	switch {
	case u == nil:
		return Decision{Outcome: Login}
	case m.strict:
		return Decision{Outcome: Forbidden, Reason: "no-rule"}
	}
	return Decision{Outcome: Pass}
}

// Handler returns next behind the login gate.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.decide(r)
		switch d.Outcome {
		case Pass:
			if d.admin {
				m.core.Log.Log(r, seclog.LoginRequiredAdmin, zap.String("rule", d.Rule))
			}
			next.ServeHTTP(w, r)
		case Login:
			m.core.Refuse(w, r, identity.Refusal{Code: "login_required", Location: m.core.LoginURL, Unauthenticated: true, Next: true},
				seclog.LoginRequiredRedirect, zap.String("rule", d.Rule), m.core.Client(r))
		case Forbidden:
			m.core.Refuse(w, r, identity.Refusal{Code: "forbidden"},
				seclog.LoginRequiredForbidden, zap.String("rule", d.Rule), zap.String("reason", d.Reason))
		default:
			m.core.Log.Log(r, seclog.PathRejected, zap.String("reason", d.Reason))
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "Bad Request", http.StatusBadRequest)
		}
	})
}
