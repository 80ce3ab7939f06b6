package referrer_test

import (
	"net/http"
	"testing"

	"github.com/bulwark-go/bulwark/referrer"
)

// benchWriter is the cheapest ResponseWriter: a header map reused across
// iterations, a status, and a body thrown away. It keeps the benchmarks
// about the middleware, not about httptest.ResponseRecorder's allocations.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

var body = []byte("<!doctype html><title>ok</title>")

// bare is the application handler: it writes a small page.
var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.Write(body)
})

// prebuilt is the header value the ideal handler assigns.
var prebuilt = []string{"same-origin"}

// ideal is what the fastest hand-written code would do: the application
// handler assigning a prebuilt value to the header map itself.
var ideal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header()["Referrer-Policy"] = prebuilt
	w.WriteHeader(http.StatusOK)
	w.Write(body)
})

func run(b *testing.B, h http.Handler) {
	w := &benchWriter{h: make(http.Header, 4)}
	r, _ := http.NewRequest(http.MethodGet, "/page", nil)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkBare: the application handler alone, no header.
func BenchmarkBare(b *testing.B) { run(b, bare) }

// BenchmarkIdeal: the handler sets the header itself, from a prebuilt value.
func BenchmarkIdeal(b *testing.B) { run(b, ideal) }

// BenchmarkMiddleware: the zero Config (same-origin) around the bare handler.
func BenchmarkMiddleware(b *testing.B) {
	run(b, referrer.MustNew(referrer.Config{}).Handler(bare))
}

// BenchmarkFallbacks: a policy with two fallbacks (the value is prebuilt, so
// it costs the same).
func BenchmarkFallbacks(b *testing.B) {
	m := referrer.MustNew(referrer.Config{
		Policy:    referrer.StrictOriginWhenCrossOrigin,
		Fallbacks: []referrer.Policy{referrer.NoReferrer, referrer.SameOrigin},
	})
	run(b, m.Handler(bare))
}

// BenchmarkOff: the header turned off (a delete from the header map).
func BenchmarkOff(b *testing.B) {
	run(b, referrer.MustNew(referrer.Config{Off: true}).Handler(bare))
}
