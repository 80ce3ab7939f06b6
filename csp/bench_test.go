package csp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchPolicy is the ~300-byte realistic policy of the anchors
// (performance-anchors.md, Appendix A); benchNonce has the nonce in
// script-src (341 B once expanded).
const (
	benchPolicy = "default-src 'self'; script-src 'self' https://cdn.example.com; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: https:; font-src https://fonts.gstatic.com; connect-src 'self' https://api.example.com; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; report-uri /csp"
	benchNonce  = "default-src 'self'; script-src 'self' $NONCE https://cdn.example.com; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: https:; font-src https://fonts.gstatic.com; connect-src 'self' https://api.example.com; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; report-uri /csp"
)

var okBody = []byte("ok")

// trivial is the anchors' handler.
var trivial = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(200)
	w.Write(okBody)
})

// withNonce reads the nonce, as a page that uses it does.
var sink string
var withNonce = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	sink = Nonce(r.Context())
	w.WriteHeader(200)
	w.Write(okBody)
})

// run serves h in the anchors' "reuse" mode: one recorder, cleared each
// time, so that the figure is the middleware's own cost.
func run(b *testing.B, h http.Handler) {
	b.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0")
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.HeaderMap)
		w.Body.Reset()
		w.Code, w.Flushed = 200, false
		h.ServeHTTP(w, r)
	}
}

type ctxKey struct{}

// BenchmarkStatic: a bare handler, the ideal (a prebuilt []string
// assigned into the header map) and this package with the same policy.
func BenchmarkStatic(b *testing.B) {
	ideal := []string{benchPolicy}
	b.Run("bare", func(b *testing.B) { run(b, trivial) })
	b.Run("ideal", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Security-Policy"] = ideal
			trivial(w, r)
		}))
	})
	b.Run("bulwark", func(b *testing.B) {
		m := mustNew(b, Config{Enforce: Raw(benchPolicy), Logger: quiet})
		run(b, m.Handler(trivial))
	})
}

// BenchmarkNonce: the hand-written ideal nonce middleware with and
// without passing the nonce through the request's context, and this
// package (eager and lazy), the handler reading the nonce each time.
func BenchmarkNonce(b *testing.B) {
	p := Raw(benchNonce)
	segs := serialize(p, true, true, true)
	pre, suf := segs[0], segs[1]
	ideal := func(withCtx bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var raw [16]byte
			rand.Read(raw[:])
			var enc [22]byte
			base64.RawURLEncoding.Encode(enc[:], raw[:])
			w.Header()["Content-Security-Policy"] = []string{pre + string(enc[:]) + suf}
			if withCtx {
				r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, string(enc[:])))
				sink = r.Context().Value(ctxKey{}).(string)
			}
			trivial(w, r)
		})
	}
	b.Run("ideal", func(b *testing.B) { run(b, ideal(false)) })
	b.Run("ideal+ctx", func(b *testing.B) { run(b, ideal(true)) })
	b.Run("bulwark", func(b *testing.B) {
		m := mustNew(b, Config{Enforce: p, Logger: quiet})
		run(b, m.Handler(withNonce))
	})
	b.Run("bulwark-both", func(b *testing.B) {
		m := mustNew(b, Config{Enforce: p, ReportOnly: p, Logger: quiet})
		run(b, m.Handler(withNonce))
	})
	b.Run("bulwark-lazy", func(b *testing.B) {
		m := mustNew(b, Config{Enforce: p, Lazy: true, Logger: quiet})
		run(b, m.Handler(withNonce))
	})
	b.Run("bulwark-preset", func(b *testing.B) {
		m := mustNew(b, Config{Enforce: p, Logger: quiet, Presets: map[string]Change{"p": {Append: Policy{Dir(ImgSrc, "img.example")}}}})
		run(b, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			Use(r, "p")
			withNonce(w, r)
		})))
	})
}
