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
