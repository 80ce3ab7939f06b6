package gate_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/gate"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
)

// terms is a fifth gate written on the core alone, to show what a gate
// costs: a logged-in user who has not accepted the terms of use (a flag in
// the session) is sent to the terms page; that page, the login and logout
// pages and the exempt routes stay open. (A real gate defines its own
// events in seclog's catalog; this one borrows passwordexpiry's.)
type terms struct {
	*gate.Core
	sm *scs.SessionManager
}

func newTerms(sm *scs.SessionManager, cfg gate.Config) (*terms, error) {
	cfg.Name, cfg.Pages = "terms", []gate.Page{{Field: "TermsURL", URL: "/terms"}}
	core, err := gate.New(cfg)
	return &terms{core, sm}, err
}

func (g *terms) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, exempt := g.Exempt(r)
		err := g.Session(r.Context(), g.sm)
		switch {
		case identity.FromRequest(r) == nil || exempt:
			next.ServeHTTP(w, r)
		case err != nil:
			g.Fail(w, r, err, seclog.PasswordExpiryStoreError)
		case g.sm.GetBool(r.Context(), "terms"):
			next.ServeHTTP(w, r)
		default:
			g.Refuse(w, r, identity.Refusal{Code: "terms_required", Location: "/terms", Next: true}, seclog.PasswordExpiryRequired, g.Client(r))
		}
	})
}

