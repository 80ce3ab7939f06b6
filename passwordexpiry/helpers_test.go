package passwordexpiry_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/seclog"
)

// sink reads back the security events a test wrote.
type sink struct{ *seclogtest.Recorder }

// take returns the fields of the events written since the last take.
func (s sink) take() []map[string]any {
	var out []map[string]any
	for _, e := range s.Take() {
		out = append(out, e.Fields)
	}
	return out
}

// names returns the names of the events written since the last take.
func (s sink) names() []string { return s.Names() }

func newLogger(t testing.TB) (*seclog.Logger, sink) {
	l, r := seclogtest.New(t)
	return l, sink{r}
}

// clock is the suite's test clock.
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) }

// faultyStore wraps a MemoryStore, counts calls and fails those that fail
// says to fail.
type faultyStore struct {
	passwordexpiry.MemoryStore
	gets, writes atomic.Int64
	fail         func(op string) error // nil: never
	mu           sync.Mutex
}

var errDown = errors.New("store down: connection refused")

func (s *faultyStore) failing(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == nil {
		return nil
	}
	return s.fail(op)
}

func (s *faultyStore) setFail(f func(op string) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

func (s *faultyStore) Get(ctx context.Context, id string) (passwordexpiry.Record, bool, error) {
	s.gets.Add(1)
	if err := s.failing("Get"); err != nil {
		return passwordexpiry.Record{}, false, err
	}
	return s.MemoryStore.Get(ctx, id)
}

func (s *faultyStore) Require(ctx context.Context, id string, r passwordexpiry.Reason, at time.Time) error {
	s.writes.Add(1)
	if err := s.failing("Require"); err != nil {
		return err
	}
	return s.MemoryStore.Require(ctx, id, r, at)
}

func (s *faultyStore) Changed(ctx context.Context, id string, at time.Time) error {
	s.writes.Add(1)
	if err := s.failing("Changed"); err != nil {
		return err
	}
	return s.MemoryStore.Changed(ctx, id, at)
}

func user(id string) identity.Basic { return identity.Basic{UserID: id, IsActive: true} }

// asUser puts u in the request's context, as the identity middleware does.
func asUser(r *http.Request, u identity.User) *http.Request {
	if u == nil {
		return r
	}
	return r.WithContext(seclog.WithUser(identity.NewContext(r.Context(), u), u.ID()))
}

// site is an application behind scs, the identity middleware and the
// gate, with a login handler, the change page that calls Changed, and a
// cookie jar of one session.
type site struct {
	t      *testing.T
	sm     *scs.SessionManager
	ids    *identity.Sessions
	gate   *passwordexpiry.Middleware
	store  *faultyStore
	clock  *clock
	log    sink
	h      http.Handler
	cookie *http.Cookie
	users  map[string]identity.User
}

func newSite(t *testing.T, mod func(*passwordexpiry.Config)) *site {
	t.Helper()
	log, s := newLogger(t)
	st := &site{t: t, sm: scs.New(), store: &faultyStore{}, clock: newClock(), log: s, users: map[string]identity.User{}}
	var err error
	st.ids, err = identity.NewSessions(identity.SessionsConfig{
		Sessions: st.sm,
		Lookup: func(_ context.Context, id string) (identity.User, error) {
			return st.users[id], nil
		},
		Logger: log,
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
	cfg := passwordexpiry.Config{
		Store: st.store, Sessions: st.sm, Exempt: []string{"/static/"},
		Logger: log, Now: st.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	st.gate, err = passwordexpiry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		u := st.users[r.FormValue("u")]
		var methods []string // how the user logged in: "fed" through a provider
		if m := r.FormValue("m"); m != "" {
			methods = strings.Split(m, ",")
		}
		if err := st.ids.Login(r, u, methods...); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		fmt.Fprint(w, "logged in")
	})
	mux.HandleFunc("POST /password/change", func(w http.ResponseWriter, r *http.Request) {
		u := identity.FromRequest(r)
		if err := st.gate.Changed(r, u.ID()); err != nil {
			http.Error(w, "not saved", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "changed")
	})
	mux.HandleFunc("POST /flag-me", func(w http.ResponseWriter, r *http.Request) {
		if err := st.gate.Require(r, identity.FromRequest(r).ID(), passwordexpiry.Compromised); err != nil {
			http.Error(w, "not saved", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "flagged")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") })
	st.h = st.sm.LoadAndSave(who.Handler(st.gate.Handler(mux)))
	return st
}

func (st *site) addUser(id string) identity.User {
	u := identity.Basic{UserID: id, IsActive: true}
	st.users[id] = u
	return u
}

// do sends a request with the site's session cookie and keeps the cookie
// the response sets.
func (st *site) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	st.t.Helper()
	r := httptest.NewRequest(method, target, nil)
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
	if w := st.do("POST", "/login?u="+url.QueryEscape(id)); w.Code != 200 {
		st.t.Fatalf("login %s: %d %s", id, w.Code, w.Body)
	}
	st.log.take()
}

// expect checks a response's status and, for a 303, its Location.
func expect(t *testing.T, what string, w *httptest.ResponseRecorder, code int, location string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("%s: status %d, want %d (body %q)", what, w.Code, code, w.Body)
	}
	if got := w.Header().Get("Location"); got != location {
		t.Fatalf("%s: Location %q, want %q", what, got, location)
	}
}
