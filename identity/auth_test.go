package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/seclog"
)

// logSink reads back the security events a test wrote.
type logSink struct {
	*seclogtest.Recorder
	seen []string
}

// events returns every event name written so far (Take forgets them, so
// keep them).
func (s *logSink) events() []string {
	s.seen = append(s.seen, s.Names()...)
	return s.seen
}

func testLogger(t *testing.T) (*seclog.Logger, *logSink) {
	t.Helper()
	l, r := seclogtest.New(t)
	return l, &logSink{Recorder: r}
}

var (
	alice = Basic{UserID: "alice", Name: "Alice", IsActive: true}
	bob   = Basic{UserID: "bob", IsActive: false}
)

// users is a user store for tests; err makes every lookup fail.
type users struct {
	mu  sync.Mutex
	m   map[string]User
	err error
}

func (u *users) lookup(_ context.Context, id string) (User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return nil, u.err
	}
	return u.m[id], nil
}

func newUsers() *users { return &users{m: map[string]User{"alice": alice, "bob": bob}} }

// whoami answers the id of the request's user, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if u := FromRequest(r); u != nil {
		w.Write([]byte(u.ID()))
		return
	}
	w.Write([]byte("anonymous"))
})

func TestBearerAndBasic(t *testing.T) {
	log, sink := testLogger(t)
	store := newUsers()
	tokens := map[string]string{"t0k3n": "alice", "old": "bob"}
	bearer := &Bearer{Lookup: func(ctx context.Context, token string) (User, error) {
		if id, ok := tokens[token]; ok {
			return store.lookup(ctx, id)
		}
		return nil, nil
	}}
	basic := &BasicAuth{Realm: "admin", Check: func(ctx context.Context, name, pass string) (User, error) {
		if name == "alice" && pass == "pw" {
			return alice, nil
		}
		return nil, nil
	}}
	m, err := New(Config{Authenticators: []Authenticator{bearer, basic}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(whoami)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name          string
		authorization []string
		wantStatus    int
		wantBody      string
		wantChallenge string
		wantEvent     string
	}{
		{"no credentials: anonymous", nil, 200, "anonymous", "", ""},
		{"good bearer", []string{"Bearer t0k3n"}, 200, "alice", "", ""},
		{"scheme without case", []string{"bearer t0k3n"}, 200, "alice", "", ""},
		{"unknown bearer: 401, never anonymous", []string{"Bearer nope"}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"bearer of an inactive user", []string{"Bearer old"}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"malformed bearer", []string{"Bearer a b"}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"empty bearer", []string{"Bearer "}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"huge header", []string{"Bearer " + strings.Repeat("a", 100_000)}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"two headers", []string{"Bearer t0k3n", "Bearer t0k3n"}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"good basic", []string{"Basic " + b64("alice:pw")}, 200, "alice", "", ""},
		// The challenge is the first authenticator's (DRF's rule), the bearer's.
		{"wrong basic password", []string{"Basic " + b64("alice:nope")}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"basic not base64", []string{"Basic %%%"}, 401, "", `Bearer realm="api"`, "identity.auth_failed"},
		{"other scheme: not attempted", []string{"Digest username=x"}, 200, "anonymous", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sink.events())
			r := httptest.NewRequest("GET", "/api/me", nil)
			for _, v := range tc.authorization {
				r.Header.Add("Authorization", v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", rec.Body.String(), tc.wantBody)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantChallenge)
			}
			events := sink.events()[before:]
			if tc.wantEvent == "" && len(events) != 0 || tc.wantEvent != "" && (len(events) != 1 || events[0] != tc.wantEvent) {
				t.Errorf("events %v, want %q", events, tc.wantEvent)
			}
		})
	}
}

func TestStoreErrorFailsClosed(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		log, sink := testLogger(t)
		bearer := &Bearer{Lookup: func(context.Context, string) (User, error) { return nil, errors.New("db down") }}
		m, err := New(Config{Authenticators: []Authenticator{bearer}, Logger: log, FailOpen: failOpen})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		m.Handler(whoami).ServeHTTP(rec, r)
		wantStatus, wantBody := 503, `{"error":"unavailable"}`+"\n"
		if failOpen {
			wantStatus, wantBody = 200, "anonymous"
		}
		if rec.Code != wantStatus || rec.Body.String() != wantBody {
			t.Errorf("FailOpen=%v: %d %q, want %d %q", failOpen, rec.Code, rec.Body.String(), wantStatus, wantBody)
		}
		if ev := sink.events(); len(ev) != 1 || ev[0] != "identity.unavailable" {
			t.Errorf("FailOpen=%v: events %v", failOpen, ev)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Authenticators: []Authenticator{nil}},
		{Authenticators: []Authenticator{&Bearer{}}},
		{Authenticators: []Authenticator{&BasicAuth{}}},
	} {
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "identity: Config.Authenticators") {
			t.Errorf("New(%+v) = %v", cfg, err)
		}
	}
	if _, err := NewSessions(SessionsConfig{Lookup: newUsers().lookup}); err == nil {
		t.Error("NewSessions without a Manager: no error")
	}
	if _, err := NewSessions(SessionsConfig{Sessions: scs.New()}); err == nil {
		t.Error("NewSessions without Lookup: no error")
	}
}

