package passwordexpiry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	pwsql "github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(200)
	w.Write([]byte("ok"))
})

// benchChain is scs (memstore) with a logged-in session of alice, whose
// record says she changed her password (a record, so the store has
// something to read when it is asked).
type benchChain struct {
	sm     *scs.SessionManager
	who    *identity.Middleware
	store  *passwordexpiry.MemoryStore
	cookie *http.Cookie
}

func newBenchChain(b *testing.B) *benchChain {
	nop := seclog.Discard()
	c := &benchChain{sm: scs.New(), store: passwordexpiry.NewMemoryStore()}
	alice := identity.Basic{UserID: "alice", Name: "Alice", IsActive: true}
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: c.sm, Logger: nop,
		Lookup: func(context.Context, string) (identity.User, error) { return alice, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	if c.who, err = identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: nop}); err != nil {
		b.Fatal(err)
	}
	if err := c.store.Changed(context.Background(), "alice", time.Now()); err != nil {
		b.Fatal(err)
	}
	login := c.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Login(r, alice); err != nil {
			b.Fatal(err)
		}
	}))
	w := httptest.NewRecorder()
	login.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
	c.cookie = w.Result().Cookies()[0]
	return c
}

func (c *benchChain) gate(b *testing.B, cache bool) http.Handler {
	cfg := passwordexpiry.Config{Store: c.store, Logger: seclog.Discard()}
	if cache {
		cfg.Sessions = c.sm
	}
	gate, err := passwordexpiry.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return gate.Handler(okHandler)
}

func (c *benchChain) run(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(c.cookie)
	loop(b, h, r)
}

// loop serves r once (to warm: the verdict is then cached in the session),
// then measures serving it.
func loop(b *testing.B, h http.Handler, r *http.Request) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		b.Fatalf("status %d", rec.Code)
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkLoadAndSave is the yardstick: scs LoadAndSave (memstore, gob)
// loading alice's session, and the handler.
func BenchmarkLoadAndSave(b *testing.B) {
	c := newBenchChain(b)
	c.run(b, c.sm.LoadAndSave(okHandler))
}

// BenchmarkLoadAndSaveIdentity adds the identity middleware (the session's
// user, looked up from a map).
func BenchmarkLoadAndSaveIdentity(b *testing.B) {
	c := newBenchChain(b)
	c.run(b, c.sm.LoadAndSave(c.who.Handler(okHandler)))
}

// BenchmarkLoadAndSaveIdentityGate adds the gate, with alice's verdict
// cached in her session: the common request of a logged-in user.
func BenchmarkLoadAndSaveIdentityGate(b *testing.B) {
	c := newBenchChain(b)
	c.run(b, c.sm.LoadAndSave(c.who.Handler(c.gate(b, true))))
}

// BenchmarkLoadAndSaveIdentityGateNoCache is the same without the session
// cache: the (memory) store is asked on every request.
func BenchmarkLoadAndSaveIdentityGateNoCache(b *testing.B) {
	c := newBenchChain(b)
	c.run(b, c.sm.LoadAndSave(c.who.Handler(c.gate(b, false))))
}

// The gate alone, on a request whose session is already loaded and whose
// user is already in the context: what the gate itself costs.
func benchGateAlone(b *testing.B, store passwordexpiry.Store, cache bool) {
	c := newBenchChain(b)
	if err := store.Changed(context.Background(), "alice", time.Now()); err != nil {
		b.Fatal(err)
	}
	cfg := passwordexpiry.Config{Store: store, Logger: seclog.Discard()}
	if cache {
		cfg.Sessions = c.sm
	}
	gate, err := passwordexpiry.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	h := gate.Handler(okHandler)
	r := httptest.NewRequest("GET", "/account", nil)
	ctx, err := c.sm.Load(r.Context(), c.cookie.Value)
	if err != nil {
		b.Fatal(err)
	}
	loop(b, h, r.WithContext(identity.NewContext(ctx, identity.Basic{UserID: "alice", IsActive: true})))
}

// BenchmarkGateCached: the verdict read from the session.
func BenchmarkGateCached(b *testing.B) { benchGateAlone(b, passwordexpiry.NewMemoryStore(), true) }

// BenchmarkGateMemoryStore: no cache, the memory store asked.
func BenchmarkGateMemoryStore(b *testing.B) {
	benchGateAlone(b, passwordexpiry.NewMemoryStore(), false)
}

// BenchmarkGateSQLiteStore: no cache, an SQLite store (a file in a temp
// dir) asked: the cost the session cache saves.
func BenchmarkGateSQLiteStore(b *testing.B) {
	s, err := pwsql.New(context.Background(), sqlstoretest.SQLite(b))
	if err != nil {
		b.Fatal(err)
	}
	benchGateAlone(b, s, false)
}
