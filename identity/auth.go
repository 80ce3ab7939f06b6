package identity

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/internal/check"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
)

// ErrInvalidCredentials is what an [Authenticator] returns (or wraps) when
// the request carries credentials and they are wrong: the request is
// refused, 401 with the challenge of the first [Challenger] among the
// authenticators, or 403 when none has one. Any other error means the authenticator could not decide
// (a store is down): the request is answered 503, unless FailOpen.
var ErrInvalidCredentials = errors.New("identity: invalid credentials")

// ErrSessionNotLoaded is wrapped by the error of a middleware or method
// that reads the scs session of a request whose context holds none: the
// manager's LoadAndSave did not run before it (a hand-made chain in the
// wrong order; bulwark.Chain puts its Sessions slot first). The error
// names the middleware and the fix. The middlewares answer such a request
// 500 and log seclog.SessionNotLoaded, whatever their FailOpen, where scs
// itself would panic.
var ErrSessionNotLoaded = sessionctx.ErrNotLoaded

// An Authenticator recognises the user of a request by one kind of
// credential (a session, a bearer token, basic authentication), as DRF's
// authentication classes do. Authenticate returns:
//
//   - (user, nil): the request is the user's;
//   - (nil, nil): this authenticator did not find its kind of credential
//     (not attempted): the next one is tried;
//   - (nil, err): the credential was there and is refused (err wraps
//     [ErrInvalidCredentials]), or the authenticator could not decide (any
//     other error). Never a fall-through to anonymous.
type Authenticator interface {
	// Authenticate reads r's credential of this kind and returns its
	// user, as described above. It must not write to r's session or
	// response: refusing is the middleware's work.
	Authenticate(r *http.Request) (User, error)
	// Scheme names this kind of credential, as the security log and the
	// gates see it ([SchemeFromContext], the "authenticator" field):
	// [SchemeSession], [SchemeBasic], a [Bearer]'s keyword in lower case
	// ("bearer", "token"), or a custom authenticator's own stable name
	// ("apikey"). It must be an RFC 9110 token (letters, digits and
	// !#$%&'*+-.^_`|~, no spaces); it is read once, at construction. It
	// names the mechanism, never the credential.
	Scheme() string
}

// The schemes of the built-in authenticators (see [Authenticator.Scheme]).
const (
	// SchemeSession is the scheme of [Sessions]: a logged-in browser.
	SchemeSession = "session"
	// SchemeBearer is the scheme of a [Bearer] with the default keyword.
	SchemeBearer = "bearer"
	// SchemeToken is the scheme of a Bearer{Keyword: "Token"}, as DRF's
	// TokenAuthentication.
	SchemeToken = "token"
	// SchemeBasic is the scheme of [BasicAuth].
	SchemeBasic = "basic"
)

// A Challenger is an [Authenticator] that names its WWW-Authenticate
// challenge. A refused credential, whichever authenticator refused it, is
// answered 401 with the challenge of the first Challenger of
// [Config.Authenticators] ([FirstChallenge], as DRF's authenticate_header),
// or 403 when none has one: a 401 without WWW-Authenticate breaks RFC
// 9110.
type Challenger interface {
	// Challenge returns the WWW-Authenticate value, such as
	// `Bearer realm="api"`, or "" for none. It is read once, at
	// construction.
	Challenge() string
}

// FirstChallenge returns the challenge of the first authenticator of auths
// that is a [Challenger] with a non-empty challenge, or "" when none has
// one. It is the one rule of the suite's 401s: [New] gives it to the
// middleware's default [Responder], and bulwark.Chain to the chain's, so
// that a refused credential and a gate's "log in first" name the same
// challenge. A nil authenticator is skipped.
func FirstChallenge(auths []Authenticator) string {
	for _, a := range auths {
		if c, ok := a.(Challenger); ok && !check.Nil(a) {
			if v := c.Challenge(); v != "" {
				return v
			}
		}
	}
	return ""
}

// Config configures the identity [Middleware].
type Config struct {
	// Authenticators are tried in order; the first that returns a user or
	// an error decides. At least one is required.
	Authenticators []Authenticator
	// FailOpen serves a request as anonymous when an authenticator could
	// not decide (a store error). The default, false, answers 503.
	FailOpen bool
	// Responder answers a refused credential (as an unauthenticated
	// refusal with code "invalid_credentials" and no Location: 401 with
	// its challenge, or 403 when it has none). Nil means a Responder whose
	// Challenge is [FirstChallenge] of Authenticators. bulwark.Chain gives
	// the chain's, so that every refusal of an application answers alike.
	Responder *Responder
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
}

