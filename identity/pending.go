package identity

import (
	"context"
	"net/http"
)

type pendingKey struct{}

// WithPending returns r marked as a step of logging in that gate (such as
// "mfa") has not finished yet: the gate let r through only because r is
// for one of its own pages (its challenge page, its callback). The gates
// that come after it in the chain let such a request through too (see
// [Pending]): a user is sent to change their password after the second
// factor, not in the middle of it, and two gates that each send the user
// to their own page would otherwise send them back and forth forever.
//
// A gate calls it; applications do not need to.
func WithPending(r *http.Request, gate string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), pendingKey{}, gate))
}

// Pending returns the gate whose unfinished step the request is for (see
// [WithPending]), or "".
func Pending(ctx context.Context) string {
	g, _ := ctx.Value(pendingKey{}).(string)
	return g
}
