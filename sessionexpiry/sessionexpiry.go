// Package sessionexpiry ends logged-in scs sessions that have lived too
// long (absolute lifetime, counted from login) or sat unused too long (idle
// timeout, counted from the last request), judged on the server from
// values in the session, not left to the cookie's expiry.
//
// What it does that django-security's SessionExpiryPolicyMiddleware and
// scs's own IdleTimeout do not:
//
//   - the idle clock costs no store write per request: the last-activity
//     time is written at most once per Granularity, so most requests leave
//     the session unmodified (no store write, no Set-Cookie);
//   - anonymous visitors get no stored session: only sessions with a
//     logged-in user (identity.SessionUserKey) are judged or written;
//   - a request still in flight when its session is destroyed (a logout or
//     an expiry in a parallel request, on any instance sharing the store)
//     cannot bring the session back: New installs a guard on the manager's
//     Store that remembers destroyed tokens (see [Middleware.Handler]);
//   - every ending is a security event with its reason (idle, absolute, or
//     clocks that cannot be trusted), a replayed cookie is reported, and a
//     store error is a 503, never a pass-through.
//
// On expiry the session is destroyed, Config.OnExpire runs (wire it to
// clearsite's Send to clear the browser's data), and the request is
// refused through the suite's shared identity.Responder with the code
// "session_expired": a navigation is sent to the login page, a script gets
// 401/403 JSON, htmx gets HX-Redirect.
//
// The middleware runs after scs's LoadAndSave and before the identity
// middleware (bulwark.Chain's SessionExpiry slot).
//
// [Codec], an scs.Codec that reads gob sessions too, makes LoadAndSave with
// this middleware about ten times cheaper than LoadAndSave alone with
// scs's gob codec.
package sessionexpiry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/gate"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// SessionSeenKey is the session key that holds the time of the last
// request counted as activity, in Unix nanoseconds (an int64), written at
// most once per Granularity. The login time is identity.SessionLoginKey.
const SessionSeenKey = "bulwark.seen_at"

// The defaults of [Config].
const (
	// DefaultAbsolute is the default absolute lifetime: an office day
	// (OWASP: 4 to 8 hours; NIST SP 800-63B rev. 4: at most 12 hours at
	// AAL3, 24 hours at AAL2).
	DefaultAbsolute = 12 * time.Hour
	// DefaultIdle is the default idle timeout (OWASP: 15 to 30 minutes for
	// low-risk applications; NIST AAL2: 1 hour; PCI DSS: 15 minutes).
	DefaultIdle = 30 * time.Minute
	// MaxGranularity caps the default Granularity.
	MaxGranularity = time.Minute
	// ClockSkew is how far in the future a session's login or activity
	// time may be (clocks of instances that share a store differ a
	// little); further is a clock anomaly and ends the session.
	ClockSkew = time.Minute
	// LateRequestGrace is how long after a session is destroyed a request
	// with its token is taken for one the browser sent in parallel
	// (sessionexpiry.late_request) rather than a replay
	// (sessionexpiry.use_after_expire).
	LateRequestGrace = 30 * time.Second
)

