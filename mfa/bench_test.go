package mfa_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
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

// benchChain is scs (memstore, gob) with a logged-in session of alice,
// the identity middleware and the gate; verified says whether alice has
// passed the second factor in the session.
type benchChain struct {
	sm     *scs.SessionManager
	who    *identity.Middleware
	gate   *mfa.Middleware
	cookie *http.Cookie
}

func newBenchChain(b *testing.B, verified bool) *benchChain {
	nop := seclog.Discard()
	c := &benchChain{sm: scs.New()}
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
	if c.gate, err = mfa.New(mfa.Config{Sessions: c.sm, Verifiers: []mfa.Verifier{&fakeVerifier{}}, Logger: nop}); err != nil {
		b.Fatal(err)
	}
	step := func(h http.HandlerFunc, method, body string) {
		var r *http.Request
		if body != "" {
			r = httptest.NewRequest(method, "/mfa", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, "/login", nil)
		}
		if c.cookie != nil {
			r.AddCookie(c.cookie)
		}
		w := httptest.NewRecorder()
		c.sm.LoadAndSave(c.who.Handler(h)).ServeHTTP(w, r)
		for _, ck := range w.Result().Cookies() {
			c.cookie = ck
		}
	}
	step(func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Login(r, alice); err != nil {
			b.Fatal(err)
		}
	}, "POST", "")
	if verified {
		step(func(w http.ResponseWriter, r *http.Request) {
			if _, err := c.gate.Begin(w, r); err != nil {
				b.Fatal(err)
			}
		}, "GET", "x=1")
		step(func(w http.ResponseWriter, r *http.Request) {
			if _, err := c.gate.Complete(w, r); err != nil {
				b.Fatal(err)
			}
		}, "POST", "answer=ok")
	}
	return c
}

func run(b *testing.B, h http.Handler, cookie *http.Cookie, want int) {
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != want {
		b.Fatalf("status %d, want %d", rec.Code, want)
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkLoadAndSaveIdentity is the yardstick: scs LoadAndSave loading
// alice's session, the identity middleware, the handler.
func BenchmarkLoadAndSaveIdentity(b *testing.B) {
	c := newBenchChain(b, true)
	run(b, c.sm.LoadAndSave(c.who.Handler(okHandler)), c.cookie, 200)
}

// BenchmarkLoadAndSaveIdentityGate adds the gate, for alice who has passed
// the second factor: the common request of a logged-in user.
func BenchmarkLoadAndSaveIdentityGate(b *testing.B) {
	c := newBenchChain(b, true)
	run(b, c.sm.LoadAndSave(c.who.Handler(c.gate.Handler(okHandler))), c.cookie, 200)
}

// BenchmarkLoadAndSaveIdentityGateRefused: alice has not passed; the
// gate refuses (303, the return path written to the session, the event
// to a no-op logger).
func BenchmarkLoadAndSaveIdentityGateRefused(b *testing.B) {
	c := newBenchChain(b, false)
	run(b, c.sm.LoadAndSave(c.who.Handler(c.gate.Handler(okHandler))), c.cookie, 303)
}

// BenchmarkGateVerified is the gate alone, on a request whose session is
// loaded and whose user is in the context.
func BenchmarkGateVerified(b *testing.B) {
	c := newBenchChain(b, true)
	r := httptest.NewRequest("GET", "/account", nil)
	ctx, err := c.sm.Load(r.Context(), c.cookie.Value)
	if err != nil {
		b.Fatal(err)
	}
	r = r.WithContext(identity.NewContext(ctx, identity.Basic{UserID: "alice", IsActive: true}))
	h := c.gate.Handler(okHandler)
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
