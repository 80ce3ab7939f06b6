// Package passwordexpiry is the mandatory-password-change gate of the
// bulwark suite: a logged-in user who must change their password is sent
// to the change page until they do. It is django-security's
// MandatoryPasswordChange done the way NIST SP 800-63B asks:
//
//   - a [Store] keeps, per user, when the password was last changed and
//     why a change is required ([FirstLogin], [AdminReset], [Compromised],
//     [Temporary]); a user without a record is never forced (installing
//     the gate does not force every existing user to change);
//   - periodic expiry ([Config.MaxAge]) is off by default, for PCI DSS
//     sites that need it;
//   - refusals go through the suite's shared identity.Responder: a
//     navigation gets 303 to the change page (with "next"), a script 403
//     JSON {"error":"password_change_required",…}, htmx HX-Redirect;
//   - the change page, the login and logout pages and the [Config.Exempt]
//     routes (ServeMux patterns, such as "/static/") are exempt;
//   - after a change, the application calls [Middleware.Changed] and the
//     user is free at once;
//   - the verdict is cached in the user's scs session for [Config.CacheTTL]
//     (one minute by default), so the store is not asked on every request;
//     a new flag set elsewhere takes effect within that bound;
//   - a store error is a 503 and a security event (fail closed), unless
//     [Config.FailOpen];
//   - a session logged in through an identity provider (identity/oidc:
//     identity.MethodFederated) passes unjudged, since the provider owns
//     its password, unless [Config.JudgeFederatedLogins].
//
// The gate runs after the identity middleware and loginrequired, and after
// mfa, in the bulwark chain: anonymous requests pass it untouched.
package passwordexpiry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/gate"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// DefaultCacheTTL is how long a verdict stays cached in a session when
// [Config.CacheTTL] is zero.
const DefaultCacheTTL = time.Minute

// Code is the "error" member of the JSON body of a refusal, for scripts.
const Code = "password_change_required"

// Config configures the gate. Only Store is required; the zero value of
// every other field is the secure default.
type Config struct {
	// Store keeps the users' records. Required: NewMemoryStore() for one
	// process, passwordexpiry/sqlstore for SQLite or PostgreSQL.
	Store Store
	// ChangeURL is the password-change page (default "/password/change").
	// A path on this site is exempt automatically, for every method.
	ChangeURL string
	// LoginURL (default "/login") and LogoutURL (default "/logout") are
	// exempt automatically, for every method: a user who must change their
	// password can still log out.
	LoginURL, LogoutURL string
	// Exempt lists more routes a user who must change may use, as ServeMux
	// patterns ("/static/", "GET /health", "/favicon.ico").
	Exempt []string
	// ExemptRegexps lists exempt routes as Django-style regular
	// expressions, for porting django-security's EXEMPT_URLS. Prefer Exempt.
	ExemptRegexps []string
	// MaxAge, if positive, requires a change when the last recorded change
	// ([Record.ChangedAt]) is MaxAge old or older. Zero, the default, never
	// expires passwords by age: NIST SP 800-63B forbids periodic changes.
	// A user whose change date is unknown is not forced by MaxAge.
	MaxAge time.Duration
	// Sessions is the scs session manager of the identity.Sessions login.
	// When set, the verdict is cached in the user's session for CacheTTL,
	// so the store is asked once per session per CacheTTL, not on every
	// request. The cache is used only for a session logged in as the
	// request's user (identity.SessionUserKey), so a bearer or basic
	// request never gets a session. Nil means the store is asked on every
	// request of a logged-in user.
	Sessions *scs.SessionManager
	// Identity is the application's identity.Sessions login. When set,
	// [Middleware.Changed] keeps the session that changed the password
	// through it (identity.Sessions.Reauthenticate: the token renewed and
	// the user's new credential stamp recorded), so that session goes on
	// while the user's other sessions, which hold the old stamp, end at
	// their next request (see identity.CredentialStamper). Sessions may
	// then be left nil: it is Identity's manager. Without Identity, Changed
	// only renews the token, and a user type that stamps its credential
	// would log this session out too.
	Identity *identity.Sessions
	// CacheTTL bounds how long a verdict stays cached in a session
	// (default one minute): a flag set elsewhere (an admin reset, another
	// session) takes effect within it. Negative turns the cache off (Changed
	// still renews the session token).
	CacheTTL time.Duration
	// JudgeFederatedLogins makes the gate judge sessions logged in through
	// an identity provider (identity.MethodFederated, as identity/oidc
	// records it) like the others. By default they pass unjudged, without
	// asking the store: the provider owns that password, and the user
	// cannot change it here, so sending them to the change page would
	// lock them out. Set it when the application keeps a password of its
	// own for provider users too and wants it changed even after a
	// provider login. The exemption needs the session (Config.Sessions or
	// Config.Identity): without it every request is judged. A bearer or
	// basic request is always judged.
	JudgeFederatedLogins bool
	// FailOpen serves the request when the store cannot answer. The
	// default, false, refuses it with 503: a user who must change their
	// password is never let through because the store is down.
	FailOpen bool
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
	// Pass lets the request through: anonymous, no requirement, or an
	// exempt route.
	Pass Outcome = iota
	// Change refuses the request: the user must change their password.
	Change
	// Unavailable means the gate could not decide (the error of
	// [Middleware.Check]): the store could not answer (503, or the request
	// is served with FailOpen), or the session was not loaded (500).
	Unavailable
)