// Config configures the middleware. Only Sessions is required; the zero
// value of every other field is the secure default.
type Config struct {
	// Sessions is the scs session manager whose LoadAndSave runs before the
	// middleware. Required. New changes it, once, before it serves:
	//
	//   - Store is wrapped in the resurrection guard (unless it already
	//     is), which keeps tombstones of destroyed tokens in the same store;
	//   - ErrorFunc, when it is scs's default (a 500), is replaced by one
	//     that answers 503 and logs sessionexpiry.store_error;
	//   - Cookie.Persist is set to false with ExpireAtBrowserClose.
	//
	// Sessions.IdleTimeout must be 0 (it makes every request a store write;
	// use Idle instead) and Sessions.Lifetime longer than Absolute (so that
	// a session reaches the middleware to be ended and logged, instead of
	// vanishing from the store).
	Sessions *scs.SessionManager
	// Absolute is the longest a logged-in session lives, counted from
	// login (identity.SessionLoginKey), whatever the activity. Renewing the
	// token does not extend it. Default 12 hours.
	Absolute time.Duration
	// Idle is the longest a logged-in session may go without a request,
	// counted from the last recorded activity. Default 30 minutes.
	Idle time.Duration
	// Granularity is how often, at most, the last-activity time is written
	// to the session. A session is ended after between Idle-Granularity and
	// Idle of inactivity: never late. Default min(1 minute, Idle/10); at
	// most Idle/2.
	Granularity time.Duration
	// ExpireAtBrowserClose makes the session cookie a browser-session
	// cookie (Sessions.Cookie.Persist = false): closing the browser forgets
	// it. Absolute and Idle still apply on the server.
	ExpireAtBrowserClose bool
	// Passive lists routes (net/http.ServeMux patterns, such as
	// "GET /api/poll") whose requests are judged but not counted as
	// activity: polling must not keep a session alive forever.
	Passive []string
	// LoginURL is where a person whose session expired is sent (default
	// "/login"), with "next" for a GET or HEAD navigation.
	LoginURL string
	// OnExpire, if set, runs when a session has been ended, before the
	// refusal is written: set headers there, such as Clear-Site-Data
	// (func(w, r) { clearSite.Send(w, r) }).
	OnExpire func(w http.ResponseWriter, r *http.Request)
	// Responder answers the refused requests; nil means
	// identity.NewResponder with its defaults. Share one Responder between
	// all the gates of an application.
	Responder *identity.Responder
	// Unavailable, if set, writes the 503 answer (a session store that
	// cannot answer) instead of the built-in small JSON one.
	Unavailable http.Handler
	// FailOpen serves as anonymous a request whose dead session cookie
	// cannot be classified because the store failed; and when the
	// resurrection guard cannot read a tombstone after a save, it keeps
	// the saved copy (logged as sessionexpiry.store_error with
	// fail_open=true) instead of deleting it, so that a session destroyed
	// meanwhile on another instance could come back until its next
	// expiry check. It changes nothing else: an expired session is never
	// served, and a session that cannot be loaded or destroyed is a 503.
	// Default false: 503, and the copy is deleted.
	FailOpen bool
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Outcome is what the middleware decides for a request.
type Outcome uint8

const (
	// Anonymous: the session has no logged-in user; nothing is judged and
	// nothing is written.
	Anonymous Outcome = iota
	// Active: the session is within both limits and its last-activity time
	// is recent enough: nothing is written.
	Active
	// Touch: the session is within both limits and its last-activity time
	// is due to be written (once per Granularity).
	Touch
	// Expired: the session must be ended.
	Expired
)

var outcomeNames = []string{"anonymous", "active", "touch", "expired"}

// String returns "anonymous", "active", "touch" or "expired".
func (o Outcome) String() string { return gate.String(o, outcomeNames) }

// The reasons of an Expired [Decision].
const (
	ReasonAbsolute       = "absolute"          // older than Absolute since login
	ReasonIdle           = "idle"              // no activity for longer than Idle
	ReasonNoLoginTime    = "no-login-time"     // a user but no login time (or not an int64)
	ReasonFutureLogin    = "future-login-time" // login time later than now + ClockSkew
	ReasonBadActivity    = "bad-activity-time" // last-activity time not an int64
	ReasonFutureActivity = "future-activity"   // last-activity time later than now + ClockSkew
)

// A Decision is the middleware's verdict on one request.
type Decision struct {
	// Outcome is what the middleware does with the request.
	Outcome Outcome
	// Reason says why a session Expired (see the Reason constants).
	Reason string
	// User is the id of the session's user, "" for Anonymous.
	User string
	// Age is the time since login; Inactive the time since the last
	// recorded activity (both 0 when unknown).
	Age, Inactive time.Duration
	// Now is the time the decision was taken at.
	Now time.Time
}

// anomaly reports whether the decision ends a session whose clocks cannot
// be trusted, rather than one that merely timed out.
func (d Decision) anomaly() bool {
	return d.Outcome == Expired && d.Reason != ReasonAbsolute && d.Reason != ReasonIdle
}

// Middleware enforces the expiry policy. It is safe for concurrent use.
type Middleware struct {
	core        *gate.Core
	sm          *scs.SessionManager
	absolute    time.Duration
	idle        time.Duration
	granularity time.Duration
	passive     *pathrule.Set
	onExpire    func(http.ResponseWriter, *http.Request)
	failOpen    bool
	log         *seclog.Logger
	now         func() time.Time
	guard       *guard
}

// New returns the middleware for cfg, or an error naming the field that is
// wrong. It installs the resurrection guard on cfg.Sessions.Store (see
// [Config.Sessions]): call it before the manager serves requests.
func New(cfg Config) (*Middleware, error) {
	sm := cfg.Sessions
	if sm == nil {
		return nil, errors.New("sessionexpiry: Config.Sessions is nil: give the *scs.SessionManager whose LoadAndSave runs before this middleware")
	}
	if sm.Store == nil {
		return nil, errors.New("sessionexpiry: Config.Sessions.Store is nil: make the manager with scs.New() and set its Store")
	}
	m := &Middleware{
		sm: sm, absolute: cfg.Absolute, idle: cfg.Idle, granularity: cfg.Granularity,
		onExpire: cfg.OnExpire, failOpen: cfg.FailOpen,
	}
	if m.absolute < 0 {
		return nil, fmt.Errorf("sessionexpiry: Config.Absolute is %v: write a positive duration, such as 8 * time.Hour (0 means %v)", cfg.Absolute, DefaultAbsolute)
	}
	if m.absolute == 0 {
		m.absolute = DefaultAbsolute
	}
	if m.idle < 0 {
		return nil, fmt.Errorf("sessionexpiry: Config.Idle is %v: write a positive duration, such as 15 * time.Minute (0 means %v)", cfg.Idle, DefaultIdle)
	}
	if m.idle == 0 {
		m.idle = DefaultIdle
	}
	if m.idle > m.absolute {
		return nil, fmt.Errorf("sessionexpiry: Config.Idle (%v) is longer than Config.Absolute (%v): it would never apply; shorten Idle", m.idle, m.absolute)
	}
	switch {
	case m.granularity < 0 || m.granularity > m.idle/2:
		return nil, fmt.Errorf("sessionexpiry: Config.Granularity is %v: write a duration between 0 (the default, %v) and Idle/2 (%v)", cfg.Granularity, defaultGranularity(m.idle), m.idle/2)
	case m.granularity == 0:
		m.granularity = defaultGranularity(m.idle)
	}
	if sm.IdleTimeout != 0 {
		return nil, fmt.Errorf("sessionexpiry: Config.Sessions.IdleTimeout is %v: set it to 0 and Config.Idle to %v; scs's idle timeout writes the session to the store on every request and drops idle sessions without an event", sm.IdleTimeout, sm.IdleTimeout)
	}
	if sm.Lifetime <= m.absolute {
		return nil, fmt.Errorf("sessionexpiry: Config.Sessions.Lifetime (%v) must be longer than Config.Absolute (%v), or the store drops sessions before they are ended and logged: set Sessions.Lifetime to Absolute + time.Hour", sm.Lifetime, m.absolute)
	}
	if len(cfg.Passive) > 0 {
		set, err := pathrule.Compile(pathrule.Config{Field: "Passive", Patterns: cfg.Passive})
		if err != nil {
			return nil, fmt.Errorf("sessionexpiry: Config.%w", err)
		}
		m.passive = set
	}
	core, err := gate.New(gate.Config{
		Name: "sessionexpiry", LoginURL: cfg.LoginURL,
		Responder: cfg.Responder, Unavailable: cfg.Unavailable, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	m.core, m.log, m.now = core, core.Log, core.Now

	// Install the guard, the error answer and the cookie kind.
	if g, ok := sm.Store.(*guard); ok {
		if g.ttl < m.absolute {
			g.ttl = m.absolute
		}
		m.guard = g
	} else {
		m.guard = &guard{inner: sm.Store, ttl: m.absolute, now: m.now, failOpen: m.failOpen, log: m.log}
		sm.Store = m.guard
	}
	if sm.ErrorFunc == nil || isSCSDefault(sm.ErrorFunc) {
		sm.ErrorFunc = m.storeError
	}
	if cfg.ExpireAtBrowserClose {
		sm.Cookie.Persist = false
	}
	return m, nil
}

// defaultGranularity is min(MaxGranularity, idle/10).
func defaultGranularity(idle time.Duration) time.Duration {
	return min(MaxGranularity, idle/10)
}

// isSCSDefault reports whether f is scs's own default ErrorFunc (a 500),
// found by name: scs does not export it, and making a manager to compare
// with would start a memstore cleanup goroutine.
func isSCSDefault(f func(http.ResponseWriter, *http.Request, error)) bool {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	return fn != nil && fn.Name() == "github.com/alexedwards/scs/v2.defaultErrorFunc"
}

// Check judges the session of r (loaded by the manager's LoadAndSave):
// the pure decision of [Middleware.Handler]. It reads the session and the
// clock, and changes nothing. Its only error wraps
// identity.ErrSessionNotLoaded: the manager's LoadAndSave did not run
// before the middleware (a chain in the wrong order).
func (m *Middleware) Check(r *http.Request) (Decision, error) {
	ctx := r.Context()
	now := m.now()
	if err := m.core.Session(ctx, m.sm); err != nil {
		return Decision{Now: now}, err
	}
	return m.check(r, now), nil
}

// check is Check on a loaded session.
func (m *Middleware) check(r *http.Request, now time.Time) Decision {
	ctx := r.Context()
	user, _ := m.sm.Get(ctx, identity.SessionUserKey).(string)
	if user == "" {
		return Decision{Outcome: Anonymous, Now: now}
	}
	d := Decision{Outcome: Expired, User: user, Now: now}
	login, ok := m.sm.Get(ctx, identity.SessionLoginKey).(int64)
	if !ok || login <= 0 {
		d.Reason = ReasonNoLoginTime
		return d
	}
	nowNS := now.UnixNano()
	if login > nowNS+int64(ClockSkew) {
		d.Reason = ReasonFutureLogin
		return d
	}
	seen := login
	switch v := m.sm.Get(ctx, SessionSeenKey).(type) {
	case nil:
	case int64:
		if v > nowNS+int64(ClockSkew) {
			d.Reason = ReasonFutureActivity
			return d
		}
		seen = max(v, login)
	default:
		d.Reason = ReasonBadActivity
		return d
	}
	d.Age = time.Duration(max(nowNS-login, 0))
	d.Inactive = time.Duration(max(nowNS-seen, 0))
	switch {
	case d.Age > m.absolute:
		d.Reason = ReasonAbsolute
	case d.Inactive > m.idle:
		d.Reason = ReasonIdle
	case d.Inactive >= m.granularity && !m.isPassive(r):
		d.Outcome = Touch
	default:
		d.Outcome = Active
	}
	return d
}

func (m *Middleware) isPassive(r *http.Request) bool {
	// An ambiguous path under a passive pattern counts as passive: the
	// cost of a mistake is one activity not recorded.
	return m.passive != nil && m.passive.Denies(r)
}

// Handler returns next behind the expiry policy. For each request:
//
//   - a logged-in session past Absolute or Idle, or with clocks that
//     cannot be trusted, is destroyed; OnExpire runs; the request is
//     refused with "session_expired" and logged (sessionexpiry.expired);
//   - a logged-in session whose last-activity time is older than
//     Granularity gets it rewritten (the only write the middleware makes);
//   - a request whose session cookie names no live session (malformed,
//     unknown, or destroyed: a replay) is logged, its cookie expired, and
//     served as anonymous;
//   - a store error is a 503 and a sessionexpiry.store_error event.
//
// The guard installed by New (see [Config.Sessions]) keeps a destroyed
// session from coming back when a request that loaded it before it was
// destroyed saves it afterwards, or saves the new token of a renewal
// (identity's Login, mfa's Complete, passwordexpiry's Changed) that
// replaced it: the new token is destroyed instead, its cookie expired,
// and sessionexpiry.renewal_blocked logged. For that, the middleware
// passes on a request of a stored session with a context that names its
// token and a ResponseWriter that settles a renewal before the response
// is written.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d, err := m.Check(r)
		if err != nil {
			// The session not loaded (a chain in the wrong order): 500.
			m.core.Fail(w, r, err, seclog.SessionExpiryStoreError, zap.String("op", "load"), seclog.String("error", err.Error()), zap.Bool("fail_open", false))
			return
		}
		switch d.Outcome {
		case Anonymous:
			if !m.deadCookie(w, r) {
				return
			}
		case Touch:
			// Saved now, before the handler runs, so that a store error is
			// a clean 503 and not a failure in the middle of the
			// handler's response; LoadAndSave saves it again at the end
			// (scs keeps it Modified): two writes per Granularity.
			m.sm.Put(ctx, SessionSeenKey, d.Now.UnixNano())
			if _, _, err := m.sm.Commit(ctx); err != nil {
				m.unavailable(w, r, "touch", err, false)
				return
			}
		case Expired:
			m.expire(w, r, d)
			return
		}
		t, r := m.track(w, r)
		if t == nil {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(t, r)
		t.settle()
	})
}

// expire ends the session of r and refuses the request.
func (m *Middleware) expire(w http.ResponseWriter, r *http.Request, d Decision) {
	ctx := r.Context()
	sid := m.sessionID(m.sm.Token(ctx))
	if d.anomaly() {
		m.log.Log(r, seclog.SessionExpiryClockAnomaly, zap.String("reason", d.Reason), seclog.String("session_user", d.User), zap.String("session", sid))
	}
	if err := m.sm.Destroy(ctx); err != nil {
		// The session could not be ended: say so, never serve it.
		m.unavailable(w, r, "destroy", err, false)
		return
	}
	if m.onExpire != nil {
		m.onExpire(w, r)
	}
	m.core.Refuse(w, r, identity.Refusal{Code: "session_expired", Reason: d.Reason, Location: m.core.LoginURL, Unauthenticated: true, Next: true},
		seclog.SessionExpiryExpired,
		zap.String("reason", d.Reason), seclog.String("session_user", d.User), zap.String("session", sid),
		zap.Int64("age_s", int64(d.Age/time.Second)), zap.Int64("idle_s", int64(d.Inactive/time.Second)),
		m.core.Client(r))
}

// deadCookie looks at the session cookie of an anonymous request: when it
// names no live session, the cookie is expired and the request logged by
// why. It returns false when it answered the request itself (a store
// error, fail closed).
func (m *Middleware) deadCookie(w http.ResponseWriter, r *http.Request) bool {
	if len(r.Header["Cookie"]) == 0 {
		return true // no cookie at all: a new visitor
	}
	ctx := r.Context()
	if m.sm.Token(ctx) != "" {
		return true // a stored anonymous session: live
	}
	c, err := r.Cookie(m.sm.Cookie.Name)
	if err != nil || c.Value == "" {
		return true // no cookie: a new visitor
	}
	if !wellFormed(c.Value) {
		m.log.Log(r, seclog.SessionExpiryMalformedCookie, zap.Int("length", len(c.Value)))
		m.forget(ctx)
		return true
	}
	key := storeKey(m.sm, c.Value)
	sid := sessionID(key)
	at, dead, err := m.guard.tombstone(ctx, key)
	switch {
	case err != nil:
		m.unavailable(w, r, "tombstone", err, m.failOpen)
		if !m.failOpen {
			return false
		}
	case !dead:
		m.log.Log(r, seclog.SessionExpiryUnknownSession, zap.String("session", sid))
	default:
		ago := max(m.now().Sub(at), 0)
		ev := seclog.SessionExpiryUseAfterExpire
		if ago <= LateRequestGrace {
			ev = seclog.SessionExpiryLateRequest
		}
		m.log.Log(r, ev, zap.String("session", sid), zap.Int64("destroyed_ago_s", int64(ago/time.Second)))
	}
	m.forget(ctx)
	return true
}

// forget marks the (new, empty, unstored) session of the request as
// destroyed, so that LoadAndSave expires the dead cookie. It writes
// nothing to the store: the guard ignores an empty token.
func (m *Middleware) forget(ctx context.Context) {
	_ = m.sm.Destroy(ctx)
}

// storeError is installed as the manager's ErrorFunc: a session that
// cannot be loaded or saved is a 503, never a pass-through.
func (m *Middleware) storeError(w http.ResponseWriter, r *http.Request, err error) {
	m.unavailable(w, r, "load-or-commit", err, false)
}

// unavailable logs a store error and, unless open, answers 503.
func (m *Middleware) unavailable(w http.ResponseWriter, r *http.Request, op string, err error, open bool) {
	m.log.Log(r, seclog.SessionExpiryStoreError, zap.String("op", op), seclog.String("error", err.Error()), zap.Bool("fail_open", open))
	if open {
		return
	}
	m.core.WriteUnavailable(w, r)
}

// sessionID names the session of a cookie token in the log.
func (m *Middleware) sessionID(token string) string {
	if token == "" {
		return ""
	}
	return sessionID(storeKey(m.sm, token))
}
