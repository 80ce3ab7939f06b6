// Package headerbench is the benchmark harness shared by the suite's
// header middlewares (referrer, nocache, clearsite, ajaxonly): the same
// minimal ResponseWriter, application handler and loop for every package,
// so that their figures are comparable and measure the middleware, not the
// test scaffolding.
//
// Each package benchmarks three things in one run: [Bare] (the
// application alone), [Ideal] (the application assigning a prebuilt
// header value itself: the fastest hand-written code) and the middleware
// around [Bare].
package headerbench

import (
	"net/http"
	"testing"
	"time"
)

// Writer is the cheapest ResponseWriter: a header map reused across
// iterations, the status, and a body thrown away. Unlike
// httptest.ResponseRecorder it allocates nothing per request.
type Writer struct {
	H    http.Header
	Code int
}

// NewWriter returns a Writer with an empty header map.
func NewWriter() *Writer { return &Writer{H: make(http.Header, 4)} }

// Header returns the header map.
func (w *Writer) Header() http.Header { return w.H }

// WriteHeader records the status.
func (w *Writer) WriteHeader(code int) { w.Code = code }

// Write discards p.
func (w *Writer) Write(p []byte) (int, error) { return len(p), nil }

// Reset empties the header map and the status for the next request.
func (w *Writer) Reset() {
	clear(w.H)
	w.Code = 0
}

var body = []byte("<!doctype html><title>page</title>")

// Bare is the application handler of the benchmarks: it writes a small
// page with a 200.
var Bare http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.Write(body)
})

// Ideal returns the application handler that sets header key (canonical)
// to the prebuilt value itself, before writing the same page as [Bare].
func Ideal(key string, value []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()[key] = value
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
}

// Run serves r with h b.N times on one reused [Writer], reporting
// allocations.
func Run(b *testing.B, h http.Handler, r *http.Request) {
	w := NewWriter()
	b.ReportAllocs()
	for b.Loop() {
		w.Reset()
		h.ServeHTTP(w, r)
	}
}

// Ratio serves r through the ideal handler and through each of hs in
// alternating batches within one loop, so that all see the same machine
// load (separate benchmarks on a shared machine can differ by half from
// one run to the next), and reports each one's time per request
// ("ns-ideal/req", "ns-NAME/req") and its time over the ideal's
// ("x-ideal-NAME"): the suite's header middlewares aim at ≤ 1.5.
// names[i] names hs[i].
func Ratio(b *testing.B, r *http.Request, ideal http.Handler, names []string, hs ...http.Handler) {
	all := append([]http.Handler{ideal}, hs...)
	t := make([]time.Duration, len(all))
	w := NewWriter()
	const batch = 64
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i, h := range all {
			start := time.Now()
			for range batch {
				w.Reset()
				h.ServeHTTP(w, r)
			}
			t[i] += time.Since(start)
		}
		n += batch
	}
	b.ReportMetric(float64(t[0].Nanoseconds())/float64(n), "ns-ideal/req")
	for i, name := range names {
		b.ReportMetric(float64(t[i+1].Nanoseconds())/float64(n), "ns-"+name+"/req")
		b.ReportMetric(float64(t[i+1])/float64(t[0]), "x-ideal-"+name)
	}
}
