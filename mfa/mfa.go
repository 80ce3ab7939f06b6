// Package mfa is the second-factor gate of the bulwark suite: a user who
// has logged in with a password must also pass a second factor in the same
// session before reaching anything but the challenge, logout and the
// exempt routes. It is django-duo-universal-auth's middleware done right:
//
//   - a [Verifier] checks the factor: TOTP is built in (package mfa/totp,
//     with a replay guard and an attempt limit), Duo's Universal Prompt is
//     package mfa/duo, other providers plug in; the gate takes several, in
//     order of preference, and a user passes with any one they have
//     ([Middleware.BeginMethod] switches);
//   - the session's state (pending, verified, bypassed, when, which method)
//     lives in the user's scs session, bound to the user id and the login
//     time, so a state left by someone else or by an earlier login counts
//     for nothing;
//   - a stray request while the challenge is pending (a favicon, a
//     parallel XHR) is refused through the shared identity.Responder and
//     nothing more: the user is never logged out by it;
//   - the session token is renewed when the user passes (session
//     fixation), and the return path is kept in the session, judged by
//     identity.SafeNext when it is stored and again when it is used;
//   - the fail mode is exactly [Closed] (default) or [Open]; each
//     provider's health is asked when a challenge begins, cached for a few
//     seconds; a challenge begins with the user's next factor when one is
//     down, the fail mode applies only when none can begin, and every
//     fail-open bypass is a Warn event;
//   - [Middleware.RequireRecent] asks again for the factor on sensitive
//     routes when the last one is too old (step-up).
//
// The gate runs after scs's LoadAndSave, the identity middleware and
// loginrequired in the bulwark chain (the MFA slot); anonymous requests pass
// it untouched. Before LoadAndSave, a logged-in user's request is a 500 and
// a seclog.SessionNotLoaded event, where scs would panic.
//
// The application serves the challenge page ([Config.ChallengeURL]): on
// GET it calls [Middleware.Begin] (and follows its redirect, or shows a
// form), and on POST (or the provider's callback, [Config.CallbackURL]) it
// calls [Middleware.Complete] and redirects to the path it returns, with
// identity.Redirect (http.Redirect would clean the path after it was
// judged, and make another URL of it).
package mfa

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/gate"
	"github.com/bulwark-go/bulwark/seclog"
)

// Code is the "error" member of the JSON body of a refusal, for scripts.
const Code = "mfa_required"

// Defaults of the durations of [Config].
const (
	DefaultHealthTTL     = 10 * time.Second
	DefaultHealthTimeout = 5 * time.Second
	DefaultBypassFor     = 5 * time.Minute
	DefaultCacheTTL      = time.Minute
	DefaultChallengeTTL  = 10 * time.Minute
)

