package mfa

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
)

// The session keys of the gate. Every value is a plain string (no gob
// registration), bound to the user id and to the login time that
// identity.Sessions.Login stored (identity.SessionLoginKey): a value left
// by another user, or by an earlier login of the same user, is ignored.
const (
	// SessionKey holds the session's verdict: verified, bypassed or not
	// required, when, by which method.
	SessionKey = "bulwark.mfa"
	// SessionChallengeKey holds the challenge under way: its one-time
	// state, when it began, and the method.
	SessionChallengeKey = "bulwark.mfa.challenge"
	// SessionNextKey holds the return path, kept server-side.
	SessionNextKey = "bulwark.mfa.next"
)

// State is where a session stands with the second factor.
type State uint8

const (
	// None: no second factor in this session, and no challenge begun.
	None State = iota
	// Pending: a challenge has begun and is not complete.
	Pending
	// Verified: the user passed the second factor in this session.
	Verified
	// Bypassed: the provider could not answer and fail mode Open let the
	// user in without a second factor, for Config.BypassFor.
	Bypassed
	// NotRequired: Config.Required said the user needs no second factor
	// (cached for Config.CacheTTL).
	NotRequired
)

// String returns "none", "pending", "verified", "bypassed" or
// "not-required".
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Verified:
		return "verified"
	case Bypassed:
		return "bypassed"
	case NotRequired:
		return "not-required"
	}
	return "none"
}

var stateCodes = map[State]string{Verified: "v", Bypassed: "b", NotRequired: "n"}

// Status is a session's standing with the second factor, as
// [Middleware.Status] reads it.
type Status struct {
	// State is where the session stands (None: no second factor asked yet).
	State State
	// At is when the state was reached (the challenge began, the user
	// passed, the bypass or the verdict was recorded).
	At time.Time
	// Method is the verifier's method ("totp"), [MethodLogin] when the
	// login itself was multi-factor, "" for NotRequired/None.
	Method string
}

// binding is what every session value is bound to.
type binding struct {
	user    string // escaped user id
	loginAt int64  // identity.SessionLoginKey
}

// matches reports whether the login-time and user fields of a stored
// value are this binding's (parsed, not formatted: no allocation on the
// request path).
func (b binding) matches(loginAt, user string) bool {
	n, err := strconv.ParseInt(loginAt, 10, 64)
	return err == nil && n == b.loginAt && user == b.user
}

func (b binding) login() string { return strconv.FormatInt(b.loginAt, 10) }

// split cuts s at "|" into exactly len(out) fields; the last field takes
// the rest. It reports false when there are fewer.
func split(s string, out []string) bool {
	for i := range len(out) - 1 {
		var ok bool
		out[i], s, ok = strings.Cut(s, "|")
		if !ok {
			return false
		}
	}
	out[len(out)-1] = s
	return true
}

// session returns the binding of r's scs session when it is logged in as
// userID; [ErrNoSession] when it is not (nobody or someone else logged
// in: a bearer or basic request); an error wrapping
// identity.ErrSessionNotLoaded when no session was loaded (the manager's
// LoadAndSave did not run before), where scs would panic.
func (m *Middleware) session(ctx context.Context, userID string) (binding, error) {
	if err := m.core.Session(ctx, m.sm); err != nil {
		return binding{}, err
	}
	if userID == "" || m.sm.GetString(ctx, identity.SessionUserKey) != userID {
		return binding{}, ErrNoSession
	}
	return binding{user: url.QueryEscape(userID), loginAt: m.sm.GetInt64(ctx, identity.SessionLoginKey)}, nil
}

// verdict is the decoded SessionKey value.
type verdict struct {
	state  State
	at     time.Time
	method string
}

// readVerdict returns the session's verdict. Without one of this user and
// login, a login that was itself multi-factor (identity.MethodMFA: a
// passkey with user verification) is Verified by [MethodLogin] at the
// login time; anything else is None.
func readVerdict(sm *scs.SessionManager, ctx context.Context, b binding) verdict {
	if v := storedVerdict(sm, ctx, b); v.state != None {
		return v
	}
	if identity.HasLoginMethod(ctx, sm, identity.MethodMFA) {
		return verdict{state: Verified, at: time.Unix(0, b.loginAt).UTC(), method: MethodLogin}
	}
	return verdict{}
}

// storedVerdict returns the verdict the gate stored, or None when there is
// none or it belongs to another user or login, or is malformed.
func storedVerdict(sm *scs.SessionManager, ctx context.Context, b binding) verdict {
	var f [6]string
	if !split(sm.GetString(ctx, SessionKey), f[:]) || f[0] != "1" || !b.matches(f[4], f[5]) {
		return verdict{}
	}
	ns, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return verdict{}
	}
	for s, code := range stateCodes {
		if f[1] == code {
			return verdict{state: s, at: time.Unix(0, ns).UTC(), method: f[3]}
		}
	}
	return verdict{}
}

func writeVerdict(sm *scs.SessionManager, ctx context.Context, b binding, v verdict) {
	sm.Put(ctx, SessionKey, strings.Join([]string{"1", stateCodes[v.state], strconv.FormatInt(v.at.UnixNano(), 10), v.method, b.login(), b.user}, "|"))
}

// challenge is the decoded SessionChallengeKey value.
type challenge struct {
	state  string
	began  time.Time
	method string
	// redirected: the verifier sent the user to a provider (Prompt.Redirect),
	// whose answer comes back to Config.CallbackURL; only such a challenge
	// takes an answer there.
	redirected bool
}

func readChallenge(sm *scs.SessionManager, ctx context.Context, b binding) (challenge, bool) {
	var f [7]string
	if !split(sm.GetString(ctx, SessionChallengeKey), f[:]) || f[0] != "2" || !b.matches(f[5], f[6]) || f[1] == "" {
		return challenge{}, false
	}
	ns, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return challenge{}, false
	}
	return challenge{state: f[1], began: time.Unix(0, ns).UTC(), method: f[3], redirected: f[4] == "r"}, true
}

func writeChallenge(sm *scs.SessionManager, ctx context.Context, b binding, c challenge) {
	kind := "p" // the page's own form or script
	if c.redirected {
		kind = "r"
	}
	sm.Put(ctx, SessionChallengeKey, strings.Join([]string{"2", c.state, strconv.FormatInt(c.began.UnixNano(), 10), c.method, kind, b.login(), b.user}, "|"))
}

// readNext returns the return path kept for this user and login, "" when
// there is none.
func readNext(sm *scs.SessionManager, ctx context.Context, b binding) string {
	var f [4]string
	if !split(sm.GetString(ctx, SessionNextKey), f[:]) || f[0] != "1" || !b.matches(f[1], f[2]) {
		return ""
	}
	return f[3]
}

func writeNext(sm *scs.SessionManager, ctx context.Context, b binding, next string) {
	sm.Put(ctx, SessionNextKey, "1|"+b.login()+"|"+b.user+"|"+next)
}
