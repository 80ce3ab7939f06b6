package identity

import (
	"context"
	"fmt"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
)

// How a user proved who they are at login: authentication method
// references, the "amr" values of RFC 8176 (and of OpenID Connect ID
// tokens), which [Sessions.Login] records in the session. The gates read
// them: the mfa gate counts a login that holds [MethodMFA] as the second
// factor already passed, and passwordexpiry leaves alone a session logged
// in through an identity provider ([MethodFederated]).
const (
	// MethodPassword: a password ("pwd"). A Login with no methods records
	// it.
	MethodPassword = "pwd"
	// MethodOTP: a one-time password ("otp").
	MethodOTP = "otp"
	// MethodHardwareKey: proof of possession of a hardware-bound key, such
	// as a passkey ("hwk").
	MethodHardwareKey = "hwk"
	// MethodUserPresence: a user-presence test ("user").
	MethodUserPresence = "user"
	// MethodMFA: several factors were checked at login ("mfa"), such as a
	// passkey with user verification (something held and something known
	// or been), or an identity provider's own second factor when the
	// application trusts it.
	MethodMFA = "mfa"
	// MethodFederated: an external identity provider vouched for the user
	// ("fed", as Entra ID writes it; RFC 8176 registers no value for it).
	MethodFederated = "fed"
)

// maxMethods bounds the methods one login records.
const maxMethods = 8

// checkMethods returns an error when a method is not 1 to 16 of
// [a-z0-9_-] (so the space-separated session value stays unambiguous),
// or when there are more than maxMethods.
func checkMethods(methods []string) error {
	if len(methods) > maxMethods {
		return fmt.Errorf("identity: Login: %d methods, more than %d", len(methods), maxMethods)
	}
	for _, m := range methods {
		if m == "" || len(m) > 16 {
			return fmt.Errorf("identity: Login: method %q: write an RFC 8176 value such as %q or %q", m, MethodPassword, MethodHardwareKey)
		}
		for i := 0; i < len(m); i++ {
			c := m[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
				return fmt.Errorf("identity: Login: method %q: write an RFC 8176 value such as %q or %q", m, MethodPassword, MethodHardwareKey)
			}
		}
	}
	return nil
}

// joinMethods returns the session value of methods: each once, in the
// order given, separated by spaces; [MethodPassword] when there are none.
func joinMethods(methods []string) string {
	if len(methods) == 0 {
		return MethodPassword
	}
	var b strings.Builder
	for _, m := range methods {
		if hasWord(b.String(), m) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(m)
	}
	return b.String()
}

// hasWord reports whether the space-separated list s holds w.
func hasWord(s, w string) bool {
	for s != "" {
		var f string
		f, s, _ = strings.Cut(s, " ")
		if f == w {
			return true
		}
	}
	return false
}

// LoginMethods returns how the session's user logged in, as
// [Sessions.Login] recorded it: nil when nobody is logged in, and
// [MethodPassword] for a session logged in before methods were recorded
// (a password was then the only way).
func (s *Sessions) LoginMethods(ctx context.Context) []string {
	if !sessionctx.Loaded(ctx, s.sm) || s.sm.GetString(ctx, SessionUserKey) == "" {
		return nil
	}
	v := s.sm.GetString(ctx, SessionMethodsKey)
	if v == "" {
		return []string{MethodPassword}
	}
	return strings.Fields(v)
}

// HasLoginMethod reports whether the session that sm loaded into ctx was
// logged in with method (one of the Method constants), as
// [Sessions.Login] recorded it; the gates ask it on every request (two
// reads of the session, no parsing into a slice). A context without sm's session, or a session without a
// user, has no method.
func HasLoginMethod(ctx context.Context, sm *scs.SessionManager, method string) bool {
	if !sessionctx.Loaded(ctx, sm) || sm.GetString(ctx, SessionUserKey) == "" {
		return false
	}
	v := sm.GetString(ctx, SessionMethodsKey)
	if v == "" {
		return method == MethodPassword
	}
	return hasWord(v, method)
}