// Config configures the gate. Sessions and Verifiers are required; the
// zero value of every other field is the secure default.
type Config struct {
	// Sessions is the scs session manager of the identity.Sessions login:
	// the gate keeps its state in the user's session. Required.
	Sessions *scs.SessionManager
	// Verifiers check the second factor, one per method (for example a
	// *totp.Verifier and a passkey verifier), in order of preference: a
	// challenge begins with the first one the user is enrolled in (see
	// [EnrollmentChecker]), and the user may switch to any other they have
	// ([Middleware.BeginMethod]); passing one is passing the second
	// factor. At least one; none nil; no two with the same Method.
	Verifiers []Verifier
	// Required reports whether a user must pass a second factor. Nil, the
	// default, means every user must. An application where only enrolled
	// users are asked gives [AnyEnrolled](verifiers...) here (or, with one
	// TOTP verifier, its Required method). An error refuses the request
	// with 503 (fail closed). Its answer "no" is cached in the session for
	// CacheTTL.
	Required func(ctx context.Context, u identity.User) (bool, error)
	// ChallengeURL is the challenge page (default "/mfa"). A path on this
	// site is exempt automatically, for every method.
	ChallengeURL string
	// CallbackURL, if set, is where the provider sends the user back (a
	// Duo redirect_uri); it is exempt too.
	CallbackURL string
	// LoginURL (default "/login") and LogoutURL (default "/logout") are
	// exempt automatically: a user who cannot pass can always log out.
	LoginURL, LogoutURL string
	// Exempt lists more routes a pending user may use, as ServeMux
	// patterns ("/static/", "/favicon.ico").
	Exempt []string
	// ExemptRegexps lists exempt routes as Django-style regular
	// expressions, for porting a django-duo-universal-auth configuration.
	// Prefer Exempt.
	ExemptRegexps []string
	// FailMode is [Closed] (default) or [Open]; any other value is an error.
	FailMode FailMode
	// HealthTTL is how long the provider's health is cached (default 10s).
	HealthTTL time.Duration
	// HealthTimeout bounds one health check (default 5s).
	HealthTimeout time.Duration
	// BypassFor is how long a fail-open bypass lasts before the gate asks
	// for the factor again (default 5 minutes).
	BypassFor time.Duration
	// CacheTTL bounds how long a "not required" answer of Required stays
	// cached in a session (default one minute).
	CacheTTL time.Duration
	// ChallengeTTL is how long a challenge may take from Begin to
	// Complete (default 10 minutes).
	ChallengeTTL time.Duration
	// NextHosts lists the hosts (as a Host header carries them) an absolute
	// https return path may point at, for identity.SafeNext. Empty means
	// same-site paths only.
	NextHosts []string
	// DefaultNext is where Complete sends the user when no return path was
	// kept (default "/").
	DefaultNext string
	// SkipNonSession lets through the requests of users who are not logged
	// in to an scs session (bearer tokens, basic authentication), which
	// cannot take a challenge. The default refuses them: issue such
	// credentials only after a second factor, then set it.
	SkipNonSession bool
	// Responder answers refusals; nil means identity.NewResponder with its
	// defaults. Share one Responder between all the gates of an application.
	Responder *identity.Responder
	// Unavailable, if set, writes the 503 answer instead of the built-in
	// small JSON one.
	Unavailable http.Handler
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Outcome is what the gate decides for a request.
type Outcome uint8

const (
	// Pass lets the request through.
	Pass Outcome = iota
	// Challenge refuses the request: the user must pass the second factor.
	Challenge
	// Unavailable means the gate could not decide (the error of
	// [Middleware.Check]): Config.Required could not answer (503), or the
	// session was not loaded (500).
	Unavailable
)

var outcomeNames = []string{"pass", "challenge", "unavailable"}

// String returns "pass", "challenge" or "unavailable".
func (o Outcome) String() string { return gate.String(o, outcomeNames) }

// A Decision is the gate's verdict on one request.
type Decision struct {
	// Outcome is what the gate does with the request.
	Outcome Outcome
	// State is the session's state as read (None for a request without a
	// session of its user).
	State State
	// Reason says why, for Challenge: "pending" (no factor yet), "no-session"
	// (not an scs session of the user), "step-up" (too old for a
	// RequireRecent route); for Pass without a factor: "anonymous",
	// "exempt", "no-session" (SkipNonSession), "not-required".
	Reason string
	// Exempt is the exempt rule that let the request pass.
	Exempt string
}

var methodRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Middleware is the second-factor gate. It is safe for concurrent use.
type Middleware struct {
	core         *gate.Core
	sm           *scs.SessionManager
	factors      []*factor // Config.Verifiers, in order of preference
	required     func(context.Context, identity.User) (bool, error)
	challengeURL string
	callbackPath string // Config.CallbackURL's path, "" when none or the challenge page's
	failMode     FailMode
	healthTTL    time.Duration
	healthTO     time.Duration
	bypassFor    time.Duration
	cacheTTL     time.Duration
	challengeTTL time.Duration
	nextHosts    []string
	defaultNext  string
	skipNonSess  bool
	responder    *identity.Responder
	log          *seclog.Logger
	now          func() time.Time
}

// New returns the gate for cfg, or an error naming the field that is wrong.
func New(cfg Config) (*Middleware, error) {
	if cfg.Sessions == nil {
		return nil, errors.New("mfa: Config.Sessions is nil: give the *scs.SessionManager of your identity.Sessions login")
	}
	factors, err := newFactors(cfg.Verifiers)
	if err != nil {
		return nil, err
	}
	if cfg.FailMode != Closed && cfg.FailMode != Open {
		return nil, fmt.Errorf("mfa: Config.FailMode %v: write mfa.Closed (the default) or mfa.Open; read configuration text with mfa.ParseFailMode", cfg.FailMode)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"HealthTTL", cfg.HealthTTL}, {"HealthTimeout", cfg.HealthTimeout}, {"BypassFor", cfg.BypassFor}, {"CacheTTL", cfg.CacheTTL}, {"ChallengeTTL", cfg.ChallengeTTL}} {
		if d.v < 0 {
			return nil, fmt.Errorf("mfa: Config.%s %v is negative: write 0 for the default, or a positive duration", d.field, d.v)
		}
	}
	m := &Middleware{
		sm: cfg.Sessions, factors: factors, required: cfg.Required,
		challengeURL: cfg.ChallengeURL, failMode: cfg.FailMode,
		healthTTL: orDefault(cfg.HealthTTL, DefaultHealthTTL), healthTO: orDefault(cfg.HealthTimeout, DefaultHealthTimeout),
		bypassFor: orDefault(cfg.BypassFor, DefaultBypassFor), cacheTTL: orDefault(cfg.CacheTTL, DefaultCacheTTL),
		challengeTTL: orDefault(cfg.ChallengeTTL, DefaultChallengeTTL),
		nextHosts:    cfg.NextHosts, defaultNext: cfg.DefaultNext, skipNonSess: cfg.SkipNonSession,
	}
	if m.challengeURL == "" {
		m.challengeURL = "/mfa"
	}
	if m.defaultNext == "" {
		m.defaultNext = "/"
	}
	if !identity.SafeNext(m.defaultNext, m.nextHosts, true) {
		return nil, fmt.Errorf("mfa: Config.DefaultNext %q is not a safe redirect target (identity.SafeNext): write a path such as \"/\"", cfg.DefaultNext)
	}
	core, err := gate.New(gate.Config{
		Name: "mfa", Exempt: cfg.Exempt, ExemptRegexps: cfg.ExemptRegexps,
		Pages:    []gate.Page{{Field: "ChallengeURL", URL: m.challengeURL}, {Field: "CallbackURL", URL: cfg.CallbackURL}},
		LoginURL: cfg.LoginURL, LogoutURL: cfg.LogoutURL,
		Responder: cfg.Responder, Unavailable: cfg.Unavailable, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	m.core, m.responder, m.log, m.now = core, core.Responder, core.Log, core.Now
	if u, err := url.Parse(cfg.CallbackURL); err == nil && u.Path != "" && u.Path != pathOf(m.challengeURL) {
		m.callbackPath = u.Path
	}
	return m, nil
}

// pathOf returns the path of a URL or path, "" when it does not parse.
func pathOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Path
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Check judges r: the decision of [Middleware.Handler], apart from the
// response. It reads the session's state; the only write is the cached
// answer of Config.Required when it says "not required". An error means
// the gate could not decide (Outcome Unavailable): Required's error, or
// one wrapping identity.ErrSessionNotLoaded when the manager's LoadAndSave
// did not run before the gate.
func (m *Middleware) Check(r *http.Request) (Decision, error) {
	u := identity.FromRequest(r)
	if u == nil {
		return Decision{Outcome: Pass, Reason: "anonymous"}, nil
	}
	ctx := r.Context()
	b, err := m.session(ctx, u.ID())
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			return Decision{Outcome: Unavailable}, err
		}
		if m.skipNonSess {
			return Decision{Outcome: Pass, Reason: "no-session"}, nil
		}
		return m.exemptOr(r, Decision{Reason: "no-session"}), nil
	}
	now := m.now()
	v := readVerdict(m.sm, ctx, b)
	switch v.state {
	case Verified:
		return Decision{Outcome: Pass, State: Verified}, nil
	case Bypassed:
		if fresh(v.at, now, m.bypassFor) {
			return Decision{Outcome: Pass, State: Bypassed}, nil
		}
	case NotRequired:
		if fresh(v.at, now, m.cacheTTL) {
			return Decision{Outcome: Pass, State: NotRequired, Reason: "not-required"}, nil
		}
	}
	st := None
	if _, ok := readChallenge(m.sm, ctx, b); ok {
		st = Pending
	}
	if pattern, ok := m.core.Exempt(r); ok {
		// Required is not asked: an exempt route never waits for it.
		return Decision{Outcome: Pass, State: st, Reason: "exempt", Exempt: pattern}, nil
	}
	if m.required != nil {
		need, err := m.required(ctx, u)
		if err != nil {
			return Decision{Outcome: Unavailable, State: st}, err
		}
		if !need {
			writeVerdict(m.sm, ctx, b, verdict{state: NotRequired, at: now})
			return Decision{Outcome: Pass, State: NotRequired, Reason: "not-required"}, nil
		}
	}
	return Decision{Outcome: Challenge, State: st, Reason: "pending"}, nil
}