var outcomeNames = []string{"pass", "change", "unavailable"}

// String returns "pass", "change" or "unavailable".
func (o Outcome) String() string { return gate.String(o, outcomeNames) }

// A Decision is the gate's verdict on one request.
type Decision struct {
	// Outcome is what the gate does with the request.
	Outcome Outcome
	// Reason is why the user must change (set even when an exempt route
	// lets the request pass).
	Reason Reason
	// Cached reports that the verdict came from the session, not the store.
	Cached bool
	// Exempt is the exempt rule that let a user who must change pass ("" when none did).
	Exempt string
	// Federated reports that the request's session was logged in through
	// an identity provider and passed unjudged (see
	// Config.JudgeFederatedLogins).
	Federated bool
	// Pending is the earlier gate (such as "mfa") whose unfinished step
	// the request is for ([identity.Pending]): it passes without a
	// verdict, so that the change comes after that step, not in its middle.
	Pending string
}

// Middleware is the password-change gate. It is safe for concurrent use.
type Middleware struct {
	core      *gate.Core
	store     Store
	changeURL string
	maxAge    time.Duration
	sm        *scs.SessionManager
	ids       *identity.Sessions
	ttl       time.Duration
	cache     bool // verdicts are cached in sessions
	failOpen  bool
	judgeFed  bool // Config.JudgeFederatedLogins
	log       *seclog.Logger
	now       func() time.Time
}