// TestFifthGate runs the terms gate in a chain, in order and out of it.
func TestFifthGate(t *testing.T) {
	log, events := seclogtest.New(t)
	sm := scs.New()
	g, err := newTerms(sm, gate.Config{Exempt: []string{"/static/"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// who logs the request's user in from its X-User header, and accepts
	// the terms in the session when it says X-Accepted.
	who := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := r.Header.Get("X-User"); id != "" {
				r = r.WithContext(identity.NewContext(r.Context(), identity.Basic{UserID: id, IsActive: true}))
			}
			if r.Header.Get("X-Accepted") != "" {
				sm.Put(r.Context(), "terms", true)
			}
			next.ServeHTTP(w, r)
		})
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	inOrder := alice.New(sm.LoadAndSave, who, g.Handler).Then(ok)
	wrongOrder := alice.New(who, g.Handler, sm.LoadAndSave).Then(ok)
	for _, c := range []struct {
		name      string
		h         http.Handler
		target    string // "/path", or "METHOD /path"
		headers   []string
		code      int
		location  string
		event     string
		eventLogs string // a field that must be in the event, "key=value"
	}{
		{"anonymous", inOrder, "/account", nil, 200, "", "", ""},
		{"not accepted", inOrder, "/account", []string{"X-User", "alice"}, 303, "/terms?next=%2Faccount", "passwordexpiry.required", "client=navigation"},
		{"not accepted, a script", inOrder, "/account", []string{"X-User", "alice", "Accept", "application/json"}, 403, "", "passwordexpiry.required", "client=api"},
		{"the terms page", inOrder, "/terms", []string{"X-User", "alice"}, 200, "", "", ""},
		{"the terms page, POST", inOrder, "POST /terms", []string{"X-User", "alice"}, 200, "", "", ""},
		{"login", inOrder, "/login", []string{"X-User", "alice"}, 200, "", "", ""},
		{"logout", inOrder, "/logout", []string{"X-User", "alice"}, 200, "", "", ""},
		{"exempt", inOrder, "/static/app.css", []string{"X-User", "alice"}, 200, "", "", ""},
		{"below the terms page", inOrder, "/terms/x", []string{"X-User", "alice"}, 303, "/terms?next=%2Fterms%2Fx", "passwordexpiry.required", ""},
		{"accepted", inOrder, "/account", []string{"X-User", "alice", "X-Accepted", "1"}, 200, "", "", ""},
		{"before LoadAndSave", wrongOrder, "/account", []string{"X-User", "alice"}, 500, "", "session.not_loaded", "middleware=terms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			method, target, ok := strings.Cut(c.target, " ")
			if !ok {
				method, target = "GET", c.target
			}
			r := httptest.NewRequest(method, target, nil)
			for i := 0; i < len(c.headers); i += 2 {
				r.Header.Set(c.headers[i], c.headers[i+1])
			}
			w := httptest.NewRecorder()
			c.h.ServeHTTP(w, r)
			if w.Code != c.code || w.Header().Get("Location") != c.location {
				t.Fatalf("%d %q (Location %q); want %d %q", w.Code, w.Body, w.Header().Get("Location"), c.code, c.location)
			}
			got := events.Take()
			if c.event == "" {
				if len(got) != 0 {
					t.Fatalf("events %v; want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Name != c.event {
				t.Fatalf("events %v; want one %s", got, c.event)
			}
			if k, v, ok := strings.Cut(c.eventLogs, "="); ok && got[0].Fields[k] != v {
				t.Errorf("event fields %v; want %s", got[0].Fields, c.eventLogs)
			}
		})
	}
}

func TestNewErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		cfg  gate.Config
		want string
	}{
		{gate.Config{Name: "terms", Pages: []gate.Page{{Field: "TermsURL", URL: "terms"}}}, `terms: TermsURL "terms"`},
		{gate.Config{Name: "terms", Pages: []gate.Page{{Field: "TermsURL", URL: "/terms"}}, LogoutURL: "bye"}, `terms: LogoutURL "bye"`},
		{gate.Config{Name: "terms", Pages: []gate.Page{{Field: "TermsURL", URL: "/terms"}}, Exempt: []string{"/a/{"}}, `terms: Exempt[0] "/a/{"`},
		{gate.Config{Name: "terms", Pages: []gate.Page{{Field: "TermsURL", URL: "/terms"}}, ExemptRegexps: []string{"("}}, `terms: ExemptRegexps[0] "("`},
	} {
		_, err := gate.New(c.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v; want an error starting %q", c.cfg, err, c.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := gate.New(gate.Config{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginURL != "/login" || c.Responder != identity.DefaultResponder() || c.Log == nil || c.Now == nil {
		t.Errorf("defaults: %+v", c)
	}
	// Without pages of its own a gate exempts nothing, not even /login.
	if p, ok := c.Exempt(httptest.NewRequest("GET", "/login", nil)); ok || c.Own(p) {
		t.Errorf("Exempt(/login) = %q, %v without pages", p, ok)
	}
}

func TestOwn(t *testing.T) {
	c, err := gate.New(gate.Config{Name: "x", Exempt: []string{"/static/"}, Pages: []gate.Page{{Field: "ChallengeURL", URL: "/mfa/"}}})
	if err != nil {
		t.Fatal(err)
	}
	for target, own := range map[string]bool{"/mfa/": true, "/static/x": false, "/login": false} {
		p, ok := c.Exempt(httptest.NewRequest("POST", target, nil))
		if !ok || c.Own(p) != own {
			t.Errorf("%s: Exempt = %q, %v; Own = %v, want %v", target, p, ok, c.Own(p), own)
		}
	}
	if c.Own("") {
		t.Error(`Own("")`)
	}
}

// TestFail: a store error is a 503 with the gate's event (the custom
// answer when one is set); a session not loaded is a 500 with
// session.not_loaded, never the custom 503.
func TestFail(t *testing.T) {
	log, events := seclogtest.New(t)
	custom := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		w.Write([]byte("later"))
	})
	c, err := gate.New(gate.Config{Name: "terms", Logger: log, Unavailable: custom})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	c.Fail(w, r, errors.New("down"), seclog.PasswordExpiryStoreError, seclog.String("error", "down"))
	if w.Code != 503 || w.Body.String() != "later" || w.Header().Get("Retry-After") == "" {
		t.Errorf("store error: %d %q %v", w.Code, w.Body, w.Header())
	}
	if got := events.Names(); len(got) != 1 || got[0] != "passwordexpiry.store_error" {
		t.Errorf("store error: events %v", got)
	}
	err = c.Session(r.Context(), scs.New())
	if !errors.Is(err, identity.ErrSessionNotLoaded) || !strings.Contains(err.Error(), "put Sessions.LoadAndSave (the Chain's Sessions slot) before terms") {
		t.Fatalf("Session = %v", err)
	}
	w = httptest.NewRecorder()
	c.Fail(w, r, err, seclog.PasswordExpiryStoreError)
	if w.Code != 500 || w.Header().Get("Retry-After") != "" {
		t.Errorf("not loaded: %d %q %v", w.Code, w.Body, w.Header())
	}
	if got := events.Names(); len(got) != 1 || got[0] != "session.not_loaded" {
		t.Errorf("not loaded: events %v", got)
	}
}

func TestString(t *testing.T) {
	names := []string{"pass", "refuse"}
	for v, want := range map[uint8]string{0: "pass", 1: "refuse", 2: "Outcome(2)", 255: "Outcome(255)"} {
		if got := gate.String(v, names); got != want {
			t.Errorf("String(%d) = %q, want %q", v, got, want)
		}
	}
}