// fresh reports whether a state reached at at still holds at now for ttl
// (a time in the future, a clock gone back, does not hold).
func fresh(at, now time.Time, ttl time.Duration) bool {
	return !at.After(now) && now.Sub(at) < ttl
}

func (m *Middleware) exemptOr(r *http.Request, d Decision) Decision {
	if pattern, ok := m.core.Exempt(r); ok {
		d.Outcome, d.Exempt = Pass, pattern
		return d
	}
	d.Outcome = Challenge
	return d
}

// Handler returns next behind the gate.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := m.Check(r)
		switch {
		case err != nil:
			m.core.Fail(w, r, err, seclog.MFAStoreError, seclog.String("error", err.Error()))
		case d.Outcome == Challenge:
			m.refuse(w, r, d.Reason)
		default:
			if d.Reason != "anonymous" && m.core.Own(d.Exempt) {
				// A user on their way through the challenge: the gates
				// after this one wait until it is done.
				r = identity.WithPending(r, "mfa")
			}
			next.ServeHTTP(w, r)
		}
	})
}

// refuse keeps the return path of a page navigation and answers through
// the Responder. The return path is never put in the challenge URL: it is
// kept in the session, so nothing the client sends to the challenge page
// can change where Complete sends the user.
func (m *Middleware) refuse(w http.ResponseWriter, r *http.Request, reason string) {
	kind := m.responder.Kind(r)
	if kind == identity.Navigation && topLevel(r) {
		m.keepNext(r, r.URL.RequestURI())
	}
	m.core.Refuse(w, r, identity.Refusal{Code: Code, Reason: reason, Location: m.challengeURL, Unauthenticated: true},
		seclog.MFARequired, zap.String("reason", reason), zap.Stringer("client", kind))
}

