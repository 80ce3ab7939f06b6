package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// The session keys the scs implementation uses.
const (
	// SessionUserKey holds the logged-in user's id.
	SessionUserKey = "bulwark.user_id"
	// SessionLoginKey holds the login time, in Unix nanoseconds (an int64:
	// scs's gob codec needs no type registered for it).
	SessionLoginKey = "bulwark.login_at"
)

// SessionsConfig configures [Sessions].
type SessionsConfig struct {
	// Manager is the scs session manager; its LoadAndSave must run before
	// the identity middleware (the bulwark.Chain does this). Required.
	Manager *scs.SessionManager
	// Lookup returns the user with the given id, (nil, nil) when there is
	// none, or an error when it cannot tell (the request then gets 503, or
	// goes on as anonymous with FailOpen). Called once per request that
	// carries a logged-in session. Required.
	Lookup func(ctx context.Context, id string) (User, error)
	// Logger is the security logger; nil means seclog.New(zap.L()).
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Sessions is the scs-backed identity: Login stores the user id in the
// session, renewing its token first; Logout destroys the session; as an
// [Authenticator] it loads the session's user through Lookup. A session
// whose user is unknown or inactive is destroyed and the request goes on
// as anonymous.
type Sessions struct {
	sm     *scs.SessionManager
	lookup func(context.Context, string) (User, error)
	log    *seclog.Logger
	now    func() time.Time
}

// NewSessions returns the scs-backed identity for cfg.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	if cfg.Manager == nil {
		return nil, errors.New("identity: SessionsConfig.Manager is nil: give the *scs.SessionManager whose LoadAndSave runs before the gates")
	}
	if cfg.Lookup == nil {
		return nil, errors.New("identity: SessionsConfig.Lookup is nil: give a func that loads a user by id")
	}
	s := &Sessions{sm: cfg.Manager, lookup: cfg.Lookup, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = seclog.New(nil)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Login logs u in for the session of r: the session token is renewed
// first (an attacker who planted a session id before login does not get a
// logged-in session: session fixation), then the user id and the login
// time are stored. It returns an error for a nil or inactive user, or when
// the session cannot be renewed. The caller has checked the credentials.
func (s *Sessions) Login(r *http.Request, u User) error {
	if !valid(u) {
		return errors.New("identity: Login: the user is nil, inactive or has no id")
	}
	ctx := r.Context()
	if err := s.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("identity: Login: renew the session token: %w", err)
	}
	s.sm.Put(ctx, SessionUserKey, u.ID())
	s.sm.Put(ctx, SessionLoginKey, s.now().UnixNano())
	s.log.Log(r, seclog.IdentityLogin, seclog.String("login_user", u.ID()))
	return nil
}

// Logout destroys the session of r: its data is deleted from the store and
// the cookie is expired.
func (s *Sessions) Logout(r *http.Request) error {
	if err := s.sm.Destroy(r.Context()); err != nil {
		return fmt.Errorf("identity: Logout: destroy the session: %w", err)
	}
	s.log.Log(r, seclog.IdentityLogout)
	return nil
}

// LoginTime returns when the session's user logged in, or the zero time.
func (s *Sessions) LoginTime(ctx context.Context) time.Time {
	ns := s.sm.GetInt64(ctx, SessionLoginKey)
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// UserID returns the id stored in the session, "" when nobody is logged in.
// It does not check that the user exists or is active: use [FromContext]
// after the identity middleware for that.
func (s *Sessions) UserID(ctx context.Context) string {
	return s.sm.GetString(ctx, SessionUserKey)
}

// Authenticate implements [Authenticator]: it returns the session's user,
// (nil, nil) when the session holds none, or the error of Lookup. A session
// whose user is unknown or inactive is destroyed and logged, and the
// request is anonymous.
func (s *Sessions) Authenticate(r *http.Request) (User, error) {
	ctx := r.Context()
	id := s.sm.GetString(ctx, SessionUserKey)
	if id == "" {
		return nil, nil
	}
	u, err := s.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("identity: look up session user: %w", err)
	}
	if valid(u) && u.ID() == id {
		return u, nil
	}
	s.log.Log(r, seclog.IdentityInactive, zap.String("authenticator", "session"), seclog.String("session_user", id))
	if err := s.sm.Destroy(ctx); err != nil {
		return nil, fmt.Errorf("identity: destroy the session of an inactive user: %w", err)
	}
	return nil, nil
}
