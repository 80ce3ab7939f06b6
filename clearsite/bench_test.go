package clearsite_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/clearsite"
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
var prebuilt = []string{`"cookies", "storage"`}

func benchMiddleware(b *testing.B, cfg clearsite.Config) *clearsite.Middleware {
	// Events are measured in seclog's own benchmarks: a logger that
	// writes nothing keeps them out of these figures.
	cfg.Logger = seclog.New(zap.NewNop())
	m, err := clearsite.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

var benchPaths = []string{"/logout", "/account/deleted"}

// BenchmarkBare is the yardstick of the hot path: the handler alone.
func BenchmarkBare(b *testing.B) {
	serve(b, status204, httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkIdeal is the yardstick of a listed path: a handler that assigns
// the prebuilt header value itself.
func BenchmarkIdeal(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()[clearsite.HeaderName] = prebuilt
		w.WriteHeader(http.StatusNoContent)
	})
	serve(b, h, httptest.NewRequest("GET", "https://example.com/logout", nil))
}

// BenchmarkUnlisted is the hot path: an HTTPS request on a path that is not
// listed, with Trigger available (the default).
func BenchmarkUnlisted(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths})
	serve(b, m.Handler(status204), httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkUnlistedPathsOnly is the hot path with PathsOnly: no wrapper.
func BenchmarkUnlistedPathsOnly(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths, PathsOnly: true})
	serve(b, m.Handler(status204), httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkListed is a request on a listed path: judged by pathrule, then
// given the prebuilt value (PathsOnly, the static case).
func BenchmarkListed(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths, PathsOnly: true})
	serve(b, m.Handler(status204), httptest.NewRequest("GET", "https://example.com/logout", nil))
}

// BenchmarkTrigger is a logout handler that calls Trigger.
func BenchmarkTrigger(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = clearsite.Trigger(w)
		w.WriteHeader(http.StatusSeeOther)
	})
	serve(b, m.Handler(h), httptest.NewRequest("POST", "https://example.com/logout", nil))
}
