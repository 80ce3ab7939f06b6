// Package bulwark composes the suite's middlewares in the recommended
// order, from one configuration. Each middleware lives in its own package
// (csp, referrer, nocache, clearsite, loginrequired, sessionexpiry, …) and
// can be used alone; this package builds the ones you configure, hands
// them what they share (the security logger, the responder, the login and
// logout URLs, the public routes, the scs session manager), checks that
// the combination works, and runs them in the order that makes them
// correct together (docs/ordering.md), as an alice.Chain.
//
//	chain, err := bulwark.New(bulwark.Config{
//		Logger:        sec,      // *seclog.Logger
//		Sessions:      sessions, // *scs.SessionManager
//		Public:        []string{"/{$}", "/static/"},
//		Secure:        bulwark.SecureOptions(),
//		CrossOrigin:   http.NewCrossOriginProtection(),
//		Identity:      &bulwark.IdentityConfig{Lookup: lookupUser},
//		LoginRequired: &loginrequired.Config{},
//		// … the other slots you use; nil slots are skipped
//	})
//	if err != nil {
//		log.Fatal(err) // names the slot, the field and what to write
//	}
//	http.ListenAndServe(addr, chain.Then(mux))
package bulwark

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/unrolled/secure"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/check"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// Middleware is what every middleware of the suite is: a value whose
// Handler method wraps the next handler (an alice.Constructor as a method,
// as http.CrossOriginProtection has). [Chain] is one too.
type Middleware interface {
	// Handler returns next wrapped in the middleware.
	Handler(next http.Handler) http.Handler
}

// MiddlewareFunc adapts an alice.Constructor (a func(http.Handler)
// http.Handler, such as another library's middleware) to a [Middleware],
// to put it in a slot with [Config.Custom].
type MiddlewareFunc func(next http.Handler) http.Handler

// Handler calls f(next).
func (f MiddlewareFunc) Handler(next http.Handler) http.Handler { return f(next) }

// Slot names a place in the chain, as its [Config] field is named. The
// constants are listed in the order the slots run, from the outermost.
type Slot string

// The slots of the chain, in the order they run.
const (
	SlotSecure         Slot = "Secure"
	SlotCrossOrigin    Slot = "CrossOrigin"
	SlotSessions       Slot = "Sessions"
	SlotSessionExpiry  Slot = "SessionExpiry"
	SlotIdentity       Slot = "Identity"
	SlotLoginRequired  Slot = "LoginRequired"
	SlotMFA            Slot = "MFA"
	SlotPasswordExpiry Slot = "PasswordExpiry"
	SlotProfiling      Slot = "Profiling"
	SlotCSP            Slot = "CSP"
	SlotReferrer       Slot = "Referrer"
	SlotNoCache        Slot = "NoCache"
	SlotClearSite      Slot = "ClearSite"
)

// slots is the run order.
var slots = []Slot{
	SlotSecure, SlotCrossOrigin, SlotSessions, SlotSessionExpiry, SlotIdentity,
	SlotLoginRequired, SlotMFA, SlotPasswordExpiry, SlotProfiling,
	SlotCSP, SlotReferrer, SlotNoCache, SlotClearSite,
}

