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
			mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: seclog.Discard(), Now: now})
			if err != nil {
				b.Fatal(err)
			}
			return sm.LoadAndSave(mw.Handler(headerbench.Bare))
		}},
		{"session=logged-in/mw=scs+sessionexpiry+codec", true, func(sm *scs.SessionManager) http.Handler {
			sm.Codec = sessionexpiry.Codec{}
			mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: seclog.Discard(), Now: now})
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
			mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: seclog.Discard(), Now: now})
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
// alone (scs's gob codec), through LoadAndSave with sessionexpiry, and
// through both with sessionexpiry's Codec, in alternating batches within
// one loop, so that all see the same machine load. It reports each one's
// time per request and the ratios to LoadAndSave alone: "x-scs" (the target
// is ≤ 1.2) and "x-scs-codec".
func BenchmarkRatio(b *testing.B) {
	login := time.Now()
	now := func() time.Time { return login.Add(30 * time.Second) }
	type variant struct {
		h http.Handler
		r *http.Request
		t time.Duration
	}
	build := func(gated bool, codec scs.Codec) *variant {
		sm := scs.New()
		if codec != nil {
			sm.Codec = codec
		}
		h := sm.LoadAndSave(headerbench.Bare)
		if gated {
			mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Logger: seclog.Discard(), Now: now})
			if err != nil {
				b.Fatal(err)
			}
			h = sm.LoadAndSave(mw.Handler(headerbench.Bare))
		}
		r := httptest.NewRequest("GET", "/account", nil)
		r.AddCookie(benchSession(b, sm, login))
		return &variant{h: h, r: r}
	}
	variants := []*variant{build(false, nil), build(true, nil), build(true, sessionexpiry.Codec{})}
	w := headerbench.NewWriter()
	const batch = 32
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range variants {
			start := time.Now()
			for range batch {
				w.Reset()
				v.h.ServeHTTP(w, v.r)
			}
			v.t += time.Since(start)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
		n += batch
	}
	alone, gated, codec := variants[0].t, variants[1].t, variants[2].t
	b.ReportMetric(float64(alone.Nanoseconds())/float64(n), "ns-scs/req")
	b.ReportMetric(float64(gated.Nanoseconds())/float64(n), "ns-gated/req")
	b.ReportMetric(float64(codec.Nanoseconds())/float64(n), "ns-gated-codec/req")
	b.ReportMetric(float64(gated)/float64(alone), "x-scs")
	b.ReportMetric(float64(codec)/float64(alone), "x-scs-codec")
}
