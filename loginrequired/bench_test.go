package loginrequired

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

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

func allowList(n int) []string {
	p := []string{"/{$}", "/static/", "GET /health"}
	for i := 0; len(p) < n; i++ {
		p = append(p, fmt.Sprintf("/public%d/page%d", i, i))
	}
	return p
}

func benchGate(b *testing.B, rules int, target string, wantStatus int) {
	gate, err := New(Config{Exempt: allowList(rules), Logger: seclog.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	h := gate.Handler(okHandler)
	r := httptest.NewRequest("GET", target, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != wantStatus {
		b.Fatalf("%s: %d, want %d", target, rec.Code, wantStatus)
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkBare is the yardstick: the handler alone.
func BenchmarkBare(b *testing.B) {
	r := httptest.NewRequest("GET", "/static/app.css", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		okHandler.ServeHTTP(w, r)
	}
}

// BenchmarkAllowed10 serves a public route with 10 rules.
func BenchmarkAllowed10(b *testing.B) { benchGate(b, 10, "/static/app.css", 200) }

// BenchmarkAllowed10000 serves a public route with 10,000 rules.
func BenchmarkAllowed10000(b *testing.B) { benchGate(b, 10000, "/static/app.css", 200) }

// BenchmarkDenied10 refuses an anonymous request (303 to the login page,
// with its security event, to a no-op logger) with 10 rules.
func BenchmarkDenied10(b *testing.B) { benchGate(b, 10, "/account/settings", 303) }

// BenchmarkDenied10000 is the same with 10,000 rules.
func BenchmarkDenied10000(b *testing.B) { benchGate(b, 10000, "/account/settings", 303) }