// Config configures a [Chain]. Its first fields are the settings every
// slot shares; New hands each of them to every slot whose own field is
// zero, and refuses a slot whose own field says something else (one login
// page, one session manager, one responder per application). The other
// fields are the slots, one per middleware of the suite, in the order
// they run: a nil slot is not in the chain.
//
// New copies what it needs: the slot configurations are not changed, and
// changing them after New changes nothing.
type Config struct {
	// Logger is the security logger every slot logs to, unless it sets
	// its own. Nil means seclog.Default() — never silence: build one with
	// seclog.New (or seclog.Discard() in tests) to choose where events go.
	// Its TrustedProxies also decide which requests came over HTTPS, for
	// the Secure slot (HSTS) as for the other packages.
	Logger *seclog.Logger

	// Responder answers every refusal of the chain: the gates', the
	// Identity slot's refused credentials (401 with its challenge, 403
	// when it has none) and the CrossOrigin slot's 403. Nil means identity's default responder, with
	// the challenge of the Identity slot's first authenticator that has
	// one (an [identity.Bearer] makes an API request without credentials
	// a 401 with `WWW-Authenticate: Bearer realm="api"` rather than a
	// 403). A slot's own Responder, if set, must be this one.
	Responder *identity.Responder

	// LoginURL is the login page (default "/login"): where the gates send
	// anonymous and expired users; it is always reachable. A slot's own
	// LoginURL, if set, must be this one.
	LoginURL string

	// LogoutURL is the logout route (default "/logout"): always reachable,
	// for every method, so that no gate can trap a user. A slot's own
	// LogoutURL, if set, must be this one.
	LogoutURL string

	// Public lists the routes anyone may reach, logged in or not, with a
	// second factor pending or a password to change: net/http.ServeMux
	// patterns such as "/{$}", "/static/", "GET /health". They are added to
	// the Exempt lists of LoginRequired, MFA and PasswordExpiry. They are
	// not exempt from the other slots: CrossOrigin still guards their
	// unsafe methods, and NoCache still judges them by its own lists.
	Public []string

	// Sessions is the scs session manager: its LoadAndSave runs after
	// CrossOrigin, and every slot that keeps state in the session
	// (SessionExpiry, the Identity slot's session login, MFA,
	// PasswordExpiry's cache) uses it. Configure it fully (Store, Cookie,
	// Lifetime) before New: the SessionExpiry slot adjusts it once, at
	// construction (see sessionexpiry.Config.Sessions). Nil means no
	// sessions; the slots that need them are then an error.
	Sessions *scs.SessionManager

	// Secure sets the classic headers (HSTS, nosniff, frame options, COOP)
	// with github.com/unrolled/secure; start from [SecureOptions]. The
	// chain shows secure the request's scheme as Logger decides it, so
	// SSLProxyHeaders, which secure would believe from any client, is an
	// error. ContentSecurityPolicy is an error when the CSP slot is used,
	// and ReferrerPolicy when the Referrer slot is (each package owns its
	// header).
	Secure *secure.Options

	// CrossOrigin refuses unsafe cross-origin browser requests (CSRF), with
	// net/http's guard: make it with http.NewCrossOriginProtection and add
	// your trusted origins and bypass patterns. It runs right after Secure,
	// before any session is loaded or renewed. A refused request is
	// answered 403 through Responder (code "cross_origin") and logged as
	// csrf.refused; a deny handler set with SetDenyHandler is not used
	// (customize the answer with identity.ResponderConfig.Handler).
	CrossOrigin *http.CrossOriginProtection

	// SessionExpiry ends sessions past their absolute or idle limit.
	// Needs Sessions. With the ClearSite slot and no OnExpire of its own,
	// an expired session's refusal carries Clear-Site-Data.
	SessionExpiry *sessionexpiry.Config

	// Identity finds the request's user (see [IdentityConfig]).
	Identity *IdentityConfig

	// LoginRequired sends anonymous requests to log in, except on Public
	// routes and on its own Exempt list. Needs Identity.
	LoginRequired *loginrequired.Config

	// MFA sends a logged-in user without a second factor in this session
	// to the challenge. Needs Identity and Sessions. Its Begin and
	// Complete are for your challenge page: [Chain.MFA].
	MFA *mfa.Config

	// PasswordExpiry sends a user who must change their password to the
	// change page. Needs Identity. With Sessions, its verdict is cached in
	// the session; with the Identity slot's session login, its Changed
	// keeps the changing session while the user's others end. Its Changed
	// is for your change handler: [Chain.PasswordExpiry].
	PasswordExpiry *passwordexpiry.Config

	// Profiling profiles the requests of authorized users that ask. Its
	// default Authorize reads the request's user, so without an Authorize
	// of its own it needs Identity. Its captures page: [Chain.Profiling].
	Profiling *profiling.Config

	// CSP sets Content-Security-Policy and makes the nonce.
	CSP *csp.Config

	// Referrer sets Referrer-Policy.
	Referrer *referrer.Config

	// NoCache keeps confidential responses out of caches. With the
	// Identity slot and no Authenticated of its own, every response to a
	// logged-in user is confidential (identity.FromRequest(r) != nil).
	NoCache *nocache.Config

	// ClearSite sends Clear-Site-Data on chosen routes; its Send is for
	// your logout handler: [Chain.ClearSite].
	ClearSite *clearsite.Config

	// Custom fills slots with middlewares of your own instead of the
	// suite's (another library's, wrapped in [MiddlewareFunc] if it is a
	// plain function): each runs at its slot's place. A slot has either
	// its Config field or a Custom entry, not both; Sessions cannot be
	// custom. A nil entry, or a typed nil pointer, is empty. The chain
	// cannot check a custom middleware: it counts as the slot being
	// filled (a custom Identity must put the user where
	// identity.FromRequest finds it), and gets no shared setting.
	Custom map[Slot]Middleware
}

