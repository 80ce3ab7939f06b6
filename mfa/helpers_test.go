package mfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/mfa"
)

// clock is the suite's test clock.
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) }

// fakeVerifier passes the answer "ok" (form field "answer"), refuses the
// others with the error they name, and checks the "state" form field
// against the challenge's state when it is sent.
type fakeVerifier struct {
	mu          sync.Mutex
	health      error
	beginErr    error
	redirect    string
	options     string // JSON for the page's script
	healthCalls int
	states      []string // states Begin was given
}

var errProvider = errors.New("provider: connection refused")

func (f *fakeVerifier) Method() string { return "fake" }

func (f *fakeVerifier) Begin(_ context.Context, _ string, state string) (mfa.Prompt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.states = append(f.states, state)
	if f.beginErr != nil {
		return mfa.Prompt{}, f.beginErr
	}
	if f.redirect != "" {
		return mfa.Prompt{Redirect: f.redirect + "?state=" + url.QueryEscape(state)}, nil
	}
	if f.options != "" {
		return mfa.Prompt{Options: json.RawMessage(f.options)}, nil
	}
	return mfa.Prompt{}, nil
}

func (f *fakeVerifier) Complete(r *http.Request, _ string, state string) error {
	if s := r.FormValue("state"); s != "" && s != state {
		return fmt.Errorf("fake: %w", mfa.ErrState)
	}
	switch r.PostFormValue("answer") {
	case "ok":
		mfa.SetFactor(r, "fake_ok")
		return nil
	case "replay":
		return fmt.Errorf("fake: %w", mfa.ErrReplay)
	case "locked":
		return fmt.Errorf("fake: %w", mfa.ErrLocked)
	case "down":
		return errProvider
	}
	return fmt.Errorf("fake: %w", mfa.ErrInvalid)
}

func (f *fakeVerifier) Health(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.healthCalls++
	return f.health
}

func (f *fakeVerifier) set(fn func(f *fakeVerifier)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

// site is an application behind scs, the identity middleware and the gate:
// /login logs a user in, /mfa is the challenge page (GET: Begin, or
// BeginMethod for ?method=, with the Start's Method and Alternatives in
// the headers Mfa-Method and Mfa-Alternatives; POST: Complete), /settings
// is a step-up route, every other path answers "page" with the user's id.
type site struct {
	t      *testing.T
	sm     *scs.SessionManager
	ids    *identity.Sessions
	gate   *mfa.Middleware
	v      mfa.Verifier
	clock  *clock
	events *seclogtest.Recorder
	h      http.Handler
	cookie *http.Cookie
	users  map[string]identity.User
}

func newSite(t *testing.T, v mfa.Verifier, mod func(*mfa.Config)) *site {
	t.Helper()
	log, rec := seclogtest.New(t)
	st := &site{t: t, sm: scs.New(), v: v, clock: newClock(), events: rec, users: map[string]identity.User{}}
	for _, id := range []string{"alice", "bob"} {
		st.users[id] = identity.Basic{UserID: id, IsActive: true}
	}
	var err error
	st.ids, err = identity.NewSessions(identity.SessionsConfig{
		Sessions: st.sm, Logger: log, Now: st.clock.Now,
		Lookup: func(_ context.Context, id string) (identity.User, error) { return st.users[id], nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	who, err := identity.New(identity.Config{
		Authenticators: []identity.Authenticator{st.ids, &identity.Bearer{Lookup: func(_ context.Context, tok string) (identity.User, error) {
			return st.users[strings.TrimPrefix(tok, "tok-")], nil
		}}},
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := mfa.Config{Sessions: st.sm, Verifiers: []mfa.Verifier{v}, Exempt: []string{"/static/", "POST /tamper"}, Logger: log, Now: st.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	if st.gate, err = mfa.New(cfg); err != nil {
		t.Fatal(err)
	}
	step, err := st.gate.RequireRecent(5 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		var methods []string // how the user logged in: "hwk,mfa" for a passkey
		if m := r.FormValue("m"); m != "" {
			methods = strings.Split(m, ",")
		}
		if err := st.ids.Login(r, st.users[r.FormValue("u")], methods...); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if next := r.FormValue("next"); next != "" && !st.gate.SetNext(r, next) {
			fmt.Fprint(w, "next refused;")
		}
		fmt.Fprint(w, "logged in")
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := st.ids.Logout(r); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprint(w, "logged out")
	})
	challenge := func(w http.ResponseWriter, r *http.Request) {
		var next string
		var err error
		if r.Method == http.MethodGet && r.URL.Path == "/mfa" {
			var start mfa.Start
			if method := r.URL.Query().Get("method"); method != "" {
				start, err = st.gate.BeginMethod(w, r, method) // "use … instead"
			} else {
				start, err = st.gate.Begin(w, r)
			}
			w.Header().Set("Mfa-Method", start.Method)
			w.Header().Set("Mfa-Alternatives", strings.Join(start.Alternatives, ","))
			switch {
			case err == nil && start.Bypassed:
				next = start.Next
			case err == nil && start.Redirect != "":
				identity.Redirect(w, r, start.Redirect, http.StatusSeeOther)
				return
			case err == nil:
				fmt.Fprint(w, "challenge form"+string(start.Options))
				return
			}
		} else {
			next, err = st.gate.Complete(w, r)
		}
		switch {
		case errors.Is(err, mfa.ErrUnavailable):
			st.gate.WriteUnavailable(w, r)
		case errors.Is(err, mfa.ErrNoSession):
			http.Error(w, "log in first", http.StatusUnauthorized)
		case err != nil:
			http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		default:
			// The return path as Complete gave it, written by the suite's
			// writer (http.Redirect would clean it).
			identity.Redirect(w, r, next, http.StatusSeeOther)
		}
	}
	mux.HandleFunc("POST /tamper", func(w http.ResponseWriter, r *http.Request) {
		st.sm.Put(r.Context(), r.FormValue("key"), r.FormValue("value"))
	})
	mux.HandleFunc("POST /forget", func(w http.ResponseWriter, r *http.Request) {
		st.gate.Reset(r)
		fmt.Fprint(w, "forgotten")
	})
	mux.HandleFunc("/mfa", challenge)
	mux.HandleFunc("/mfa/callback", challenge)
	mux.Handle("/settings", step.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "settings") })))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if u := identity.FromRequest(r); u != nil {
			who = u.ID()
		}
		fmt.Fprint(w, "page for "+who)
	})
	st.h = st.sm.LoadAndSave(who.Handler(st.gate.Handler(mux)))
	return st
}