// New returns the gate for cfg, or an error naming the field that is wrong.
func New(cfg Config) (*Middleware, error) {
	if cfg.Store == nil {
		return nil, errors.New("passwordexpiry: Config.Store is nil: give passwordexpiry.NewMemoryStore() or an SQL store from passwordexpiry/sqlstore")
	}
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("passwordexpiry: Config.MaxAge %v is negative: write 0 for no periodic expiry (the NIST default), or a duration such as 90*24*time.Hour", cfg.MaxAge)
	}
	if cfg.Identity != nil {
		switch {
		case cfg.Sessions == nil:
			cfg.Sessions = cfg.Identity.Manager()
		case cfg.Sessions != cfg.Identity.Manager():
			return nil, errors.New("passwordexpiry: Config.Sessions is not the session manager of Config.Identity: leave Sessions nil, or give the manager of your identity.Sessions")
		}
	}
	m := &Middleware{
		ids:   cfg.Identity,
		store: cfg.Store, changeURL: cfg.ChangeURL, maxAge: cfg.MaxAge, sm: cfg.Sessions,
		ttl: cfg.CacheTTL, failOpen: cfg.FailOpen, judgeFed: cfg.JudgeFederatedLogins,
	}
	if m.changeURL == "" {
		m.changeURL = "/password/change"
	}
	if m.ttl == 0 {
		m.ttl = DefaultCacheTTL
	}
	m.cache = m.sm != nil && m.ttl > 0
	core, err := gate.New(gate.Config{
		Name: "passwordexpiry", Exempt: cfg.Exempt, ExemptRegexps: cfg.ExemptRegexps,
		Pages:    []gate.Page{{Field: "ChangeURL", URL: m.changeURL}},
		LoginURL: cfg.LoginURL, LogoutURL: cfg.LogoutURL,
		Responder: cfg.Responder, Unavailable: cfg.Unavailable, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	m.core, m.log, m.now = core, core.Log, core.Now
	return m, nil
}

// Requirement returns why userID must change their password now, [None]
// when they need not, or the store's error: the policy alone (store and
// MaxAge), without the session cache or the exempt routes.
func (m *Middleware) Requirement(ctx context.Context, userID string) (Reason, error) {
	r, _, err := m.requirement(ctx, userID, m.now())
	return r, err
}

// Due returns when MaxAge requires userID to change their password, for
// a warning ahead of it ("your password expires in 5 days"): the last
// recorded change plus MaxAge. It returns the zero time when MaxAge never
// will: MaxAge is off, the user has no record, or no known change date. A
// time not after now means it is due already.
func (m *Middleware) Due(ctx context.Context, userID string) (time.Time, error) {
	if m.maxAge == 0 {
		return time.Time{}, nil
	}
	rec, found, err := m.store.Get(ctx, userID)
	if err != nil || !found || rec.ChangedAt.IsZero() {
		return time.Time{}, err
	}
	return rec.ChangedAt.Add(m.maxAge), nil
}

// requirement also returns until when the answer holds (at most the cache
// bound; sooner when MaxAge falls due within it).
func (m *Middleware) requirement(ctx context.Context, userID string, now time.Time) (Reason, time.Time, error) {
	rec, found, err := m.store.Get(ctx, userID)
	if err != nil {
		return None, time.Time{}, err
	}
	until := now.Add(m.ttl)
	switch {
	case !found:
		return None, until, nil
	case rec.Reason != None:
		return rec.Reason, until, nil
	case m.maxAge > 0 && !rec.ChangedAt.IsZero():
		due := rec.ChangedAt.Add(m.maxAge)
		if !now.Before(due) {
			return MaxAge, until, nil
		}
		if due.Before(until) {
			until = due
		}
	}
	return None, until, nil
}

// Check judges r: the decision of [Middleware.Handler], apart from the
// response. It reads the verdict from the session when it is cached and
// fresh, and otherwise asks the store and caches the answer in the session
// (a session write at most once per CacheTTL). Exempt routes are judged
// only for a user who must change, or when the store must be asked (so an
// exempt route never waits for the store). An error means the gate could
// not decide (Outcome Unavailable): the store's error, or, with
// Config.Sessions, one wrapping identity.ErrSessionNotLoaded when the
// manager's LoadAndSave did not run before the gate.
func (m *Middleware) Check(r *http.Request) (Decision, error) {
	u := identity.FromRequest(r)
	if u == nil {
		return Decision{Outcome: Pass}, nil
	}
	if g := identity.Pending(r.Context()); g != "" {
		return Decision{Outcome: Pass, Pending: g}, nil
	}
	id := u.ID()
	if !m.judgeFed && m.federated(r, id) {
		return Decision{Outcome: Pass, Federated: true}, nil
	}
	now := m.now()
	if m.cache {
		if err := m.core.Session(r.Context(), m.sm); err != nil {
			return Decision{Outcome: Unavailable}, err
		}
		if reason, ok := m.cached(r.Context(), id, now); ok {
			d := Decision{Outcome: Pass, Reason: reason, Cached: true}
			if reason != None {
				d = m.exemptOr(r, d, Change)
			}
			return d, nil
		}
	}
	if pattern, ok := m.core.Exempt(r); ok {
		// Not asked: the verdict is unknown, and does not matter here.
		return Decision{Outcome: Pass, Exempt: pattern}, nil
	}
	reason, until, err := m.requirement(r.Context(), id, now)
	if err != nil {
		return Decision{Outcome: Unavailable}, err
	}
	if m.cache {
		if sm := m.session(r, id); sm != nil {
			m.remember(r.Context(), sm, id, reason, until)
		}
	}
	if reason == None {
		return Decision{Outcome: Pass}, nil
	}
	return Decision{Outcome: Change, Reason: reason}, nil
}

// federated reports whether r was authenticated by a session logged in as
// userID through an identity provider (identity.MethodFederated): the one
// place where provider logins are exempt. A bearer or basic request is
// not, even when it carries such a session's cookie.
func (m *Middleware) federated(r *http.Request, userID string) bool {
	if m.sm == nil || identity.SchemeFromRequest(r) != identity.SchemeSession {
		return false
	}
	ctx := r.Context()
	return identity.HasLoginMethod(ctx, m.sm, identity.MethodFederated) && m.sm.GetString(ctx, identity.SessionUserKey) == userID
}

// exemptOr returns d with Outcome Pass when r's route is exempt, else with
// outcome o.
func (m *Middleware) exemptOr(r *http.Request, d Decision, o Outcome) Decision {
	if pattern, ok := m.core.Exempt(r); ok {
		d.Outcome, d.Exempt = Pass, pattern
		return d
	}
	d.Outcome = o
	return d
}

// Handler returns next behind the gate.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := m.Check(r)
		switch {
		case err != nil && m.failOpen && !errors.Is(err, identity.ErrSessionNotLoaded):
			m.log.Log(r, seclog.PasswordExpiryStoreError, seclog.String("error", err.Error()), zap.Bool("fail_open", true))
			next.ServeHTTP(w, r)
		case err != nil:
			m.core.Fail(w, r, err, seclog.PasswordExpiryStoreError, seclog.String("error", err.Error()), zap.Bool("fail_open", false))
		case d.Outcome == Change:
			m.core.Refuse(w, r, identity.Refusal{Code: Code, Reason: string(d.Reason), Location: m.changeURL, Next: true},
				seclog.PasswordExpiryRequired, zap.String("reason", string(d.Reason)), m.core.Client(r), zap.Bool("cached", d.Cached))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Changed is the one call the application makes after userID changed their
// password (in the change handler, once the new password is saved). It
// records the change in the store, clearing any requirement, and, when r's
// session is logged in as userID, keeps that session: its token is renewed
// (OWASP: a new id after a change of privilege), the user's new credential
// stamp recorded in it when Config.Identity is set (the user's other
// sessions then end at their next request), and the new verdict cached in
// it, so the user is free at once. Other sessions of the same user, where
// they go on, learn it within CacheTTL. On a store error the requirement stays and the error is
// returned: show the user that the change was not saved.
func (m *Middleware) Changed(r *http.Request, userID string) error {
	ctx := r.Context()
	now := m.now()
	var before Reason
	if rec, found, err := m.store.Get(ctx, userID); err == nil && found {
		before = rec.Reason
	}
	if err := m.store.Changed(ctx, userID, now); err != nil {
		m.log.Log(r, seclog.PasswordExpiryChangeFailed, seclog.String("target_user", userID), seclog.String("error", err.Error()))
		return fmt.Errorf("passwordexpiry: record the password change: %w", err)
	}
	var renewErr error
	if sm := m.session(r, userID); sm != nil {
		if err := m.renew(r, sm); err != nil {
			renewErr = fmt.Errorf("passwordexpiry: the change is recorded, but the session could not be renewed: %w", err)
		}
		if m.cache {
			until := now.Add(m.ttl)
			if m.maxAge > 0 && m.maxAge < m.ttl {
				until = now.Add(m.maxAge)
			}
			m.remember(ctx, sm, userID, None, until)
		}
	}
	m.log.Log(r, seclog.PasswordExpiryChanged, seclog.String("target_user", userID), zap.String("cleared_reason", string(before)))
	return renewErr
}

// renew keeps the session of r after a password change: through
// Config.Identity when set (new token and credential stamp), else a new
// token.
func (m *Middleware) renew(r *http.Request, sm *scs.SessionManager) error {
	if m.ids != nil {
		return m.ids.Reauthenticate(r)
	}
	return identity.RenewToken(r.Context(), sm)
}

// Require flags userID as having to change their password, for reason (an
// admin tool, a breach check at login, an account created with a
// temporary password). When r's session is logged in as userID, the flag
// takes effect in it at once; in the user's other sessions, within
// CacheTTL. r may be nil outside a request (a batch job).
func (m *Middleware) Require(r *http.Request, userID string, reason Reason) error {
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	now := m.now()
	if err := m.store.Require(ctx, userID, reason, now); err != nil {
		m.log.Log(r, seclog.PasswordExpiryFlagFailed, seclog.String("target_user", userID), seclog.String("reason", string(reason)), seclog.String("error", err.Error()))
		return fmt.Errorf("passwordexpiry: flag the user: %w", err)
	}
	if r != nil && m.cache {
		if sm := m.session(r, userID); sm != nil {
			m.remember(ctx, sm, userID, reason, now.Add(m.ttl))
		}
	}
	m.log.Log(r, seclog.PasswordExpiryFlagged, seclog.String("target_user", userID), seclog.String("reason", string(reason)))
	return nil
}
