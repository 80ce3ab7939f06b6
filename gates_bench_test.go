package bulwark_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// gatedSite is scs LoadAndSave with the in-memory store, alone or with
// every gate of the suite (sessionexpiry, identity, loginrequired,
// passwordexpiry), and a logged-in request to serve through it.
func gatedSite(b *testing.B, gates bool, codec scs.Codec) (http.Handler, *http.Request) {
	b.Helper()
	sec := seclog.Discard()
	sm := scs.New()
	if codec != nil {
		sm.Codec = codec
	}
	sm.Lifetime = 24 * time.Hour
	alice := identity.Basic{UserID: "alice", Name: "Alice", IsActive: true}
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sm, Logger: sec,
		Lookup: func(context.Context, string) (identity.User, error) { return alice, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	// Log alice in, and keep the session cookie.
	rec := httptest.NewRecorder()
	sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Login(r, alice); err != nil {
			b.Fatal(err)
		}
	})).ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	r := httptest.NewRequest("GET", "/account", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	if !gates {
		return sm.LoadAndSave(headerbench.Bare), r
	}

	chain, err := bulwark.New(bulwark.Config{
		Logger:         sec,
		Sessions:       sm,
		Public:         []string{"/{$}", "/static/"},
		SessionExpiry:  &sessionexpiry.Config{},
		Identity:       &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{ids}},
		LoginRequired:  &loginrequired.Config{},
		PasswordExpiry: &passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore()},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := chain.Then(headerbench.Bare)
	return h, r
}

// BenchmarkGates serves one logged-in request through scs LoadAndSave
// alone, through LoadAndSave and every gate of the suite, and through the
// same with sessionexpiry's Codec, in alternating batches inside one loop,
// so that all three see the same machine load. It reports the ratios to
// LoadAndSave alone (x-gates, x-gates-codec): the Gates issue's target is
// x-gates ≤ 1.2.
func BenchmarkGates(b *testing.B) {
	type variant struct {
		h http.Handler
		r *http.Request
		t time.Duration
	}
	var vs []*variant
	for _, v := range []struct {
		gates bool
		codec scs.Codec
	}{{false, nil}, {true, nil}, {true, sessionexpiry.Codec{}}} {
		h, r := gatedSite(b, v.gates, v.codec)
		vs = append(vs, &variant{h: h, r: r})
	}
	w := headerbench.NewWriter()
	// Warm up: the first request through the gates writes the session
	// (activity time, password verdict); later ones only read it.
	for _, v := range vs {
		for range 3 {
			w.Reset()
			v.h.ServeHTTP(w, v.r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	const batch = 32
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vs {
			start := time.Now()
			for range batch {
				w.Reset()
				v.h.ServeHTTP(w, v.r)
			}
			v.t += time.Since(start)
		}
		n += batch
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
	alone := float64(vs[0].t)
	b.ReportMetric(alone/float64(n), "ns-scs/req")
	b.ReportMetric(float64(vs[1].t)/float64(n), "ns-gates/req")
	b.ReportMetric(float64(vs[2].t)/float64(n), "ns-gates-codec/req")
	b.ReportMetric(float64(vs[1].t)/alone, "x-gates")
	b.ReportMetric(float64(vs[2].t)/alone, "x-gates-codec")
}
