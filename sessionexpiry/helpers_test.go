package sessionexpiry_test

import (
	"context"
	"errors"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// clock is a settable clock shared by the middleware and the login.
type clock = testenv.Clock

func newClock() *clock { return testenv.NewClock(time.Now()) }

// events reads back the security log (internal/seclogtest), keeping the
// last batch taken for field look-ups.
type events struct {
	rec  *seclogtest.Recorder
	last *[]seclogtest.Event
}

func newLogger(t testing.TB) (*seclog.Logger, events) {
	l, rec := seclogtest.New(t)
	return l, events{rec, new([]seclogtest.Event)}
}

// take returns and forgets the names of the events logged so far.
func (e events) take() []string {
	*e.last = e.rec.Take()
	var names []string
	for _, ev := range *e.last {
		names = append(names, ev.Name)
	}
	return names
}

// field returns a field of the last event named name, among those the
// last take returned.
func (e events) field(name, key string) any {
	var v any
	for _, ev := range *e.last {
		if ev.Name == name {
			v = ev.Fields[key]
		}
	}
	return v
}

// values returns a field of every event named name, among those the last
// take returned.
func (e events) values(name, key string) []string {
	var vs []string
	for _, ev := range *e.last {
		if ev.Name == name {
			v, _ := ev.Fields[key].(string)
			vs = append(vs, v)
		}
	}
	return vs
}

var alice = identity.Basic{UserID: "alice", Name: "Alice", IsActive: true}

// site is one application instance: scs LoadAndSave, sessionexpiry and a
// small mux that logs in, logs out, says who is there, and can hold a
// request in flight.
type site struct {
	sm       *scs.SessionManager
	mw       *sessionexpiry.Middleware
	ids      *identity.Sessions
	h        http.Handler
	expired  int // OnExpire calls
	hold     chan struct{}
	entered  chan struct{}
	mu       sync.Mutex
	lastSeen string
}

type siteOpt func(*sessionexpiry.Config)

func newSite(t testing.TB, sm *scs.SessionManager, clk *clock, log *seclog.Logger, opts ...siteOpt) *site {
	t.Helper()
	s := &site{sm: sm, hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	cfg := sessionexpiry.Config{
		Sessions: sm,
		Absolute: 8 * time.Hour,
		Idle:     20 * time.Minute,
		Logger:   log,
		Now:      clk.Now,
		OnExpire: func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.expired++
			s.mu.Unlock()
			w.Header().Set("Clear-Site-Data", `"cookies"`)
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	mw, err := sessionexpiry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sm,
		Lookup: func(ctx context.Context, id string) (identity.User, error) {
			if id == alice.UserID {
				return alice, nil
			}
			return nil, nil
		},
		Logger: log,
		Now:    clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Login(r, alice); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("welcome"))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Logout(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("bye"))
	})
	who := func(w http.ResponseWriter, r *http.Request) {
		id := ids.UserID(r.Context())
		if id == "" {
			id = "anonymous"
		}
		w.Write([]byte(id))
	}
	mux.HandleFunc("GET /whoami", who)
	mux.HandleFunc("GET /poll", who)
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		s.entered <- struct{}{}
		<-s.hold
		sm.Put(r.Context(), "cart", "3 apples") // the request changes the session
		who(w, r)
	})
	s.mw, s.ids = mw, ids
	s.h = sm.LoadAndSave(mw.Handler(mux))
	return s
}

// do serves one request with the cookie (may be nil) and returns the
// recorder.
func (s *site) do(method, target string, cookie *http.Cookie, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec
}

// login logs alice in and returns her session cookie.
func (s *site) login(t testing.TB) *http.Cookie {
	t.Helper()
	rec := s.do("POST", "/login", nil)
	if rec.Code != 200 {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	c := sessionCookie(rec)
	if c == nil || c.Value == "" {
		t.Fatal("login: no session cookie")
	}
	return c
}

// sessionCookie returns the session cookie a response sets, or nil.
func sessionCookie(rec *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

// expiresCookie reports whether the response deletes the session cookie.
func expiresCookie(rec *httptest.ResponseRecorder) bool {
	c := sessionCookie(rec)
	return c != nil && c.MaxAge < 0
}

// newManager returns an scs manager with the in-memory store and a
// lifetime longer than the sites' Absolute.
func newManager() *scs.SessionManager {
	sm := scs.New()
	sm.Lifetime = 9 * time.Hour
	return sm
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

func hasPrefix(s, prefix string) bool { return strings.HasPrefix(s, prefix) }

// countingStore counts the store's look-ups.
type countingStore struct {
	scs.Store
	finds atomic.Int64
}

func (c *countingStore) Find(token string) ([]byte, bool, error) {
	c.finds.Add(1)
	return c.Store.Find(token)
}

// failingStore fails one kind of call on demand: "find" (sessions),
// "find-tomb" (tombstones), "commit" or "delete".
type failingStore struct {
	scs.Store
	mu   sync.Mutex
	fail string
}

var errStore = errors.New("store: connection refused")

func (f *failingStore) set(fail string) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *failingStore) failing(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail == call
}

func (f *failingStore) Find(token string) ([]byte, bool, error) {
	call := "find"
	if strings.HasPrefix(token, "bulwark-tomb:") {
		call = "find-tomb"
	}
	if f.failing(call) {
		return nil, false, errStore
	}
	return f.Store.Find(token)
}

func (f *failingStore) Commit(token string, b []byte, expiry time.Time) error {
	if f.failing("commit") {
		return errStore
	}
	return f.Store.Commit(token, b, expiry)
}

func (f *failingStore) Delete(token string) error {
	if f.failing("delete") {
		return errStore
	}
	return f.Store.Delete(token)
}