// IdentityConfig configures the Identity slot: how the request's user is
// found. The usual login is a session one: give Lookup, and the chain
// builds an identity.Sessions on Config.Sessions (your login and logout
// handlers use it through [Chain.SessionAuth]). Bearer tokens, basic
// authentication or your own authenticators go in Authenticators, tried
// after the session.
type IdentityConfig struct {
	// Lookup returns the user with the given id, as
	// identity.SessionsConfig.Lookup. With Lookup set, the session login
	// is the first authenticator; it needs Config.Sessions.
	Lookup func(ctx context.Context, id string) (identity.User, error)
	// Revoke changes the user's credential stamp, as
	// identity.SessionsConfig.Revoke (for LogoutEverywhere). Needs Lookup.
	Revoke func(ctx context.Context, id string) error
	// Authenticators are tried in order, after the session login. An
	// *identity.Sessions you built yourself may be one of them, instead of
	// Lookup: it must then be on Config.Sessions, and it is the chain's
	// session login. Lookup or Authenticators is required.
	Authenticators []identity.Authenticator
	// FailOpen serves a request as anonymous when an authenticator could
	// not decide (identity.Config.FailOpen). Default false: 503.
	FailOpen bool
	// Logger, if set, is the slot's own security logger.
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// ConfigError is the error of [New]: a mistake in the combination of
// slots, or a slot whose own constructor refused its configuration.
type ConfigError struct {
	// Slot is the slot the mistake is about; "" for the chain's own
	// settings.
	Slot Slot
	// Field is the field to change, as written from Config:
	// "Sessions", "Public[2]", "LoginRequired.LoginURL". Empty when Err
	// names it.
	Field string
	// Problem says what is wrong, and Fix what to write.
	Problem, Fix string
	// Err is the error of the slot's own constructor (such as
	// mfa.New's), when it refused the slot's configuration.
	Err error
}

// Error returns "bulwark: SLOT slot: Config.FIELD: PROBLEM; FIX", or
// "bulwark: SLOT slot: " and the slot's own error.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("bulwark: ")
	if e.Slot != "" {
		b.WriteString(string(e.Slot) + " slot: ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
		return b.String()
	}
	b.WriteString("Config." + e.Field + ": " + e.Problem)
	if e.Fix != "" {
		b.WriteString("; " + e.Fix)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// Chain is the built chain: the configured middlewares, each built once,
// in the order they run. Use it as an alice.Chain ([Chain.Alice]), wrap
// your mux with [Chain.Then], or put it in another chain as a middleware
// ([Chain.Handler]). The accessors return the built parts your handlers
// need (the session login, mfa's challenge, passwordexpiry's Changed,
// clearsite's Send); each returns nil when its slot is unused or custom.
// A Chain is safe for concurrent use.
type Chain struct {
	constructors []alice.Constructor

	logger      *seclog.Logger
	responder   *identity.Responder
	sessions    *scs.SessionManager
	secure      *secure.Secure
	crossOrigin *http.CrossOriginProtection
	expiry      *sessionexpiry.Middleware
	auth        *identity.Sessions
	identity    *identity.Middleware
	login       *loginrequired.Middleware
	mfa         *mfa.Middleware
	password    *passwordexpiry.Middleware
	profiling   *profiling.Middleware
	csp         *csp.Middleware
	referrer    *referrer.Middleware
	noCache     *nocache.Middleware
	clearSite   *clearsite.Middleware
}

// New builds the chain of cfg: it checks the combination (every slot has
// what it needs, no slot contradicts the shared settings, the public
// routes are patterns), hands the shared settings to the slots, wires the
// slots together, and builds each middleware once. A mistake is a
// *[ConfigError] naming the slot, the field and what to write.
//
//  1. Secure: the classic headers, set before anything can answer.
//  2. CrossOrigin: an unsafe cross-origin browser request is refused.
//  3. Sessions: the scs session is loaded (LoadAndSave).
//  4. SessionExpiry: an expired session is ended before it is judged.
//  5. Identity: the request's user is found, or the request is anonymous.
//  6. LoginRequired: an anonymous request on a route that is not public is
//     sent to log in.
//  7. MFA: a logged-in user without a second factor in this session is
//     sent to the challenge.
//  8. PasswordExpiry: a user whose password has expired is sent to change it.
//  9. Profiling: only for authorized requests that ask for it.
//  10. CSP, Referrer, NoCache, ClearSite: response headers, decided before
//     the application writes.
//
// The CSP report receiver (package cspreport) is not in the chain: mount
// it outside, in front of it.
func New(cfg Config) (*Chain, error) {
	b := &builder{cfg: cfg, c: &Chain{
		logger:    cfg.Logger,
		responder: cfg.Responder,
		sessions:  cfg.Sessions,
	}}
	if b.c.logger == nil {
		b.c.logger = seclog.Default()
	}
	if b.c.responder == nil {
		r, err := defaultResponder(cfg.Identity)
		if err != nil {
			return nil, err
		}
		b.c.responder = r
	}
	b.loginURL = or(cfg.LoginURL, "/login")
	b.logoutURL = or(cfg.LogoutURL, "/logout")
	if err := b.check(); err != nil {
		return nil, err
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	return b.c, nil
}

// defaultResponder is the responder of a Config without one: identity's
// defaults, and the WWW-Authenticate challenge of the first authenticator
// that names one (identity.FirstChallenge, the one rule of the suite's
// 401s).
func defaultResponder(id *IdentityConfig) (*identity.Responder, error) {
	if id == nil {
		return identity.DefaultResponder(), nil
	}
	challenge := identity.FirstChallenge(id.Authenticators) // skips a nil one, which check refuses later
	if challenge == "" {
		return identity.DefaultResponder(), nil
	}
	r, err := identity.NewResponder(identity.ResponderConfig{Challenge: challenge})
	if err != nil {
		return nil, &ConfigError{Slot: SlotIdentity, Field: "Identity.Authenticators",
			Problem: "the first challenge cannot be sent (" + err.Error() + ")", Fix: "fix its Challenge, or set Config.Responder", Err: err}
	}
	return r, nil
}

// Alice returns the configured middlewares, in order, as an alice.Chain,
// to be extended with Append or put after your own with Extend.
func (c *Chain) Alice() alice.Chain { return alice.New(c.constructors...) }

// Then returns h wrapped in the configured middlewares, in order.
func (c *Chain) Then(h http.Handler) http.Handler { return c.Alice().Then(h) }

// Handler is Then: the chain as one middleware, for another chain.
func (c *Chain) Handler(next http.Handler) http.Handler { return c.Then(next) }

// Logger returns the chain's security logger (seclog.Default() when
// Config.Logger was nil).
func (c *Chain) Logger() *seclog.Logger { return c.logger }

// Responder returns the responder of the chain's refusals, for handlers
// that refuse in the same way.
func (c *Chain) Responder() *identity.Responder { return c.responder }

// Sessions returns Config.Sessions.
func (c *Chain) Sessions() *scs.SessionManager { return c.sessions }

// CrossOrigin returns Config.CrossOrigin: its Check(r) is the slot's
// decision, for a handler mounted outside the chain.
func (c *Chain) CrossOrigin() *http.CrossOriginProtection { return c.crossOrigin }

// SessionAuth returns the Identity slot's session login: call its Login
// in your login handler, Logout (or LogoutEverywhere) in your logout
// handler. Nil when the Identity slot has no session login.
func (c *Chain) SessionAuth() *identity.Sessions { return c.auth }

// Identity returns the Identity slot's middleware; its Identify(r) tells
// which authenticator found the user.
func (c *Chain) Identity() *identity.Middleware { return c.identity }

// SessionExpiry returns the SessionExpiry slot's middleware.
func (c *Chain) SessionExpiry() *sessionexpiry.Middleware { return c.expiry }

// LoginRequired returns the LoginRequired slot's middleware.
func (c *Chain) LoginRequired() *loginrequired.Middleware { return c.login }

// MFA returns the MFA slot's middleware: your challenge page calls its
// Begin, and the answer's handler its Complete.
func (c *Chain) MFA() *mfa.Middleware { return c.mfa }

// PasswordExpiry returns the PasswordExpiry slot's middleware: your
// password-change handler calls its Changed once the new password is
// stored.
func (c *Chain) PasswordExpiry() *passwordexpiry.Middleware { return c.password }

// Profiling returns the Profiling slot's middleware; mount its Profiles
// page behind the login gate.
func (c *Chain) Profiling() *profiling.Middleware { return c.profiling }

// CSP returns the CSP slot's middleware.
func (c *Chain) CSP() *csp.Middleware { return c.csp }

// Referrer returns the Referrer slot's middleware.
func (c *Chain) Referrer() *referrer.Middleware { return c.referrer }

// NoCache returns the NoCache slot's middleware; its Confidential(r) tells
// whether a response is kept out of caches.
func (c *Chain) NoCache() *nocache.Middleware { return c.noCache }

// ClearSite returns the ClearSite slot's middleware: your logout handler
// calls its Send before writing the answer.
func (c *Chain) ClearSite() *clearsite.Middleware { return c.clearSite }

// builder holds what New works out between checking and building.
type builder struct {
	cfg                 Config
	c                   *Chain
	loginURL, logoutURL string
	// authFromList is an *identity.Sessions the user put in
	// IdentityConfig.Authenticators, adopted as the session login.
	authFromList *identity.Sessions
}

// filled reports whether slot s is in the chain, by its Config field or a
// Custom entry.
func (b *builder) filled(s Slot) bool {
	return b.configured(s) || b.custom(s) != nil
}

// custom returns the Custom entry of s, or nil (typed nils included).
func (b *builder) custom(s Slot) Middleware {
	m := b.cfg.Custom[s]
	if check.Nil(m) {
		return nil
	}
	return m
}

// configured reports whether the Config field of slot s is set.
func (b *builder) configured(s Slot) bool {
	c := b.cfg
	switch s {
	case SlotSecure:
		return c.Secure != nil
	case SlotCrossOrigin:
		return c.CrossOrigin != nil
	case SlotSessions:
		return c.Sessions != nil
	case SlotSessionExpiry:
		return c.SessionExpiry != nil
	case SlotIdentity:
		return c.Identity != nil
	case SlotLoginRequired:
		return c.LoginRequired != nil
	case SlotMFA:
		return c.MFA != nil
	case SlotPasswordExpiry:
		return c.PasswordExpiry != nil
	case SlotProfiling:
		return c.Profiling != nil
	case SlotCSP:
		return c.CSP != nil
	case SlotReferrer:
		return c.Referrer != nil
	case SlotNoCache:
		return c.NoCache != nil
	case SlotClearSite:
		return c.ClearSite != nil
	}
	return false
}

// check finds the mistakes of the combination before anything is built
// (SessionExpiry changes the manager when it is built).
func (b *builder) check() error {
	cfg := b.cfg
	for _, s := range slices.Sorted(maps.Keys(cfg.Custom)) { // the same error at every run
		if !slices.Contains(slots, s) {
			return &ConfigError{Field: fmt.Sprintf("Custom[%q]", s), Problem: "no such slot",
				Fix: "use one of the Slot constants, such as bulwark.SlotCSP"}
		}
		if b.custom(s) == nil {
			continue
		}
		if s == SlotSessions {
			return &ConfigError{Slot: s, Field: "Custom[SlotSessions]", Problem: "the Sessions slot is the scs manager itself, which other slots read",
				Fix: "set Config.Sessions to your *scs.SessionManager"}
		}
		if b.configured(s) {
			return &ConfigError{Slot: s, Field: string(s), Problem: "the slot is set twice, here and in Custom",
				Fix: fmt.Sprintf("leave Config.%s nil to use your own middleware, or remove Custom[Slot%s]", s, s)}
		}
	}
	for i, p := range cfg.Public {
		if _, err := pathrule.Compile(pathrule.Config{Patterns: []string{p}}); err != nil {
			return &ConfigError{Field: fmt.Sprintf("Public[%d]", i), Problem: fmt.Sprintf("%q is not a route pattern (%v)", p, err),
				Fix: `write a net/http.ServeMux pattern such as "/static/", "/{$}" or "GET /health"`}
		}
		if slices.Contains(cfg.Public[:i], p) {
			return &ConfigError{Field: fmt.Sprintf("Public[%d]", i), Problem: fmt.Sprintf("%q is listed twice", p), Fix: "list it once"}
		}
	}
	if err := b.checkSecure(); err != nil {
		return err
	}
	if err := b.checkIdentity(); err != nil {
		return err
	}

	// The dependencies: a slot that reads what another puts in place.
	needs := []struct {
		slot, need Slot
		when       bool
		why        string
	}{
		{SlotSessionExpiry, SlotSessions, cfg.SessionExpiry != nil, "sessionexpiry reads the scs session, which nothing would load (every request would be a 500)"},
		{SlotMFA, SlotSessions, cfg.MFA != nil, "mfa keeps the second factor's state in the scs session, which nothing would load"},
		{SlotLoginRequired, SlotIdentity, cfg.LoginRequired != nil, "loginrequired reads the request's user, which nothing would find: every visitor would be sent to log in, forever"},
		{SlotMFA, SlotIdentity, cfg.MFA != nil, "mfa reads the request's user, which nothing would find: no one would ever be asked for the second factor"},
		{SlotPasswordExpiry, SlotIdentity, cfg.PasswordExpiry != nil, "passwordexpiry reads the request's user, which nothing would find: no one would ever be sent to change their password"},
		{SlotProfiling, SlotIdentity, cfg.Profiling != nil && cfg.Profiling.Authorize == nil, "profiling's default Authorize reads the request's user, which nothing would find: no request would ever be profiled"},
	}
	for _, n := range needs {
		if !n.when || b.filled(n.need) {
			continue
		}
		fix := "set Config.Identity (&bulwark.IdentityConfig{Lookup: yourLookup})"
		if n.need == SlotSessions {
			fix = "set Config.Sessions to your *scs.SessionManager"
		}
		if n.slot == SlotProfiling {
			fix += ", or give Config.Profiling an Authorize of its own"
		}
		return &ConfigError{Slot: n.slot, Field: string(n.need), Problem: n.why, Fix: fix}
	}

	// The shared settings: a slot may repeat them, not contradict them.
	// (Fields a slot does not have stay zero, and zero repeats nothing.)
	type shared struct {
		slot          Slot
		sessions      *scs.SessionManager
		responder     *identity.Responder
		login, logout string
	}
	var list []shared
	if c := cfg.SessionExpiry; c != nil {
		list = append(list, shared{SlotSessionExpiry, c.Sessions, c.Responder, c.LoginURL, ""})
	}
	if c := cfg.LoginRequired; c != nil {
		list = append(list, shared{SlotLoginRequired, nil, c.Responder, c.LoginURL, c.LogoutURL})
	}
	if c := cfg.MFA; c != nil {
		list = append(list, shared{SlotMFA, c.Sessions, c.Responder, c.LoginURL, c.LogoutURL})
	}
	if c := cfg.PasswordExpiry; c != nil {
		list = append(list, shared{SlotPasswordExpiry, c.Sessions, c.Responder, c.LoginURL, c.LogoutURL})
	}
	for _, s := range list {
		switch {
		case s.sessions != nil && s.sessions != cfg.Sessions:
			return &ConfigError{Slot: s.slot, Field: string(s.slot) + ".Sessions", Problem: "is not Config.Sessions, the manager whose session the chain loads",
				Fix: fmt.Sprintf("set Config.Sessions to it and leave Config.%s.Sessions nil", s.slot)}
		case s.responder != nil && s.responder != b.c.responder:
			return &ConfigError{Slot: s.slot, Field: string(s.slot) + ".Responder", Problem: "is not Config.Responder: the gates of one chain answer alike",
				Fix: fmt.Sprintf("set Config.Responder to it and leave Config.%s.Responder nil", s.slot)}
		case s.login != "" && s.login != b.loginURL:
			return &ConfigError{Slot: s.slot, Field: string(s.slot) + ".LoginURL",
				Problem: fmt.Sprintf("is %q but the chain's login page is %q (Config.LoginURL)", s.login, b.loginURL),
				Fix:     fmt.Sprintf("set Config.LoginURL to %q and leave Config.%s.LoginURL empty", s.login, s.slot)}
		case s.logout != "" && s.logout != b.logoutURL:
			return &ConfigError{Slot: s.slot, Field: string(s.slot) + ".LogoutURL",
				Problem: fmt.Sprintf("is %q but the chain's logout route is %q (Config.LogoutURL)", s.logout, b.logoutURL),
				Fix:     fmt.Sprintf("set Config.LogoutURL to %q and leave Config.%s.LogoutURL empty", s.logout, s.slot)}
		}
	}
	if c := cfg.PasswordExpiry; c != nil && c.Identity != nil {
		builds := cfg.Identity != nil && cfg.Identity.Lookup != nil // the chain builds its own
		if c.Identity.Manager() != cfg.Sessions || builds || b.authFromList != nil && b.authFromList != c.Identity {
			return &ConfigError{Slot: SlotPasswordExpiry, Field: "PasswordExpiry.Identity", Problem: "is not the Identity slot's session login on Config.Sessions",
				Fix: "leave it nil: the chain gives passwordexpiry the Identity slot's session login"}
		}
	}
	return nil
}

// checkSecure checks the Secure slot against the chain.
func (b *builder) checkSecure() error {
	o := b.cfg.Secure
	if o == nil {
		return nil
	}
	switch {
	case len(o.SSLProxyHeaders) > 0:
		return &ConfigError{Slot: SlotSecure, Field: "Secure.SSLProxyHeaders", Problem: "secure would believe these headers from any client, and count a plain-HTTP request as HTTPS",
			Fix: "leave it empty and list your TLS-terminating proxies in seclog.Config.TrustedProxies of Config.Logger"}
	case o.ContentSecurityPolicy != "" && b.filled(SlotCSP):
		return &ConfigError{Slot: SlotSecure, Field: "Secure.ContentSecurityPolicy", Problem: "the CSP slot sends the policy, and a policy already on the response would win over it (its nonce would never reach the header)",
			Fix: "leave it empty and write the policy in Config.CSP"}
	case o.ReferrerPolicy != "" && b.filled(SlotReferrer):
		return &ConfigError{Slot: SlotSecure, Field: "Secure.ReferrerPolicy", Problem: "the Referrer slot sends Referrer-Policy and replaces it",
			Fix: "leave it empty and write the policy in Config.Referrer"}
	}
	return nil
}

// checkIdentity checks the Identity slot and finds its session login.
func (b *builder) checkIdentity() error {
	c := b.cfg.Identity
	if c == nil {
		return nil
	}
	for i, a := range c.Authenticators {
		if check.Nil(a) {
			return &ConfigError{Slot: SlotIdentity, Field: fmt.Sprintf("Identity.Authenticators[%d]", i), Problem: "is nil", Fix: "remove it"}
		}
		s, ok := a.(*identity.Sessions)
		if !ok {
			continue
		}
		switch {
		case c.Lookup != nil || b.authFromList != nil:
			return &ConfigError{Slot: SlotIdentity, Field: fmt.Sprintf("Identity.Authenticators[%d]", i), Problem: "a second session login: the chain has one already",
				Fix: "give either Identity.Lookup or one *identity.Sessions in Authenticators"}
		case s.Manager() != b.cfg.Sessions:
			return &ConfigError{Slot: SlotIdentity, Field: fmt.Sprintf("Identity.Authenticators[%d]", i), Problem: "an *identity.Sessions on another manager than Config.Sessions, whose session the chain loads (scs would panic)",
				Fix: "build it on Config.Sessions, or give Identity.Lookup and let the chain build it"}
		}
		b.authFromList = s
	}
	switch {
	case c.Lookup == nil && len(c.Authenticators) == 0:
		return &ConfigError{Slot: SlotIdentity, Field: "Identity.Lookup", Problem: "the slot has no way to find a user",
			Fix: "give Lookup (func(ctx, id string) (identity.User, error)) for a session login, or Authenticators"}
	case c.Lookup != nil && b.cfg.Sessions == nil:
		return &ConfigError{Slot: SlotIdentity, Field: "Sessions", Problem: "the session login (Identity.Lookup) reads the scs session, which nothing would load",
			Fix: "set Config.Sessions to your *scs.SessionManager"}
	case c.Revoke != nil && c.Lookup == nil:
		return &ConfigError{Slot: SlotIdentity, Field: "Identity.Revoke", Problem: "Revoke is for the session login, which has no Lookup",
			Fix: "give Identity.Lookup too, or set Revoke on the *identity.Sessions you built"}
	}
	return nil
}

// build builds every slot once, after check, and lays the constructors
// out in the run order. SessionExpiry is built last: its New adjusts the
// session manager, which is left alone if another slot fails.
func (b *builder) build() error {
	cfg, c := b.cfg, b.c
	log := func(own *seclog.Logger) *seclog.Logger {
		if own != nil {
			return own
		}
		return c.logger
	}
	wrap := func(s Slot, err error) error {
		if err == nil {
			return nil
		}
		return &ConfigError{Slot: s, Err: err}
	}
	public := func(own []string) []string {
		out := slices.Clone(own)
		for _, p := range cfg.Public {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
		return out
	}
	var err error

	if o := cfg.Secure; o != nil {
		c.secure = secure.New(*o)
	}
	c.crossOrigin = cfg.CrossOrigin
	if o := cfg.ClearSite; o != nil {
		own := *o
		own.Logger = log(own.Logger)
		if c.clearSite, err = clearsite.New(own); err != nil {
			return wrap(SlotClearSite, err)
		}
	}
	if o := cfg.Identity; o != nil {
		c.auth = b.authFromList
		var authn []identity.Authenticator
		if o.Lookup != nil {
			c.auth, err = identity.NewSessions(identity.SessionsConfig{
				Sessions: cfg.Sessions, Lookup: o.Lookup, Revoke: o.Revoke, Logger: log(o.Logger), Now: o.Now,
			})
			if err != nil {
				return wrap(SlotIdentity, err)
			}
			authn = append(authn, c.auth)
		}
		authn = append(authn, o.Authenticators...)
		c.identity, err = identity.New(identity.Config{Authenticators: authn, FailOpen: o.FailOpen, Responder: c.responder, Logger: log(o.Logger)})
		if err != nil {
			return wrap(SlotIdentity, err)
		}
	}
	if o := cfg.LoginRequired; o != nil {
		own := *o
		own.Exempt = public(own.Exempt)
		own.LoginURL, own.LogoutURL = b.loginURL, b.logoutURL
		own.Responder, own.Logger = c.responder, log(own.Logger)
		if c.login, err = loginrequired.New(own); err != nil {
			return wrap(SlotLoginRequired, err)
		}
	}
	if o := cfg.MFA; o != nil {
		own := *o
		own.Sessions = cfg.Sessions
		own.Exempt = public(own.Exempt)
		own.LoginURL, own.LogoutURL = b.loginURL, b.logoutURL
		own.Responder, own.Logger = c.responder, log(own.Logger)
		if c.mfa, err = mfa.New(own); err != nil {
			return wrap(SlotMFA, err)
		}
	}
	if o := cfg.PasswordExpiry; o != nil {
		own := *o
		own.Sessions = cfg.Sessions
		if own.Identity == nil {
			own.Identity = c.auth
		}
		own.Exempt = public(own.Exempt)
		own.LoginURL, own.LogoutURL = b.loginURL, b.logoutURL
		own.Responder, own.Logger = c.responder, log(own.Logger)
		if c.password, err = passwordexpiry.New(own); err != nil {
			return wrap(SlotPasswordExpiry, err)
		}
	}
	if o := cfg.Profiling; o != nil {
		own := *o
		own.Logger = log(own.Logger)
		if c.profiling, err = profiling.New(own); err != nil {
			return wrap(SlotProfiling, err)
		}
	}
	if o := cfg.CSP; o != nil {
		own := *o
		own.Logger = log(own.Logger)
		if c.csp, err = csp.New(own); err != nil {
			return wrap(SlotCSP, err)
		}
	}
	if o := cfg.Referrer; o != nil {
		own := *o
		own.Logger = log(own.Logger)
		if c.referrer, err = referrer.New(own); err != nil {
			return wrap(SlotReferrer, err)
		}
	}
	if o := cfg.NoCache; o != nil {
		own := *o
		own.Logger = log(own.Logger)
		if own.Authenticated == nil && b.filled(SlotIdentity) {
			own.Authenticated = loggedIn
		}
		if c.noCache, err = nocache.New(own); err != nil {
			return wrap(SlotNoCache, err)
		}
	}
	if o := cfg.SessionExpiry; o != nil {
		own := *o
		own.Sessions = cfg.Sessions
		own.LoginURL = b.loginURL
		own.Responder, own.Logger = c.responder, log(own.Logger)
		if own.OnExpire == nil && c.clearSite != nil {
			cs := c.clearSite
			own.OnExpire = func(w http.ResponseWriter, r *http.Request) { _ = cs.Send(w, r) }
		}
		if c.expiry, err = sessionexpiry.New(own); err != nil {
			return wrap(SlotSessionExpiry, err)
		}
	}

	built := map[Slot]Middleware{}
	put := func(s Slot, m Middleware, ok bool) {
		if ok {
			built[s] = m
		}
	}
	put(SlotSecure, secureMiddleware{s: c.secure, isHTTPS: c.logger.IsHTTPS}, c.secure != nil)
	put(SlotCrossOrigin, crossOrigin{cop: c.crossOrigin, log: c.logger, responder: c.responder}, c.crossOrigin != nil)
	if cfg.Sessions != nil {
		built[SlotSessions] = MiddlewareFunc(cfg.Sessions.LoadAndSave)
	}
	put(SlotSessionExpiry, c.expiry, c.expiry != nil)
	put(SlotIdentity, c.identity, c.identity != nil)
	put(SlotLoginRequired, c.login, c.login != nil)
	put(SlotMFA, c.mfa, c.mfa != nil)
	put(SlotPasswordExpiry, c.password, c.password != nil)
	put(SlotProfiling, c.profiling, c.profiling != nil)
	put(SlotCSP, c.csp, c.csp != nil)
	put(SlotReferrer, c.referrer, c.referrer != nil)
	put(SlotNoCache, c.noCache, c.noCache != nil)
	put(SlotClearSite, c.clearSite, c.clearSite != nil)
	for _, s := range slots {
		m := built[s]
		if m == nil {
			m = b.custom(s)
		}
		if m != nil {
			c.constructors = append(c.constructors, m.Handler)
		}
	}
	return nil
}

// loggedIn is NoCache's Authenticated in a chain with an Identity slot.
func loggedIn(r *http.Request) bool { return identity.FromRequest(r) != nil }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// crossOrigin is the CrossOrigin slot: net/http's decision, the chain's
// answer and event.
type crossOrigin struct {
	cop       *http.CrossOriginProtection
	log       *seclog.Logger
	responder *identity.Responder
}

// refusedCrossOrigin is the Refusal of the CrossOrigin slot.
var refusedCrossOrigin = identity.Refusal{Code: "cross_origin", Reason: "cross-origin request refused"}

func (co crossOrigin) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := co.cop.Check(r); err != nil {
			site := r.Header.Get("Sec-Fetch-Site")
			reason := "origin"
			if site != "" {
				reason = "sec_fetch_site"
			}
			co.log.Log(r, seclog.CSRFRefused, seclog.String("reason", reason),
				seclog.String("sec_fetch_site", site), seclog.String("origin", r.Header.Get("Origin")),
				seclog.String("host", r.Host))
			co.responder.Refuse(w, r, refusedCrossOrigin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// secureMiddleware is the Secure slot.
type secureMiddleware struct {
	s       *secure.Secure
	isHTTPS func(*http.Request) bool
}

func (m secureMiddleware) Handler(next http.Handler) http.Handler {
	return &secureHandler{s: m.s, isHTTPS: m.isHTTPS, next: next}
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

// SecureOptions returns modern defaults for github.com/unrolled/secure,
// for Config.Secure (a new value at each call: change it as you need):
//
//   - Strict-Transport-Security: max-age of two years with includeSubDomains,
//     sent only on HTTPS requests. Which requests are HTTPS is the suite's
//     one rule (seclog.Config.TrustedProxies): in a [Chain] whose Logger
//     trusts your TLS-terminating proxy, its X-Forwarded-Proto: https
//     counts, and nobody else's. The options set no SSLProxyHeaders, which
//     secure would believe from any client (New refuses them). Used
//     outside a Chain, secure sees only TLS connections to this server as
//     HTTPS. Preload is left to you: it is hard to undo.
//   - X-Content-Type-Options: nosniff.
//   - X-Frame-Options: DENY (for browsers without CSP frame-ancestors; the
//     csp package's policy sets frame-ancestors itself: 'self' in csp.Strict).
//   - X-XSS-Protection: 0: the old XSS auditors are off in every browser
//     and were themselves a source of leaks; "0" is the current advice.
//   - Cross-Origin-Opener-Policy: same-origin.
//   - Cross-Origin-Resource-Policy: same-origin.
//
// SSLRedirect stays off: redirect to HTTPS at your proxy or load balancer.
// If you turn it on, give the Chain a Logger that trusts the proxy, or
// every request that reached the proxy over HTTPS is redirected again.
// Referrer-Policy and Content-Security-Policy are left to the referrer and
// csp packages.
func SecureOptions() *secure.Options {
	return &secure.Options{
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