// topLevel reports whether r is a page load a person would want to come
// back to: GET or HEAD, and, when the browser says so, a navigation to a
// document (not a favicon, an image or a script).
func topLevel(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	h := r.Header
	if mode := h.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return false
	}
	if dest := h.Get("Sec-Fetch-Dest"); dest != "" && dest != "document" {
		return false
	}
	return true
}

// keepNext stores next as the session's return path when SafeNext accepts
// it and it does not lead back to the challenge.
func (m *Middleware) keepNext(r *http.Request, next string) bool {
	u := identity.FromRequest(r)
	if u == nil || !m.safeNext(next) {
		return false
	}
	b, err := m.session(r.Context(), u.ID())
	if err != nil {
		return false
	}
	writeNext(m.sm, r.Context(), b, next)
	return true
}

func (m *Middleware) safeNext(next string) bool {
	if !identity.SafeNext(next, m.nextHosts, true) {
		return false
	}
	p := next
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return p != m.challengeURL
}

// SetNext keeps next as the return path of r's session, for a login
// handler that received a "next" parameter: call it after
// identity.Sessions.Login (the session's user is the one just logged in);
// after the second factor, Complete returns it. It reports whether next was kept: it must pass
// identity.SafeNext (same site, or one of Config.NextHosts over https) and
// not lead back to the challenge page.
func (m *Middleware) SetNext(r *http.Request, next string) bool {
	if !m.safeNext(next) {
		return false
	}
	ctx := r.Context()
	if m.core.Session(ctx, m.sm) != nil {
		return false
	}
	b, err := m.session(ctx, m.sm.GetString(ctx, identity.SessionUserKey))
	if err != nil {
		return false
	}
	writeNext(m.sm, ctx, b, next)
	return true
}

// Status returns the standing of r's session with the second factor
// (None for a request without a session of its user).
func (m *Middleware) Status(r *http.Request) Status {
	u := identity.FromRequest(r)
	if u == nil {
		return Status{}
	}
	ctx := r.Context()
	b, err := m.session(ctx, u.ID())
	if err != nil {
		return Status{}
	}
	v := readVerdict(m.sm, ctx, b)
	if v.state == Verified || v.state == Bypassed || v.state == NotRequired {
		return Status{State: v.state, At: v.at, Method: v.method}
	}
	if c, ok := readChallenge(m.sm, ctx, b); ok {
		return Status{State: Pending, At: c.began, Method: c.method}
	}
	return Status{}
}