// do sends a request with the site's session cookie and keeps the cookie
// the response sets. hdr are header name/value pairs.
func (st *site) do(method, target, body string, hdr ...string) *httptest.ResponseRecorder {
	st.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if st.cookie != nil {
		r.AddCookie(st.cookie)
	}
	w := httptest.NewRecorder()
	st.h.ServeHTTP(w, r)
	st.cookie = testenv.KeepCookie(st.cookie, st.sm.Cookie.Name, w)
	return w
}

func (st *site) login(id string) {
	st.t.Helper()
	if w := st.do("POST", "/login?u="+url.QueryEscape(id), ""); w.Code != 200 {
		st.t.Fatalf("login %s: %d %s", id, w.Code, w.Body)
	}
	st.events.Take()
}

// verify passes the challenge (fake verifier) and returns the response.
func (st *site) verify() *httptest.ResponseRecorder {
	st.t.Helper()
	if w := st.do("GET", "/mfa", ""); w.Code != 200 && w.Code != 303 {
		st.t.Fatalf("GET /mfa: %d %s", w.Code, w.Body)
	}
	w := st.do("POST", "/mfa", "answer=ok")
	if w.Code != 303 {
		st.t.Fatalf("POST /mfa: %d %s", w.Code, w.Body)
	}
	return w
}

// names returns the names of the events since the last call.
func (st *site) names() []string { return st.events.Names() }

// expect checks a response's status and Location.
func expect(t *testing.T, what string, w *httptest.ResponseRecorder, code int, location string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("%s: status %d, want %d (body %q)", what, w.Code, code, w.Body)
	}
	if got := w.Header().Get("Location"); got != location {
		t.Fatalf("%s: Location %q, want %q", what, got, location)
	}
}

func hasEvent(t *testing.T, names []string, want ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, n := range names {
			if n == w {
				found = true
			}
		}
		if !found {
			t.Errorf("events %v lack %q", names, w)
		}
	}
}
