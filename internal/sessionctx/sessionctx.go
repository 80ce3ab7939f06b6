// Package sessionctx is the one check of a chain in the wrong order: it
// tells whether a request's context holds the session data of an scs
// manager (its LoadAndSave ran before), and answers a request that reached
// a middleware reading the session without it. scs itself panics ("scs: no
// session data in context") on the first read of such a request.
//
// Every package that reads scs on a request (identity's Sessions,
// sessionexpiry, mfa, passwordexpiry) asks [Check] before its first read:
// one context lookup, no allocation and no recover on the happy path.
package sessionctx

import (
	"context"
	"errors"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/internal/httpjson"
	"github.com/bulwark-go/bulwark/seclog"
)

// ErrNotLoaded is wrapped by the error of [Check]; identity exports it as
// identity.ErrSessionNotLoaded.
var ErrNotLoaded = errors.New("the scs session is not loaded in the request context")

// Error is the error of [Check]: it names the middleware that found the
// session missing, and the fix.
type Error struct {
	Middleware string // the package that reads the session: "mfa"
}

// Fix says what to write: "put Sessions.LoadAndSave (the Chain's Sessions
// slot) before mfa".
func (e *Error) Fix() string {
	return "put Sessions.LoadAndSave (the Chain's Sessions slot) before " + e.Middleware
}

func (e *Error) Error() string {
	return e.Middleware + ": " + ErrNotLoaded.Error() + ": " + e.Fix()
}

// Unwrap returns [ErrNotLoaded].
func (e *Error) Unwrap() error { return ErrNotLoaded }

// Loaded reports whether ctx holds sm's session data. scs's Load returns
// its ctx unchanged, without allocating, exactly when it does; otherwise
// it would make a new, empty session, which is thrown away here.
func Loaded(ctx context.Context, sm *scs.SessionManager) bool {
	loaded, err := sm.Load(ctx, "")
	return err == nil && loaded == ctx
}

// Check returns nil when ctx holds sm's session data, and otherwise an
// [*Error] for middleware (its package name), which wraps [ErrNotLoaded].
func Check(ctx context.Context, sm *scs.SessionManager, middleware string) error {
	if Loaded(ctx, sm) {
		return nil
	}
	return &Error{Middleware: middleware}
}

// Refuse answers a request for which [Check] returned err (or an error
// wrapping it): it logs seclog.SessionNotLoaded, with the middleware and
// the fix, and answers 500 with Cache-Control: no-store and the small JSON
// body {"error":"session_not_loaded"}. A 500, not the 503 of a store that
// cannot answer: retrying will not help, the deployment must change.
func Refuse(w http.ResponseWriter, r *http.Request, log *seclog.Logger, err error) {
	e := &Error{}
	errors.As(err, &e)
	log.Log(r, seclog.SessionNotLoaded, zap.String("middleware", e.Middleware), zap.String("fix", e.Fix()))
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, r, http.StatusInternalServerError, `{"error":"session_not_loaded"}`)
}
