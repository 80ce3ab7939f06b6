package identity

import (
	"context"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/internal/sessionctx"
)

type renewalKey struct{}

// RenewToken renews the session token of ctx on sm, as sm.RenewToken does
// (session fixation: a new token at login and after any change of
// privilege), and tells the session store that the old token ends by a
// renewal, not by a logout ([Renewal]). sessionexpiry's store guard needs
// to know: a token that replaces one logged out meanwhile by another
// request is never committed, while two renewals of one session racing
// (a login form sent twice) both stand. Login, Reauthenticate, mfa's
// Complete and passwordexpiry's Changed renew through it; so should an
// application that renews the token itself. A context without sm's
// session (no LoadAndSave ran) is an error wrapping [ErrSessionNotLoaded].
func RenewToken(ctx context.Context, sm *scs.SessionManager) error {
	if err := sessionctx.Check(ctx, sm, "identity"); err != nil {
		return err
	}
	return sm.RenewToken(context.WithValue(ctx, renewalKey{}, true))
}

// Renewal reports whether ctx is that of a [RenewToken] call: a session
// store, or a wrapper of one, asked to delete a token under it deletes
// the token a renewal replaces.
func Renewal(ctx context.Context) bool {
	v, _ := ctx.Value(renewalKey{}).(bool)
	return v
}
