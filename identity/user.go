package identity

import (
	"context"
	"net/http"
)

// A User is what the gates need to know about the person or program behind
// a request. Applications implement it on their own user type, or use
// [Basic].
type User interface {
	// ID is the user's stable, unique identifier (it is logged as the
	// "user" field of security events, so prefer an id to an e-mail).
	ID() string
	// DisplayName is a name to show to people.
	DisplayName() string
	// Active reports whether the user may log in at all. An inactive user
	// is treated as anonymous.
	Active() bool
	// Staff reports whether the user may use staff pages.
	Staff() bool
	// Superuser reports whether the user has every permission.
	Superuser() bool
}

// A Usernamer is a [User] whose login name is not its id: Django's
// username beside a numeric primary key, an e-mail used to log in. Other
// systems that know the user by name (Duo's Universal Prompt, an identity
// provider) read it through [Username]. Implement it on the application's
// user type when its ID is not the name the user logs in with.
type Usernamer interface {
	// Username returns the name the user logs in with; "" means the id.
	Username() string
}

// Username returns the name u logs in with: u.Username() when u is a
// [Usernamer] that returns one, else u.ID() (a [Basic]'s id is its user
// name). It never returns the display name, which need not be unique.
func Username(u User) string {
	if n, ok := u.(Usernamer); ok {
		if name := n.Username(); name != "" {
			return name
		}
	}
	return u.ID()
}

// Basic is a plain [User], for tests, examples and applications whose
// user type needs nothing more; a richer user type implements [User]
// itself.
type Basic struct {
	// UserID is what [User.ID] returns: stable and unique.
	UserID string
	// Name is the display name; empty shows the id.
	Name string
	// IsActive must be true for the user to be anyone: the zero Basic
	// is inactive, so treated as anonymous.
	IsActive bool
	// IsStaff lets the user use staff pages.
	IsStaff bool
	// IsSuperuser gives the user every permission.
	IsSuperuser bool
}

// ID returns u.UserID.
func (u Basic) ID() string { return u.UserID }

// DisplayName returns u.Name, or the id when the name is empty.
func (u Basic) DisplayName() string {
	if u.Name == "" {
		return u.UserID
	}
	return u.Name
}

// Active returns u.IsActive.
func (u Basic) Active() bool { return u.IsActive }

// Staff returns u.IsStaff.
func (u Basic) Staff() bool { return u.IsStaff }

// Superuser returns u.IsSuperuser.
func (u Basic) Superuser() bool { return u.IsSuperuser }

type userKey struct{}

// authenticated is what the context carries: the user and the scheme that
// found it, together, so that one can never be read with the other's
// request.
type authenticated struct {
	user   User
	scheme string
}

// NewContext returns a copy of ctx that carries u as the request's user,
// with no scheme: NewSchemeContext(ctx, u, "").
func NewContext(ctx context.Context, u User) context.Context {
	return NewSchemeContext(ctx, u, "")
}

// NewSchemeContext returns a copy of ctx that carries u as the request's
// user, found by the authenticator of the given scheme (see
// [Authenticator.Scheme] and [SchemeFromContext]). A nil or inactive u
// carries no user and no scheme: the request is anonymous. The
// [Middleware] calls it; tests and custom identity slots may too.
func NewSchemeContext(ctx context.Context, u User, scheme string) context.Context {
	if !valid(u) {
		return context.WithValue(ctx, userKey{}, authenticated{})
	}
	return context.WithValue(ctx, userKey{}, authenticated{user: u, scheme: scheme})
}

// FromContext returns the request's user, or nil for an anonymous request.
// A user that is not active is never returned.
func FromContext(ctx context.Context) User {
	a, _ := ctx.Value(userKey{}).(authenticated)
	if !valid(a.user) {
		return nil
	}
	return a.user
}

// FromRequest is FromContext(r.Context()).
func FromRequest(r *http.Request) User { return FromContext(r.Context()) }

// SchemeFromContext returns what authenticated the request's user, DRF's
// request.auth without the secret: [SchemeSession] for a logged-in
// browser, [SchemeBearer], [SchemeToken] or [SchemeBasic] for an API
// client, a custom authenticator's [Authenticator.Scheme]; "" for an
// anonymous request or a user put in the context without a scheme. A gate
// reads it to tell a session user from an API token user (for example to
// ask a second factor of sessions only); it is never the token itself.
func SchemeFromContext(ctx context.Context) string {
	a, _ := ctx.Value(userKey{}).(authenticated)
	if !valid(a.user) {
		return ""
	}
	return a.scheme
}

// SchemeFromRequest is SchemeFromContext(r.Context()).
func SchemeFromRequest(r *http.Request) string { return SchemeFromContext(r.Context()) }

// valid reports whether u is a user who may be served: not nil, active,
// with an id.
func valid(u User) bool {
	return u != nil && u.Active() && u.ID() != ""
}
