package bulwark_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// TestSessionNotLoaded: a hand-made alice chain that puts a middleware
// reading the scs session before the manager's LoadAndSave. scs would
// panic ("scs: no session data in context") on the first read; each
// middleware answers 500 instead and logs session.not_loaded, whose fix
// names it. The same middleware after LoadAndSave serves the request.
// loginrequired reads no session: it serves in either order.
func TestSessionNotLoaded(t *testing.T) {
	user := identity.Basic{UserID: "alice", IsActive: true}
	// asAlice puts alice in the request, as a bearer authenticator would:
	// the gates judge a logged-in user whatever the credential.
	asAlice := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), user)))
		})
	}
	for _, tc := range []struct {
		name string
		// readsSession is false for a gate that reads no session.
		readsSession bool
		// make returns the middleware under test, on manager sm.
		make func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor
	}{
		{"identity", true, func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor {
			ids := testenv.Must(identity.NewSessions(identity.SessionsConfig{Sessions: sm, Logger: log,
				Lookup: func(context.Context, string) (identity.User, error) { return user, nil }}))
			return testenv.Must(identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: log})).Handler
		}},
		{"sessionexpiry", true, func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor {
			return testenv.Must(sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: log})).Handler
		}},
		{"mfa", true, func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor {
			gate := testenv.Must(mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{codeVerifier{}}, SkipNonSession: true, Logger: log}))
			return alice.New(asAlice, gate.Handler).Then
		}},
		{"passwordexpiry", true, func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor {
			gate := testenv.Must(passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Sessions: sm, Logger: log}))
			return alice.New(asAlice, gate.Handler).Then
		}},
		{"loginrequired", false, func(t *testing.T, sm *scs.SessionManager, log *seclog.Logger) alice.Constructor {
			gate := testenv.Must(loginrequired.New(loginrequired.Config{Exempt: []string{"/account"}, Logger: log}))
			return alice.New(asAlice, gate.Handler).Then
		}},
	} {
		for _, ordered := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ordered=%v", tc.name, ordered), func(t *testing.T) {
				log, events := seclogtest.New(t)
				sm := scs.New()
				mw := tc.make(t, sm, log)
				chain := alice.New(mw, sm.LoadAndSave)
				if ordered {
					chain = alice.New(sm.LoadAndSave, mw)
				}
				ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
				w := httptest.NewRecorder()
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("panicked: %v", p)
						}
					}()
					chain.Then(ok).ServeHTTP(w, httptest.NewRequest("GET", "/account", nil))
				}()
				got := events.Take()
				if ordered || !tc.readsSession {
					if w.Code != 200 || len(got) != 0 {
						t.Fatalf("in order: %d %q, events %v; want 200 and none", w.Code, w.Body, got)
					}
					return
				}
				if w.Code != 500 || w.Body.String() != `{"error":"session_not_loaded"}`+"\n" || w.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("answer %d %q %v; want 500 with the JSON body", w.Code, w.Body, w.Header())
				}
				if len(got) != 1 || got[0].Name != "session.not_loaded" || got[0].Level.String() != "error" {
					t.Fatalf("events %v; want one session.not_loaded at error", got)
				}
				fix := "put Sessions.LoadAndSave (the Chain's Sessions slot) before " + tc.name
				if f := got[0].Fields; f["middleware"] != tc.name || !strings.Contains(fmt.Sprint(f["fix"]), fix) {
					t.Errorf("fields %v; want middleware %q and the fix %q", f, tc.name, fix)
				}
			})
		}
	}
}
