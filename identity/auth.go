package identity

import (
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/internal/httpjson"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
)

// ErrInvalidCredentials is what an [Authenticator] returns (or wraps) when
// the request carries credentials and they are wrong: the request is
// answered 401. Any other error means the authenticator could not decide
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
}

// A Challenger is an [Authenticator] that names its WWW-Authenticate
// challenge, sent with the 401 when its credential is refused.
type Challenger interface {
	// Challenge returns the WWW-Authenticate value, such as
	// `Bearer realm="api"`. It is read once, at construction.
	Challenge() string
}

// Config configures the identity [Middleware].
type Config struct {
	// Authenticators are tried in order; the first that returns a user or
	// an error decides. At least one is required.
	Authenticators []Authenticator
	// FailOpen serves a request as anonymous when an authenticator could
	// not decide (a store error). The default, false, answers 503.
	FailOpen bool
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
}

// Middleware finds the user of each request with its authenticators and
// puts it in the request's context ([FromContext]) and in the security
// log's user field. It decides nothing about access: the gates
// (loginrequired and the others) do.
type Middleware struct {
	auths    []Authenticator
	names    []string
	failOpen bool
	log      *seclog.Logger
}

// New returns the identity middleware for cfg.
func New(cfg Config) (*Middleware, error) {
	if len(cfg.Authenticators) == 0 {
		return nil, errors.New("identity: Config.Authenticators is empty: give at least one (for example a *identity.Sessions)")
	}
	m := &Middleware{auths: cfg.Authenticators, failOpen: cfg.FailOpen, log: cfg.Logger}
	for i, a := range cfg.Authenticators {
		if a == nil {
			return nil, fmt.Errorf("identity: Config.Authenticators[%d] is nil", i)
		}
		if v, ok := a.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, fmt.Errorf("identity: Config.Authenticators[%d]: %w", i, err)
			}
		}
		m.names = append(m.names, fmt.Sprintf("%T", a))
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
			ctx := seclog.WithUser(NewContext(r.Context(), u), u.ID())
			next.ServeHTTP(w, r.WithContext(ctx))
		case errors.Is(err, ErrSessionNotLoaded):
			sessionctx.Refuse(w, r, m.log, err) // a chain in the wrong order: 500, whatever FailOpen
		case errors.Is(err, ErrInvalidCredentials):
			m.log.Log(r, seclog.IdentityAuthFailed, zap.String("authenticator", m.names[i]), seclog.String("reason", err.Error()))
			h := w.Header()
			if c, ok := m.auths[i].(Challenger); ok && c.Challenge() != "" {
				h.Set("WWW-Authenticate", c.Challenge())
			}
			h.Set("Cache-Control", "no-store")
			httpjson.Write(w, r, http.StatusUnauthorized, `{"error":"invalid_credentials"}`)
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
