package loginrequired

import (
	"net/http"

	"github.com/bulwark-go/bulwark/identity"
)

// An Authorizer decides whether the user of a request may use a route (the
// model of django-denied). The user is nil for an anonymous request. Use
// the built-ins or [Func].
type Authorizer struct {
	name   string
	admin  bool
	routed bool // fn reads the request: give it the route's path values
	fn     func(r *http.Request, u identity.User) bool
}

// String returns the authorizer's name.
func (a Authorizer) String() string { return a.name }

// Allows reports whether a allows u (nil: anonymous) to use r's route. The
// zero Authorizer allows nobody.
func (a Authorizer) Allows(r *http.Request, u identity.User) bool {
	return a.fn != nil && a.fn(r, u)
}

// The built-in authorizers.
var (
	// Public allows everyone, anonymous included.
	Public = Authorizer{name: "public", fn: func(*http.Request, identity.User) bool { return true }}
	// LoggedIn allows every logged-in (active) user.
	LoggedIn = Authorizer{name: "logged-in", fn: func(_ *http.Request, u identity.User) bool { return u != nil }}
	// Staff allows staff users and superusers.
	Staff = Authorizer{name: "staff", admin: true, fn: func(_ *http.Request, u identity.User) bool {
		return u != nil && (u.Staff() || u.Superuser())
	}}
	// Superuser allows superusers only.
	Superuser = Authorizer{name: "superuser", admin: true, fn: func(_ *http.Request, u identity.User) bool {
		return u != nil && u.Superuser()
	}}
)

// Func returns an authorizer named name (it appears in security events)
// that allows a logged-in user when fn says so; anonymous requests are
// never passed to fn and are sent to log in.
//
// fn reads the route's values as the handler will: for a rule
// "/tasks/{id}", r.PathValue("id") is "42" on /tasks/42, and r.Pattern is
// the rule's pattern (name the rule's wildcards as your route does). The
// gate runs before the router, so it sets them on a shallow copy of the
// request, made only for rules with wildcards; on other rules fn gets the
// request as it came.
func Func(name string, fn func(r *http.Request, u identity.User) bool) Authorizer {
	return Authorizer{name: name, routed: true, fn: func(r *http.Request, u identity.User) bool {
		return u != nil && fn != nil && fn(r, u)
	}}
}