// sessionSite is a small site on scs: /login logs the user named in the
// query in, /logout logs out, / says who is asking.
func sessionSite(t *testing.T, store *users) (http.Handler, *Sessions, *logSink) {
	t.Helper()
	log, sink := testLogger(t)
	sm := scs.New()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: store.lookup, Logger: log, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Authenticators: []Authenticator{s}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", whoami)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, _ := store.lookup(r.Context(), r.URL.Query().Get("user"))
		if err := s.Login(r, u); err != nil {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		if got := s.LoginTime(r.Context()); !got.Equal(now) {
			t.Errorf("LoginTime %v, want %v", got, now)
		}
		w.Write([]byte("welcome"))
	})
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "cart", "1 book") // an anonymous session with data
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Logout(r); err != nil {
			t.Error(err)
		}
	})
	return sm.LoadAndSave(m.Handler(mux)), s, sink
}

// do sends a request with the given session cookie and returns the answer
// and the new cookie value, if any.
func do(t *testing.T, h http.Handler, method, target, cookie string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: "session", Value: cookie})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return rec, c.Value
		}
	}
	return rec, cookie
}

func TestSessionsLoginLogout(t *testing.T) {
	store := newUsers()
	h, _, sink := sessionSite(t, store)

	// A session planted before login (fixation): the attacker's token.
	_, planted := do(t, h, "POST", "/visit", "")
	if planted == "" {
		t.Fatal("no anonymous session was made")
	}
	rec, tok := do(t, h, "POST", "/login?user=alice", planted)
	if rec.Body.String() != "welcome" {
		t.Fatalf("login: %d %q", rec.Code, rec.Body.String())
	}
	if tok == "" || tok == planted {
		t.Fatalf("the session token was not renewed at login (%q → %q)", planted, tok)
	}
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "alice" {
		t.Errorf("after login: %q", rec.Body.String())
	}
	if rec, _ := do(t, h, "GET", "/", planted); rec.Body.String() != "anonymous" {
		t.Errorf("the planted token is logged in: %q", rec.Body.String())
	}
	// Forged and oversized cookies are anonymous, never an error.
	for _, forged := range []string{"forged", strings.Repeat("A", 8000), "\x00\x01", tok + "x"} {
		if rec, _ := do(t, h, "GET", "/", forged); rec.Code != 200 || rec.Body.String() != "anonymous" {
			t.Errorf("forged cookie %.20q: %d %q", forged, rec.Code, rec.Body.String())
		}
	}
	// Logout destroys the session: the old token no longer works (replay).
	do(t, h, "POST", "/logout", tok)
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("after logout the token still works: %q", rec.Body.String())
	}
	want := []string{"identity.login", "identity.logout"}
	if got := sink.events(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestSessionsInactiveUserIsLoggedOut(t *testing.T) {
	store := newUsers()
	h, _, sink := sessionSite(t, store)
	_, tok := do(t, h, "POST", "/login?user=alice", "")
	// Alice is deactivated while logged in.
	store.mu.Lock()
	store.m["alice"] = Basic{UserID: "alice", IsActive: false}
	store.mu.Unlock()
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("an inactive user was served: %q", rec.Body.String())
	}
	// The session is gone even if she is active again.
	store.mu.Lock()
	store.m["alice"] = alice
	store.mu.Unlock()
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("the session of an inactive user survived: %q", rec.Body.String())
	}
	if ev := sink.events(); !strings.Contains(strings.Join(ev, ","), "identity.inactive_user") {
		t.Errorf("events %v", ev)
	}
	// Login refuses an inactive user.
	if rec, _ := do(t, h, "POST", "/login?user=bob", ""); rec.Code != http.StatusForbidden {
		t.Errorf("inactive login: %d", rec.Code)
	}
}

func TestSessionsStoreError(t *testing.T) {
	store := newUsers()
	h, _, _ := sessionSite(t, store)
	_, tok := do(t, h, "POST", "/login?user=alice", "")
	store.mu.Lock()
	store.err = errors.New("connection refused")
	store.mu.Unlock()
	if rec, _ := do(t, h, "GET", "/", tok); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("store down: %d %q, want 503", rec.Code, rec.Body.String())
	}
	// Anonymous requests do not touch the user store.
	if rec, _ := do(t, h, "GET", "/", ""); rec.Code != 200 {
		t.Errorf("anonymous request with the store down: %d", rec.Code)
	}
}