// Start is what [Middleware.Begin] tells the challenge page to do.
type Start struct {
	// Redirect, if set, is where to send the user (the provider's prompt),
	// with identity.Redirect. Empty means: show your form (TOTP), with
	// Options for its script when the verifier gave some.
	Redirect string
	// Options, if set, is the verifier's JSON for a ceremony the page's
	// script runs in the browser (a passkey's request options); see
	// [Prompt].
	Options json.RawMessage
	// Bypassed is true when the provider could not answer and fail mode
	// Open let the user in: redirect to Next.
	Bypassed bool
	// Next is the return path, for Bypassed, judged as Complete's is:
	// write it with identity.Redirect.
	Next string
	// Method is the method of the challenge that began (or, with an
	// error, of the one that was asked for; "" for an unknown one).
	Method string
	// Alternatives are the other methods the user may switch to, in order
	// of preference, for links such as "use a passkey instead" that call
	// [Middleware.BeginMethod]. A method whose verifier cannot tell
	// whether the user has it (Duo) is listed; switching to it may then
	// return ErrNotEnrolled.
	Alternatives []string
}

// Begin starts a challenge for the user of r: called by the challenge
// page (GET). It begins with the first of Config.Verifiers the user is
// enrolled in: it asks that provider's health (cached), stores a new
// one-time state in the session (replacing any challenge under way) and
// asks the verifier to begin. When that provider cannot answer, the next
// factor the user has is begun instead (each skipped one is an
// mfa.unavailable event); when none can, the fail mode applies: an error
// wrapping [ErrUnavailable] (Closed: answer 503), or a Start with Bypassed
// (Open). A user who has no factor gets an error wrapping
// [ErrNotEnrolled] (send them to enrol, or refuse). A request without a
// session of its user gets [ErrNoSession]; one whose session the manager's
// LoadAndSave did not load, an error wrapping
// identity.ErrSessionNotLoaded. When the request's own context ends while
// a provider is asked (the client hung up), that is no outage: no fail
// mode applies, and the error wraps the context's error
// (context.Canceled): write nothing.
func (m *Middleware) Begin(w http.ResponseWriter, r *http.Request) (Start, error) {
	return m.begin(r, "", false)
}

// BeginMethod is [Middleware.Begin] for the method the user chose among
// Start.Alternatives ("use a passkey instead"): it begins a challenge of
// that method, which replaces the challenge under way (a session holds
// one challenge at a time, so the answer to the old one is refused with
// ErrState from then on). method comes from the client: a method no
// verifier has returns an error wrapping [ErrUnknownMethod], one the user
// is not enrolled in an error wrapping [ErrNotEnrolled]; each is an
// mfa.failure event and leaves the challenge under way as it was. Call
// Begin, not BeginMethod, when the user chose nothing ("" is unknown).
//
// Choosing a method never weakens the gate: when the chosen provider is
// down, the user's other factors are tried as in Begin, and fail mode
// Open bypasses only when none of them can begin, so a client cannot
// turn one provider's outage into a bypass while another factor works.
func (m *Middleware) BeginMethod(w http.ResponseWriter, r *http.Request, method string) (Start, error) {
	return m.begin(r, method, true)
}

