package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
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
	// SessionCredentialKey holds a digest of the user's credential stamp
	// at login (see [CredentialStamper]).
	SessionCredentialKey = "bulwark.credential"
	// SessionMethodsKey holds how the user logged in: RFC 8176 method
	// values separated by spaces ("pwd", "hwk mfa", "fed"); see
	// [Sessions.LoginMethods].
	SessionMethodsKey = "bulwark.login_methods"
)

// SessionsConfig configures [Sessions].
type SessionsConfig struct {
	// Sessions is the scs session manager; its LoadAndSave must run before
	// the identity middleware (the bulwark.Chain does this). Required.
	Sessions *scs.SessionManager
	// Lookup returns the user with the given id, (nil, nil) when there is
	// none, or an error when it cannot tell (the request then gets 503, or
	// goes on as anonymous with FailOpen). Called once per request that
	// carries a logged-in session. Required.
	Lookup func(ctx context.Context, id string) (User, error)
	// Revoke changes the credential stamp of the user with the given id
	// (see [CredentialStamper]), typically by incrementing a per-user
	// counter in the application's store, so that every session made
	// before ends at its next request, on every instance. Optional: only
	// [Sessions.LogoutEverywhere] and [Sessions.LogoutOthers] need it.
	Revoke func(ctx context.Context, id string) error
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Sessions is the scs-backed identity: Login stores the user id in the
// session, renewing its token first; Logout destroys the session; as an
// [Authenticator] it loads the session's user through Lookup. A session
// whose user is unknown or inactive, or whose user's credential changed
// since login (see [CredentialStamper]), is destroyed and the request goes
// on as anonymous. On a request whose session the manager's LoadAndSave
// did not load, its methods that return an error return one wrapping
// [ErrSessionNotLoaded], where scs would panic.
type Sessions struct {
	sm     *scs.SessionManager
	lookup func(context.Context, string) (User, error)
	revoke func(context.Context, string) error
	log    *seclog.Logger
	now    func() time.Time
}

// NewSessions returns the scs-backed identity for cfg.
func NewSessions(cfg SessionsConfig) (*Sessions, error) {
	if cfg.Sessions == nil {
		return nil, errors.New("identity: SessionsConfig.Sessions is nil: give the *scs.SessionManager whose LoadAndSave runs before the gates")
	}
	if cfg.Lookup == nil {
		return nil, errors.New("identity: SessionsConfig.Lookup is nil: give a func that loads a user by id")
	}
	s := &Sessions{sm: cfg.Sessions, lookup: cfg.Lookup, revoke: cfg.Revoke, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = seclog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Login logs u in for the session of r: the session token is renewed
// first (an attacker who planted a session id before login does not get a
// logged-in session: session fixation), then the user id, the login time
// and u's credential stamp ([CredentialStamper]) are stored. When the
// session was logged in as another user, or as u under a credential that
// has changed since, its data is cleared first: the new user never sees
// what the previous one left in it. An anonymous session, or one of u
// under the same credential, keeps its data (a cart filled before login),
// as Django does.
//
// methods say how the user proved who they are (the Method constants,
// RFC 8176): none means a password ([MethodPassword]); a passkey login
// gives [MethodHardwareKey] and, with user verification, [MethodMFA]; an
// identity provider's gives [MethodFederated]. The gates read them
// ([HasLoginMethod]).
//
// It returns an error for a nil or inactive user, for a method that is not
// 1 to 16 of [a-z0-9_-], or when the session cannot be renewed. The caller
// has checked the credentials.
func (s *Sessions) Login(r *http.Request, u User, methods ...string) error {
	if !valid(u) {
		return errors.New("identity: Login: the user is nil, inactive or has no id")
	}
	if err := checkMethods(methods); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.loaded(ctx); err != nil {
		return err
	}
	if prev := s.sm.GetString(ctx, SessionUserKey); prev != "" && (prev != u.ID() || !sameCredential(s.sm.GetString(ctx, SessionCredentialKey), u)) {
		if err := s.sm.Clear(ctx); err != nil {
			return fmt.Errorf("identity: Login: clear the previous user's session: %w", err)
		}
	}
	if err := RenewToken(ctx, s.sm); err != nil {
		return fmt.Errorf("identity: Login: renew the session token: %w", err)
	}
	s.sm.Put(ctx, SessionUserKey, u.ID())
	s.sm.Put(ctx, SessionLoginKey, s.now().UnixNano())
	amr := joinMethods(methods)
	s.sm.Put(ctx, SessionMethodsKey, amr)
	s.putCredential(ctx, u)
	s.log.Log(r, seclog.IdentityLogin, seclog.String("login_user", u.ID()), zap.String("login_methods", amr))
	return nil
}

// putCredential records u's credential digest in the session, or removes
// any when u has no stamp.
func (s *Sessions) putCredential(ctx context.Context, u User) {
	if d := credentialDigest(u); d != "" {
		s.sm.Put(ctx, SessionCredentialKey, d)
		return
	}
	s.sm.Remove(ctx, SessionCredentialKey)
}

// Reauthenticate keeps the session of r logged in after its user's
// credential changed in this request (a password change, [LogoutOthers]):
// the user is read again through Lookup, the session token is renewed and
// the new credential stamp recorded, so this session goes on while the
// user's other sessions, which hold the old stamp, are logged out at their
// next request on every instance. Call it after the new credential is
// saved. It returns an error when the session has no user, when Lookup
// fails, or when the user is now unknown or inactive (the session is then
// destroyed).
func (s *Sessions) Reauthenticate(r *http.Request) error {
	ctx := r.Context()
	if err := s.loaded(ctx); err != nil {
		return err
	}
	id := s.sm.GetString(ctx, SessionUserKey)
	if id == "" {
		return errors.New("identity: Reauthenticate: the session has no user")
	}
	u, err := s.lookup(ctx, id)
	if err != nil {
		return fmt.Errorf("identity: Reauthenticate: look up the session user: %w", err)
	}
	if !valid(u) || u.ID() != id {
		s.log.Log(r, seclog.IdentityInactive, zap.String("authenticator", SchemeSession), seclog.String("session_user", id))
		return errors.Join(errors.New("identity: Reauthenticate: the session user is unknown or inactive"), s.sm.Destroy(ctx))
	}
	if err := RenewToken(ctx, s.sm); err != nil {
		return fmt.Errorf("identity: Reauthenticate: renew the session token: %w", err)
	}
	s.putCredential(ctx, u)
	s.log.Log(r, seclog.IdentityReauthenticated, seclog.String("session_user", id))
	return nil
}

// LogoutEverywhere ends every session of the user of r, on every
// instance: SessionsConfig.Revoke changes the user's credential stamp,
// then this session is destroyed. It returns an error when Revoke is not
// configured, when the session has no user, or when Revoke fails (nothing
// is ended then).
func (s *Sessions) LogoutEverywhere(r *http.Request) error {
	if err := s.revokeUser(r, false); err != nil {
		return err
	}
	return s.Logout(r)
}

// LogoutOthers ends every other session of the user of r, on every
// instance, and keeps this one: SessionsConfig.Revoke changes the user's
// credential stamp, then [Sessions.Reauthenticate] keeps this session
// under the new one.
func (s *Sessions) LogoutOthers(r *http.Request) error {
	if err := s.revokeUser(r, true); err != nil {
		return err
	}
	return s.Reauthenticate(r)
}

func (s *Sessions) revokeUser(r *http.Request, keep bool) error {
	if s.revoke == nil {
		return errors.New("identity: SessionsConfig.Revoke is nil: give a func that changes the user's credential stamp (increment a per-user counter the stamp includes)")
	}
	ctx := r.Context()
	if err := s.loaded(ctx); err != nil {
		return err
	}
	id := s.sm.GetString(ctx, SessionUserKey)
	if id == "" {
		return errors.New("identity: the session has no user to log out everywhere")
	}
	if err := s.revoke(ctx, id); err != nil {
		return fmt.Errorf("identity: revoke the sessions of the user: %w", err)
	}
	s.log.Log(r, seclog.IdentityLogoutEverywhere, seclog.String("session_user", id), zap.Bool("kept", keep))
	return nil
}

// Logout destroys the session of r: its data is deleted from the store and
// the cookie is expired.
func (s *Sessions) Logout(r *http.Request) error {
	if err := s.loaded(r.Context()); err != nil {
		return err
	}
	if err := s.sm.Destroy(r.Context()); err != nil {
		return fmt.Errorf("identity: Logout: destroy the session: %w", err)
	}
	s.log.Log(r, seclog.IdentityLogout)
	return nil
}

// loaded returns an error wrapping [ErrSessionNotLoaded] when ctx holds no
// session data of s's manager: every method that reads or writes the
// session asks it first, so that a chain in the wrong order is an error,
// not scs's panic.
func (s *Sessions) loaded(ctx context.Context) error {
	return sessionctx.Check(ctx, s.sm, "identity")
}

// Manager returns the scs session manager of s.
func (s *Sessions) Manager() *scs.SessionManager { return s.sm }

// LoginTime returns when the session's user logged in, or the zero time.
func (s *Sessions) LoginTime(ctx context.Context) time.Time {
	if !sessionctx.Loaded(ctx, s.sm) {
		return time.Time{}
	}
	ns := s.sm.GetInt64(ctx, SessionLoginKey)
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// UserID returns the id stored in the session, "" when nobody is logged in.
// It does not check that the user exists or is active: use [FromContext]
// after the identity middleware for that. A context without the manager's
// session (no LoadAndSave ran) has nobody logged in.
func (s *Sessions) UserID(ctx context.Context) string {
	if !sessionctx.Loaded(ctx, s.sm) {
		return ""
	}
	return s.sm.GetString(ctx, SessionUserKey)
}

// Scheme implements [Authenticator]: [SchemeSession].
func (s *Sessions) Scheme() string { return SchemeSession }

// Authenticate implements [Authenticator]: it returns the session's user,
// (nil, nil) when the session holds none, or the error of Lookup. A session
// whose user is unknown or inactive, or whose credential stamp is no
// longer the user's ([CredentialStamper]: the password was changed or
// reset, or the user was logged out everywhere), is destroyed and logged,
// and the request is anonymous. A request whose session the manager's
// LoadAndSave did not load gets an error wrapping [ErrSessionNotLoaded]
// (the identity middleware answers it 500, whatever FailOpen).
func (s *Sessions) Authenticate(r *http.Request) (User, error) {
	ctx := r.Context()
	if err := s.loaded(ctx); err != nil {
		return nil, err
	}
	id := s.sm.GetString(ctx, SessionUserKey)
	if id == "" {
		return nil, nil
	}
	u, err := s.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("identity: look up session user: %w", err)
	}
	switch {
	case !valid(u) || u.ID() != id:
		s.log.Log(r, seclog.IdentityInactive, zap.String("authenticator", SchemeSession), seclog.String("session_user", id))
	case !sameCredential(s.sm.GetString(ctx, SessionCredentialKey), u):
		s.log.Log(r, seclog.IdentityCredentialChanged, seclog.String("session_user", id))
	default:
		return u, nil
	}
	if err := s.sm.Destroy(ctx); err != nil {
		return nil, fmt.Errorf("identity: destroy the session of a user who may no longer use it: %w", err)
	}
	return nil, nil
}
