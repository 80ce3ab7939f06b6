package ajaxonly_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/seclog"
)

// benchWriter is a ResponseWriter that keeps nothing, so that the
// benchmarks measure the middleware, not a recorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

// serve runs h on r b.N times, with the response headers emptied before
// each run, as a new response has them.
func serve(b *testing.B, h http.Handler, r *http.Request) {
	w := &benchWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

var status204 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// prebuilt is the ideal: a handler that assigns a prebuilt header value.
var prebuilt = []string{ajaxonly.VaryValue}

func fetchRequest() *http.Request {
	r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Sec-Fetch-Mode", "cors")
	r.Header.Set("Sec-Fetch-Dest", "empty")
	r.Header.Set("Accept", "application/json")
	return r
}

func benchMiddleware(b *testing.B) *ajaxonly.Middleware {
	// Events are measured in seclog's own benchmarks: a logger that
	// writes nothing keeps them out of these figures.
	m, err := ajaxonly.New(ajaxonly.Config{Logger: seclog.New(zap.NewNop())})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkBare is the handler alone.
func BenchmarkBare(b *testing.B) {
	serve(b, status204, fetchRequest())
}

// BenchmarkIdeal is a handler that assigns the prebuilt Vary value itself.
func BenchmarkIdeal(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Vary"] = prebuilt
		w.WriteHeader(http.StatusNoContent)
	})
	serve(b, h, fetchRequest())
}

// BenchmarkFetch is the hot path: a fetch() request, let through.
func BenchmarkFetch(b *testing.B) {
	serve(b, benchMiddleware(b).Handler(status204), fetchRequest())
}

// BenchmarkXRequestedWith is an XMLHttpRequest of an older library,
// without Fetch Metadata, let through.
func BenchmarkXRequestedWith(b *testing.B) {
	r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
	r.Header.Set("X-Requested-With", "XMLHttpRequest")
	serve(b, benchMiddleware(b).Handler(status204), r)
}

// BenchmarkRefused is a navigation, refused with the built-in 403 (the
// event goes to a logger that writes nothing).
func BenchmarkRefused(b *testing.B) {
	r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("Sec-Fetch-Dest", "document")
	serve(b, benchMiddleware(b).Handler(status204), r)
}