// begin begins the challenge of the user's first factor, or of the factor
// of method when chosen, falling over to the user's next factors while a
// provider is down.
func (m *Middleware) begin(r *http.Request, method string, chosen bool) (Start, error) {
	u := identity.FromRequest(r)
	if u == nil {
		return Start{}, ErrNoSession
	}
	ctx := r.Context()
	b, err := m.session(ctx, u.ID())
	if err != nil {
		return Start{}, err
	}
	if chosen && m.factor(method) == nil {
		m.log.Log(r, seclog.MFAFailure, seclog.String("mfa_method", method), zap.String("reason", "unknown_method"))
		return Start{}, fmt.Errorf("%w: %q", ErrUnknownMethod, seclog.Sanitize(method))
	}
	usable := m.usable(ctx, u.ID())
	try := usable
	if chosen {
		i := slices.IndexFunc(usable, func(f *factor) bool { return f.method == method })
		if i < 0 {
			m.log.Log(r, seclog.MFAFailure, zap.String("mfa_method", method), zap.String("reason", "not_enrolled"))
			return Start{Method: method, Alternatives: methods(usable, nil)}, fmt.Errorf("mfa: %s: %w", method, ErrNotEnrolled)
		}
		try = append([]*factor{usable[i]}, without(usable, usable[i])...) // the chosen one first
	}
	var down outages
	for _, f := range try {
		state, err := newState()
		if err != nil { // no randomness is no provider's outage: never a bypass
			return Start{Method: f.method}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		prompt, err := m.beginFactor(ctx, f, u.ID(), state)
		switch {
		case err == nil:
			for _, d := range down {
				m.log.Log(r, seclog.MFAUnavailable, zap.String("mfa_method", d.f.method), seclog.String("error", d.err.Error()), zap.Bool("fail_open", false))
			}
			writeChallenge(m.sm, ctx, b, challenge{state: state, began: m.now(), method: f.method, redirected: prompt.Redirect != ""})
			m.log.Log(r, seclog.MFAChallenge, zap.String("mfa_method", f.method))
			return Start{Redirect: prompt.Redirect, Options: prompt.Options, Method: f.method, Alternatives: methods(usable, f)}, nil
		case ctx.Err() != nil:
			return Start{Method: f.method}, m.requestEnded(r, f.method, err)
		case errors.Is(err, ErrNotEnrolled):
			if chosen && f.method == method {
				// The chosen method: the user said they have it, the
				// verifier says they do not. No fall-over to another.
				m.log.Log(r, seclog.MFAFailure, zap.String("mfa_method", method), zap.String("reason", "not_enrolled"))
				return Start{Method: method, Alternatives: methods(usable, f)}, err
			}
			usable = without(usable, f)
		default:
			down = append(down, downFactor{f, err})
		}
	}
	if len(down) > 0 {
		return m.outage(r, b, down)
	}
	first := method
	if !chosen {
		first = m.factors[0].method
	}
	m.log.Log(r, seclog.MFAFailure, zap.String("mfa_method", first), zap.String("reason", "not_enrolled"))
	return Start{Method: first}, fmt.Errorf("mfa: no second factor of this user can begin: %w", ErrNotEnrolled)
}

// beginFactor asks f's provider's health, then its verifier to begin the
// challenge of state.
func (m *Middleware) beginFactor(ctx context.Context, f *factor, userID, state string) (Prompt, error) {
	if err := m.health(ctx, f); err != nil {
		return Prompt{}, err
	}
	return f.v.Begin(ctx, userID, state)
}

// without returns fs without f (a new slice: fs may be m.factors).
func without(fs []*factor, f *factor) []*factor {
	out := make([]*factor, 0, len(fs))
	for _, g := range fs {
		if g != f {
			out = append(out, g)
		}
	}
	return out
}

// outage applies the fail mode when no factor of the user could begin: the
// event and the bypass name the first (the preferred) that was down, the
// error all of them.
func (m *Middleware) outage(r *http.Request, b binding, down outages) (Start, error) {
	ctx := r.Context()
	method := down[0].f.method
	if m.failMode == Open {
		writeVerdict(m.sm, ctx, b, verdict{state: Bypassed, at: m.now(), method: method})
		m.sm.Remove(ctx, SessionChallengeKey)
		m.log.Log(r, seclog.MFABypassed, zap.String("mfa_method", method), seclog.String("error", down.Error()))
		return Start{Bypassed: true, Next: m.popNext(ctx, b), Method: method}, nil
	}
	m.log.Log(r, seclog.MFAUnavailable, zap.String("mfa_method", method), seclog.String("error", down.Error()), zap.Bool("fail_open", false))
	return Start{Method: method}, fmt.Errorf("%w: %v", ErrUnavailable, down)
}

// requestEnded is called when the verifier of method failed while r's
// own context was done. The verifier's err then says nothing about the
// provider: the client hung up, or the server's deadline for the request
// passed. No fail mode applies (no bypass, no refusal), nothing is cached,
// no outage is logged: an Info mfa.abandoned event records it, and the
// error returned wraps the context's error (context.Canceled when the
// client left).
func (m *Middleware) requestEnded(r *http.Request, method string, err error) error {
	m.log.Log(r, seclog.MFAAbandoned, zap.String("mfa_method", method), seclog.String("error", err.Error()))
	return fmt.Errorf("mfa: the request ended before the verifier answered: %w", r.Context().Err())
}

// MethodField is the form (or query) field in which a challenge page that
// offers several methods names the method its answer is for (a hidden
// input). [Middleware.Complete] refuses an answer whose MethodField is not
// the method of the challenge under way with ErrState, instead of handing
// it to that challenge's verifier, where it would count as a wrong answer
// (a code typed in a tab left open after the user switched to a passkey).
// Without the field, the answer goes to the challenge's verifier, which
// refuses what it cannot read.
const MethodField = "mfa_method"

// MaxAnswerBytes bounds the form body of an answer that Complete reads
// (for [MethodField]) before any verifier does: a larger answer is
// refused unread (mfa.failure, reason oversize). A code or a passkey's
// assertion is a few kilobytes at most.
const MaxAnswerBytes = 64 << 10

// answerMethod returns the [MethodField] of r's query or url-encoded form
// body, reading at most [MaxAnswerBytes] of the body (a multipart body is
// not read: its verifier parses it). The form stays parsed for the
// verifier.
func answerMethod(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, MaxAnswerBytes)
	}
	if err := r.ParseForm(); err != nil {
		return "", err
	}
	return r.Form.Get(MethodField), nil
}

