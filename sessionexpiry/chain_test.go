package sessionexpiry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// TestInChain runs the gate in bulwark.Chain with identity and the login
// gate, sharing one Responder: an expired session is refused by
// sessionexpiry ("session_expired"), and its cookie, replayed, is an
// anonymous request that the login gate refuses ("login_required").
func TestInChain(t *testing.T) {
	clk := newClock()
	log, ev := newLogger(t)
	sm := newManager()
	rs, err := identity.NewResponder(identity.ResponderConfig{APIPatterns: []string{"/api/"}})
	if err != nil {
		t.Fatal(err)
	}
	expiry, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Absolute: 8 * time.Hour, Idle: 20 * time.Minute, Responder: rs, Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sm,
		Lookup:   func(context.Context, string) (identity.User, error) { return alice, nil },
		Logger:   log, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	who, err := identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := loginrequired.New(loginrequired.Config{Exempt: []string{"/{$}"}, LoginURL: "/login", Responder: rs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { ids.Login(r, alice) })
	mux.HandleFunc("/api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(identity.FromRequest(r).ID()))
	})
	h := bulwark.Chain{Sessions: sm, SessionExpiry: expiry, Identity: who, LoginRequired: gate}.Then(mux)

	do := func(method, target string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		if c != nil {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := do("POST", "/login", nil)
	c := sessionCookie(rec)
	if c == nil {
		t.Fatalf("login: %d", rec.Code)
	}
	if rec := do("GET", "/api/me", c); rec.Body.String() != "alice" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	clk.Add(21 * time.Minute)
	rec = do("GET", "/api/me", c)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"session_expired"`) {
		t.Fatalf("expired: %d %q", rec.Code, rec.Body)
	}
	clk.Add(time.Minute)
	ev.take()
	rec = do("GET", "/api/me", c)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"login_required"`) {
		t.Fatalf("replayed: %d %q", rec.Code, rec.Body)
	}
	if names := ev.take(); !contains(names, "sessionexpiry.use_after_expire") || !contains(names, "loginrequired.redirect") {
		t.Fatalf("events %v", names)
	}
}
