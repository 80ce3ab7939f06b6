package passwordexpiry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
)

// SessionKey is the session key under which the gate caches its verdict:
// a string "1|UNTIL|REASON|USER", where UNTIL is when the verdict goes
// stale (Unix nanoseconds), REASON the requirement ("" for none) and USER
// the user it is about. A string needs no gob registration, so sessions
// stay readable by any scs codec and across releases.
const SessionKey = "bulwark.passwordexpiry"

// session returns the session manager when r carries a session logged in
// as userID (the identity.Sessions login), nil otherwise: no cache for a
// bearer or basic request, nor for a session of another user, nor when
// scs's LoadAndSave did not run (Check reports that; Changed and Require
// then leave the session alone).
func (m *Middleware) session(r *http.Request, userID string) *scs.SessionManager {
	if m.sm == nil || m.core.Session(r.Context(), m.sm) != nil {
		return nil
	}
	if m.sm.GetString(r.Context(), identity.SessionUserKey) != userID {
		return nil
	}
	return m.sm
}

// cached returns the session's verdict about userID, and false when there
// is no verdict, or one about someone else, stale or malformed. It reads
// the session once (each scs read allocates); the caller has checked that
// the session is loaded.
func (m *Middleware) cached(ctx context.Context, userID string, now time.Time) (Reason, bool) {
	v := m.sm.GetString(ctx, SessionKey)
	rest, ok := strings.CutPrefix(v, "1|")
	if !ok {
		return None, false
	}
	untilText, rest, ok := strings.Cut(rest, "|")
	if !ok {
		return None, false
	}
	reason, user, ok := strings.Cut(rest, "|")
	if !ok || user != userID {
		return None, false
	}
	until, err := strconv.ParseInt(untilText, 10, 64)
	if err != nil {
		return None, false
	}
	left := until - now.UnixNano()
	// Stale, or fresher than the bound allows (the clock went back, or the
	// value was written under a longer CacheTTL): ask the store again.
	if left <= 0 || left > int64(m.ttl) {
		return None, false
	}
	return Reason(reason), true
}

// remember caches a verdict in the session until until.
func (m *Middleware) remember(ctx context.Context, sm *scs.SessionManager, userID string, reason Reason, until time.Time) {
	sm.Put(ctx, SessionKey, "1|"+strconv.FormatInt(until.UnixNano(), 10)+"|"+string(reason)+"|"+userID)
}
