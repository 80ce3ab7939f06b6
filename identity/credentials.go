package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MaxAuthorizationLen is the longest Authorization header the bearer and
// basic authenticators read; a longer one is refused as invalid without
// being parsed.
const MaxAuthorizationLen = 4096

// Bearer authenticates requests that carry "Authorization: Bearer TOKEN"
// (RFC 6750), or another keyword: Bearer{Keyword: "Token"} reads
// "Authorization: Token TOKEN", as DRF's TokenAuthentication does. Requests
// without an Authorization header, or with another scheme, are not
// attempted. To accept both keywords, list two Bearers.
type Bearer struct {
	// Lookup returns the user a token belongs to, (nil, nil) for an
	// unknown token, or an error when it cannot tell. Compare tokens in
	// constant time, or look up a hash of them. Required.
	Lookup func(ctx context.Context, token string) (User, error)
	// Keyword is the authentication scheme of the Authorization header,
	// compared without case (default "Bearer"; DRF's is "Token"). It must
	// be one RFC 9110 token, without spaces, and not "Basic". It is also
	// the scheme of the challenge, and, in lower case, the authenticator's
	// [Authenticator.Scheme] ("bearer", "token").
	Keyword string
	// Realm is the realm of the WWW-Authenticate challenge (default "api").
	// It may not hold '"', '\' or control characters.
	Realm string
}

// keyword returns b.Keyword or its default.
func (b *Bearer) keyword() string {
	if b.Keyword == "" {
		return "Bearer"
	}
	return b.Keyword
}

// Authenticate implements [Authenticator].
func (b *Bearer) Authenticate(r *http.Request) (User, error) {
	token, ok, err := credential(r, b.keyword())
	if !ok || err != nil {
		return nil, err
	}
	if !token68(token) {
		return nil, fmt.Errorf("%w: malformed %s token", ErrInvalidCredentials, b.Scheme())
	}
	u, err := b.Lookup(r.Context(), token)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("%w: unknown %s token", ErrInvalidCredentials, b.Scheme())
	}
	return u, nil
}

func (b *Bearer) validate() error {
	if b.Lookup == nil {
		return errors.New("Bearer.Lookup is nil: give a func that finds the user of a token")
	}
	if !isToken(b.keyword()) || strings.EqualFold(b.keyword(), "Basic") {
		return fmt.Errorf("Bearer.Keyword %q: write one word without spaces, such as \"Bearer\" (the default) or \"Token\"", b.Keyword)
	}
	return validRealm("Bearer", b.Realm)
}

// Scheme implements [Authenticator]: the keyword in lower case,
// [SchemeBearer] by default, [SchemeToken] for Keyword "Token".
func (b *Bearer) Scheme() string { return strings.ToLower(b.keyword()) }

// Challenge implements [Challenger]: the keyword and the realm, such as
// `Bearer realm="api"` or `Token realm="api"`.
func (b *Bearer) Challenge() string { return b.keyword() + ` realm="` + realm(b.Realm) + `"` }

// BasicAuth authenticates requests that carry HTTP basic authentication
// (RFC 7617). Requests without an Authorization header, or with another
// scheme, are not attempted. Use it for machine clients, over TLS.
type BasicAuth struct {
	// Check returns the user whose name and password these are, (nil, nil)
	// when they are wrong, or an error when it cannot tell. Required.
	Check func(ctx context.Context, username, password string) (User, error)
	// Realm is the realm of the WWW-Authenticate challenge (default "api").
	Realm string
}

// Authenticate implements [Authenticator].
func (b *BasicAuth) Authenticate(r *http.Request) (User, error) {
	if _, ok, err := credential(r, "Basic"); !ok || err != nil {
		return nil, err
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return nil, fmt.Errorf("%w: malformed basic credentials", ErrInvalidCredentials)
	}
	u, err := b.Check(r.Context(), name, pass)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, fmt.Errorf("%w: wrong user name or password", ErrInvalidCredentials)
	}
	return u, nil
}

func (b *BasicAuth) validate() error {
	if b.Check == nil {
		return errors.New("BasicAuth.Check is nil: give a func that checks a user name and password")
	}
	return validRealm("BasicAuth", b.Realm)
}

// Scheme implements [Authenticator]: [SchemeBasic].
func (b *BasicAuth) Scheme() string { return SchemeBasic }

// Challenge implements [Challenger].
func (b *BasicAuth) Challenge() string {
	return `Basic realm="` + realm(b.Realm) + `", charset="UTF-8"`
}

// validRealm refuses a realm that cannot be sent in a quoted string as is.
func validRealm(typ, r string) error {
	for _, c := range []byte(r) {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return fmt.Errorf("%s.Realm %q: use printable characters without '\"' or '\\'", typ, r)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token: one or more tchars.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func realm(r string) string {
	if r == "" {
		return "api"
	}
	return r
}

// credential returns the credentials of r's Authorization header when its
// scheme is scheme (compared without case). ok is false when there is no
// such header or it names another scheme: not attempted. An oversized or
// repeated header is an invalid credential.
func credential(r *http.Request, scheme string) (cred string, ok bool, err error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", false, nil
	}
	v := values[0]
	s, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(s, scheme) {
		return "", false, nil
	}
	if len(values) > 1 {
		return "", true, fmt.Errorf("%w: more than one Authorization header", ErrInvalidCredentials)
	}
	if len(v) > MaxAuthorizationLen {
		return "", true, fmt.Errorf("%w: Authorization header of %d bytes", ErrInvalidCredentials, len(v))
	}
	return strings.TrimSpace(rest), true, nil
}

// token68 reports whether s is an RFC 9110 token68.
func token68(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