// Middleware finds the user of each request with its authenticators and
// puts it in the request's context ([FromContext]) with the scheme of the
// authenticator that found it ([SchemeFromContext]), and both in the
// security log's user and auth fields. It decides nothing about access:
// the gates (loginrequired and the others) do.
type Middleware struct {
	auths    []Authenticator
	names    []string // the Scheme of each authenticator, read once
	failOpen bool
	rs       *Responder
	log      *seclog.Logger
}

// New returns the identity middleware for cfg.
func New(cfg Config) (*Middleware, error) {
	if len(cfg.Authenticators) == 0 {
		return nil, errors.New("identity: Config.Authenticators is empty: give at least one (for example a *identity.Sessions)")
	}
	m := &Middleware{auths: cfg.Authenticators, failOpen: cfg.FailOpen, rs: cfg.Responder, log: cfg.Logger}
	for i, a := range cfg.Authenticators {
		if check.Nil(a) {
			return nil, fmt.Errorf("identity: Config.Authenticators[%d] is nil", i)
		}
		if v, ok := a.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, fmt.Errorf("identity: Config.Authenticators[%d]: %w", i, err)
			}
		}
		name := a.Scheme()
		if !isToken(name) {
			return nil, fmt.Errorf("identity: Config.Authenticators[%d] (%T): Scheme() %q is not a token: return a short stable name such as \"apikey\" (letters, digits, '-', '_', '.', no spaces)", i, a, name)
		}
		if c, ok := a.(Challenger); ok && strings.ContainsAny(c.Challenge(), "\r\n") {
			return nil, fmt.Errorf("identity: Config.Authenticators[%d] (%s): its Challenge() must be one line (no CR or LF)", i, name)
		}
		m.names = append(m.names, name)
	}
	if m.rs == nil {
		rs, err := NewResponder(ResponderConfig{Challenge: FirstChallenge(cfg.Authenticators)})
		if err != nil {
			return nil, fmt.Errorf("identity: Config.Authenticators: %w", err) // unreachable: checked above
		}
		m.rs = rs
	}
	if m.log == nil {
		m.log = seclog.Default()
	}
	return m, nil
}

// Identify runs the authenticators on r. It returns the user (nil for
// anonymous), or the error of the authenticator that refused the request
// or could not decide, with that authenticator's index. It is the pure
// decision of [Middleware.Handler].
func (m *Middleware) Identify(r *http.Request) (u User, which int, err error) {
	for i, a := range m.auths {
		u, err := a.Authenticate(r)
		if err != nil {
			return nil, i, err
		}
		if u != nil {
			if !valid(u) {
				return nil, i, fmt.Errorf("%w: user %q is inactive", ErrInvalidCredentials, u.ID())
			}
			return u, i, nil
		}
	}
	return nil, -1, nil
}

// Handler returns next behind the identity middleware.
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, i, err := m.Identify(r)
		switch {
		case err == nil && u == nil:
			next.ServeHTTP(w, r)
		case err == nil:
			ctx := seclog.WithAuth(seclog.WithUser(NewSchemeContext(r.Context(), u, m.names[i]), u.ID()), m.names[i])
			next.ServeHTTP(w, r.WithContext(ctx))
		case errors.Is(err, ErrSessionNotLoaded):
			sessionctx.Refuse(w, r, m.log, err) // a chain in the wrong order: 500, whatever FailOpen
		case errors.Is(err, ErrInvalidCredentials):
			m.log.Log(r, seclog.IdentityAuthFailed, zap.String("authenticator", m.names[i]), seclog.String("reason", err.Error()), zap.Int("status", m.rs.unauthenticatedStatus()))
			m.rs.Refuse(w, r, Refusal{Code: "invalid_credentials", Unauthenticated: true})
		default:
			m.log.Log(r, seclog.IdentityUnavailable, zap.String("authenticator", m.names[i]), seclog.String("error", err.Error()), zap.Bool("fail_open", m.failOpen))
			if m.failOpen {
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), nil)))
				return
			}
			Unavailable(w, r, nil)
		}
	})
}
