package passwordexpiry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/passwordexpiry"
)

// pwUser is a user whose credential stamp is their password.
type pwUser struct {
	identity.Basic
	password string
}

func (u pwUser) CredentialStamp() string { return u.password }

// TestChangedKeepsThisSessionEndsOthers: with Config.Identity, Changed
// keeps the session that changed the password (renewed, under the new
// credential) and the user's other session is logged out; an
// administrator's reset, which goes through no session, ends them all.
func TestChangedKeepsThisSessionEndsOthers(t *testing.T) {
	var mu sync.Mutex
	alice := pwUser{identity.Basic{UserID: "alice", IsActive: true}, "old"}
	setPassword := func(p string) { mu.Lock(); alice.password = p; mu.Unlock() }
	lookup := func(_ context.Context, id string) (identity.User, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "alice" {
			return nil, nil
		}
		return alice, nil
	}
	log, _ := newLogger(t)
	sm := scs.New()
	ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Lookup: lookup, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	who, err := identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Identity: ids, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, _ := lookup(r.Context(), "alice")
		if err := ids.Login(r, u); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /password/change", func(w http.ResponseWriter, r *http.Request) {
		setPassword("new")
		if err := gate.Changed(r, "alice"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		if u := identity.FromRequest(r); u != nil {
			w.Write([]byte(u.ID()))
		}
	})
	h := sm.LoadAndSave(who.Handler(gate.Handler(mux)))
	send := func(method, path, tok string) (string, string) {
		r := httptest.NewRequest(method, path, nil)
		if tok != "" {
			r.AddCookie(&http.Cookie{Name: sm.Cookie.Name, Value: tok})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for _, c := range rec.Result().Cookies() {
			if c.Name == sm.Cookie.Name {
				tok = c.Value
			}
		}
		return rec.Body.String(), tok
	}
	_, a := send("POST", "/login", "")
	_, b := send("POST", "/login", "")
	_, kept := send("POST", "/password/change", a)
	if kept == a {
		t.Error("Changed did not renew the session token")
	}
	if got, _ := send("GET", "/me", kept); got != "alice" {
		t.Errorf("the session that changed the password: %q, want alice", got)
	}
	if got, _ := send("GET", "/me", b); got != "" {
		t.Errorf("the other session after the change: %q, want anonymous", got)
	}
	setPassword("reset by an administrator")
	if got, _ := send("GET", "/me", kept); got != "" {
		t.Errorf("after an administrator's reset: %q, want anonymous", got)
	}
}

func TestIdentityMustUseTheSessionsManager(t *testing.T) {
	ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: scs.New(), Lookup: func(context.Context, string) (identity.User, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Sessions: scs.New(), Identity: ids})
	if err == nil || !strings.Contains(err.Error(), "Config.Sessions is not the session manager of Config.Identity") {
		t.Errorf("two managers: %v", err)
	}
	if _, err = passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Sessions: ids.Manager(), Identity: ids}); err != nil {
		t.Errorf("the same manager: %v", err)
	}
}