// Complete checks the user's answer (the challenge form's POST, or the
// provider's callback) against the challenge begun in this session, with
// the verifier of that challenge's method (never another: an answer that
// names another method in [MethodField] is refused with ErrState). When
// the user passes, the session token is renewed, the session marked
// verified, and the return path returned (checked again by SafeNext;
// Config.DefaultNext when none was kept): redirect to it with
// identity.Redirect and 303, never http.Redirect. A
// refused answer returns an error wrapping [ErrInvalid], [ErrReplay],
// [ErrLocked], [ErrNotEnrolled] or [ErrState] (show the form again, or
// begin again for ErrState); an error wrapping [ErrUnavailable] means the
// verifier could not tell: answer 503; an error wrapping the context's
// error means the request ended while the verifier was asked (write
// nothing; the challenge stays); as for Begin, [ErrNoSession] or an error
// wrapping identity.ErrSessionNotLoaded means no session of the user. Each
// outcome is a security event.
func (m *Middleware) Complete(w http.ResponseWriter, r *http.Request) (next string, err error) {
	u := identity.FromRequest(r)
	if u == nil {
		return "", ErrNoSession
	}
	ctx := r.Context()
	b, err := m.session(ctx, u.ID())
	if err != nil {
		return "", err
	}
	now := m.now()
	c, ok := readChallenge(m.sm, ctx, b)
	var f *factor
	if ok {
		f = m.factor(c.method)
	}
	if f == nil {
		m.log.Log(r, seclog.MFAStateMismatch, zap.String("mfa_method", c.method), zap.String("reason", "no_challenge"))
		return "", fmt.Errorf("%w: none begun", ErrState)
	}
	if !fresh(c.began, now, m.challengeTTL) {
		m.sm.Remove(ctx, SessionChallengeKey)
		m.log.Log(r, seclog.MFAStateMismatch, zap.String("mfa_method", f.method), zap.String("reason", "expired"))
		return "", fmt.Errorf("%w: the challenge expired", ErrState)
	}
	asked, err := answerMethod(w, r)
	if err != nil {
		reason := "malformed"
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			reason = "oversize"
		}
		m.log.Log(r, seclog.MFAFailure, zap.String("mfa_method", f.method), zap.String("reason", reason))
		return "", fmt.Errorf("%w: %s answer: %v", ErrInvalid, reason, err)
	}
	if asked != "" && asked != f.method {
		m.log.Log(r, seclog.MFAStateMismatch, zap.String("mfa_method", f.method), zap.String("reason", "other_method"))
		return "", fmt.Errorf("%w: the answer is for %q, the challenge under way is %q", ErrState, seclog.Sanitize(asked), f.method)
	}
	if m.callbackPath != "" && r.URL.Path == m.callbackPath && !c.redirected {
		// A provider's callback (it cannot carry MethodField) for a
		// challenge of the page's own form: the user switched after
		// going to the provider. It is no answer to this challenge.
		m.log.Log(r, seclog.MFAStateMismatch, zap.String("mfa_method", f.method), zap.String("reason", "other_method"))
		return "", fmt.Errorf("%w: a provider's callback, the challenge under way is %q", ErrState, f.method)
	}
	rr := withFactor(r)
	err = f.v.Complete(rr, u.ID(), c.state)
	switch {
	case err == nil:
	case errors.Is(err, ErrReplay):
		m.log.Log(r, seclog.MFAReplay, zap.String("mfa_method", f.method))
		return "", err
	case errors.Is(err, ErrLocked):
		m.log.Log(r, seclog.MFALocked, zap.String("mfa_method", f.method))
		return "", err
	case errors.Is(err, ErrState):
		m.log.Log(r, seclog.MFAStateMismatch, zap.String("mfa_method", f.method), zap.String("reason", "mismatch"))
		return "", err
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrNotEnrolled):
		reason := "invalid"
		if errors.Is(err, ErrNotEnrolled) {
			reason = "not_enrolled"
		}
		m.log.Log(r, seclog.MFAFailure, zap.String("mfa_method", f.method), zap.String("reason", reason))
		return "", err
	case ctx.Err() != nil:
		return "", m.requestEnded(r, f.method, err)
	default:
		m.log.Log(r, seclog.MFAUnavailable, zap.String("mfa_method", f.method), seclog.String("error", err.Error()), zap.Bool("fail_open", false))
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	next = m.popNext(ctx, b)
	// Session fixation: the token that carried the password-only session
	// does not carry the verified one.
	if err := identity.RenewToken(ctx, m.sm); err != nil {
		m.log.Log(r, seclog.MFAUnavailable, zap.String("mfa_method", f.method), seclog.String("error", err.Error()), zap.Bool("fail_open", false))
		return "", fmt.Errorf("%w: renew the session token: %v", ErrUnavailable, err)
	}
	m.sm.Remove(ctx, SessionChallengeKey)
	writeVerdict(m.sm, ctx, b, verdict{state: Verified, at: now, method: f.method})
	m.log.Log(r, seclog.MFASuccess, zap.String("mfa_method", f.method), zap.String("factor", Factor(rr)))
	return next, nil
}

