package sessionexpiry_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
	"go.uber.org/zap"
)

// benchSession stores a logged-in session (user id and login time, as
// identity's Login writes them) in sm and returns its cookie.
func benchSession(b *testing.B, sm *scs.SessionManager, login time.Time) *http.Cookie {
	put := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), identity.SessionUserKey, "alice")
		sm.Put(r.Context(), identity.SessionLoginKey, login.UnixNano())
	}))
	rec := httptest.NewRecorder()
	put.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}

// BenchmarkChain compares, in one run, scs's LoadAndSave with the
// in-memory store alone and with sessionexpiry behind it, for a logged-in
// session that is only read (the common request: the last-activity time
// is recent) and for an anonymous visitor without a cookie.
// "scs-idletimeout" is scs's own IdleTimeout, which writes the session on
// every request. Compare side by side with
//
//	go test ./sessionexpiry -run '^$' -bench . -benchmem -count 10 | benchstat -col /mw -
func BenchmarkChain(b *testing.B) {
	login := time.Now()
	now := func() time.Time { return login.Add(30 * time.Second) } // within the granularity: no write
	for _, tc := range []struct {
		name   string
		cookie bool
		build  func(sm *scs.SessionManager) http.Handler
	}{
		{"session=logged-in/mw=scs", true, func(sm *scs.SessionManager) http.Handler { return sm.LoadAndSave(headerbench.Bare) }},
		{"session=logged-in/mw=scs+sessionexpiry", true, func(sm *scs.SessionManager) http.Handler {
			mw, err := sessionexpiry.New(sessionexpiry.Config{Manager: sm, Logger: seclog.New(zap.NewNop()), Now: now})
			if err != nil {
				b.Fatal(err)
			}
			return sm.LoadAndSave(mw.Handler(headerbench.Bare))
		}},
		{"session=logged-in/mw=scs-idletimeout", true, func(sm *scs.SessionManager) http.Handler {
			sm.IdleTimeout = 30 * time.Minute
			return sm.LoadAndSave(headerbench.Bare)
		}},
		{"session=anonymous/mw=scs", false, func(sm *scs.SessionManager) http.Handler { return sm.LoadAndSave(headerbench.Bare) }},
		{"session=anonymous/mw=scs+sessionexpiry", false, func(sm *scs.SessionManager) http.Handler {
			mw, err := sessionexpiry.New(sessionexpiry.Config{Manager: sm, Logger: seclog.New(zap.NewNop()), Now: now})
			if err != nil {
				b.Fatal(err)
			}
			return sm.LoadAndSave(mw.Handler(headerbench.Bare))
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sm := scs.New()
			h := tc.build(sm)
			r := httptest.NewRequest("GET", "/account", nil)
			r.Header.Set("User-Agent", "Mozilla/5.0")
			r.Header.Set("Accept", "text/html")
			if tc.cookie {
				r.AddCookie(benchSession(b, sm, login))
			}
			w := headerbench.NewWriter()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
			b.ReportAllocs()
			for b.Loop() {
				w.Reset()
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkRatio serves the same logged-in request through LoadAndSave
// alone and through LoadAndSave with sessionexpiry, in alternating batches
// within one loop, so that both see the same machine load; it reports the
// ratio of their times ("x-scs", the target being ≤ 1.2) besides each one's
// ns per request.
func BenchmarkRatio(b *testing.B) {
	login := time.Now()
	now := func() time.Time { return login.Add(30 * time.Second) }
	sm := scs.New()
	mw, err := sessionexpiry.New(sessionexpiry.Config{Manager: sm, Logger: seclog.New(zap.NewNop()), Now: now})
	if err != nil {
		b.Fatal(err)
	}
	alone := sm.LoadAndSave(headerbench.Bare)
	gated := sm.LoadAndSave(mw.Handler(headerbench.Bare))
	r := httptest.NewRequest("GET", "/account", nil)
	r.AddCookie(benchSession(b, sm, login))
	w := headerbench.NewWriter()
	const batch = 32
	var tAlone, tGated time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		for range batch {
			w.Reset()
			alone.ServeHTTP(w, r)
		}
		mid := time.Now()
		for range batch {
			w.Reset()
			gated.ServeHTTP(w, r)
		}
		tAlone += mid.Sub(start)
		tGated += time.Since(mid)
		n += batch
	}
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
	b.ReportMetric(float64(tAlone.Nanoseconds())/float64(n), "ns-scs/req")
	b.ReportMetric(float64(tGated.Nanoseconds())/float64(n), "ns-gated/req")
	b.ReportMetric(float64(tGated)/float64(tAlone), "x-scs")
}
