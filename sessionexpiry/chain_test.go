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
	chain, err := bulwark.New(bulwark.Config{
		Logger:        log,
		Responder:     rs,
		Sessions:      sm,
		Public:        []string{"/{$}"},
		SessionExpiry: &sessionexpiry.Config{Absolute: 8 * time.Hour, Idle: 20 * time.Minute, Now: clk.Now},
		Identity: &bulwark.IdentityConfig{
			Lookup: func(context.Context, string) (identity.User, error) { return alice, nil },
			Now:    clk.Now,
		},
		LoginRequired: &loginrequired.Config{},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := chain.SessionAuth()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { ids.Login(r, alice) })
	mux.HandleFunc("/api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(identity.FromRequest(r).ID()))
	})
	h := chain.Then(mux)

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