// popNext returns and forgets the session's return path, judged again, or
// the default.
func (m *Middleware) popNext(ctx context.Context, b binding) string {
	next := readNext(m.sm, ctx, b)
	m.sm.Remove(ctx, SessionNextKey)
	if next == "" || !m.safeNext(next) {
		return m.defaultNext
	}
	return next
}

// Reset forgets the second factor of r's session (the user must pass it
// again), for an application that lowers a session's privilege without
// logging out.
func (m *Middleware) Reset(r *http.Request) {
	ctx := r.Context()
	if m.core.Session(ctx, m.sm) != nil {
		return // no session loaded: nothing to forget
	}
	m.sm.Remove(ctx, SessionKey)
	m.sm.Remove(ctx, SessionChallengeKey)
	m.sm.Remove(ctx, SessionNextKey)
}

// newState returns a one-time challenge state: 32 random bytes, base64url.
func newState() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// WriteUnavailable writes the gate's 503 answer (Config.Unavailable, or a
// small JSON body), for a challenge page whose Begin or Complete returned
// an error wrapping [ErrUnavailable].
func (m *Middleware) WriteUnavailable(w http.ResponseWriter, r *http.Request) {
	m.core.WriteUnavailable(w, r)
}

type factorKey struct{}

// Factor returns the kind of answer a verifier accepted for r ("code",
// "recovery_code"), as the verifier recorded it with [WithFactor], or
// "" when it recorded none.
func Factor(r *http.Request) string {
	if p, ok := r.Context().Value(factorKey{}).(*string); ok {
		return *p
	}
	return ""
}

// withFactor returns a request whose context lets a verifier record, with
// [SetFactor], which kind of answer it accepted; the gate passes such a
// request to Verifier.Complete.
func withFactor(r *http.Request) *http.Request {
	s := ""
	return r.WithContext(context.WithValue(r.Context(), factorKey{}, &s))
}

// SetFactor records, from inside Verifier.Complete, which kind of answer
// was accepted ("code", "recovery_code"), for the "factor" field of
// [seclog.MFASuccess]. It does nothing outside Complete.
func SetFactor(r *http.Request, factor string) {
	if p, ok := r.Context().Value(factorKey{}).(*string); ok {
		*p = factor
	}
}
