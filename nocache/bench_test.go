package nocache_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/nocache"
)

func run(b *testing.B, h http.Handler, target string, user bool) {
	headerbench.Run(b, h, req(target, user))
}

// BenchmarkBare: the application handler alone, no header.
func BenchmarkBare(b *testing.B) { run(b, headerbench.Bare, "/account/settings", false) }

// BenchmarkIdeal: the handler sets Cache-Control itself, from a prebuilt value.
func BenchmarkIdeal(b *testing.B) {
	run(b, headerbench.Ideal("Cache-Control", []string{nocache.CacheControl}), "/account/settings", false)
}

// BenchmarkMarked: the zero Config (every response marked): decision,
// pooled wrapper, header set at WriteHeader, validators removed.
func BenchmarkMarked(b *testing.B) {
	run(b, testenv.Must(nocache.New(nocache.Config{})).Handler(headerbench.Bare), "/account/settings", false)
}

// BenchmarkAuthenticated: Config{Authenticated}, a logged-in request
// (marked).
func BenchmarkAuthenticated(b *testing.B) {
	run(b, testenv.Must(nocache.New(nocache.Config{Authenticated: loggedIn})).Handler(headerbench.Bare), "/account/settings", true)
}

// BenchmarkAnonymous: Config{Authenticated}, an anonymous request: not
// marked, no wrapper.
func BenchmarkAnonymous(b *testing.B) {
	run(b, testenv.Must(nocache.New(nocache.Config{Authenticated: loggedIn})).Handler(headerbench.Bare), "/account/settings", false)
}

var rules = []string{"/static/", "/{$}", "GET /health", "/account/", "/users/{id}/invoices"}

// BenchmarkConfidentialPath: Confidential rules, a request on one of them
// (path judged by pathrule, then marked).
func BenchmarkConfidentialPath(b *testing.B) {
	run(b, testenv.Must(nocache.New(nocache.Config{Confidential: rules})).Handler(headerbench.Bare), "/account/settings", false)
}

// BenchmarkExemptPath: Exempt rules, a request on an exempt path (path
// judged, not marked, no wrapper).
func BenchmarkExemptPath(b *testing.B) {
	run(b, testenv.Must(nocache.New(nocache.Config{Exempt: rules})).Handler(headerbench.Bare), "/static/app.css", false)
}

// BenchmarkRatio is the middleware against the ideal, interleaved in one
// loop (headerbench.Ratio): every response marked (the zero Config), an
// authenticated request with Config.Authenticated, and "writetime", the
// hand-written floor of what the issue asks of nocache (the header set
// when the response header is written, so that a handler's own
// Cache-Control and validators can be seen): a pooled ResponseWriter
// wrapper that assigns the prebuilt value and deletes the validators,
// nothing else.
func BenchmarkRatio(b *testing.B) {
	headerbench.Ratio(b, req("/account/settings", true),
		headerbench.Ideal("Cache-Control", []string{nocache.CacheControl}), []string{"marked", "authenticated", "writetime", "writetime+cond"},
		testenv.Must(nocache.New(nocache.Config{})).Handler(headerbench.Bare),
		testenv.Must(nocache.New(nocache.Config{Authenticated: loggedIn})).Handler(headerbench.Bare),
		writeTime(headerbench.Bare), unconditional(writeTime(headerbench.Bare)))
}

// unconditional is the rest of the hand-written floor of nocache's
// behaviour ("writetime+cond"): a GET or HEAD reaches the handler
// without If-None-Match and If-Modified-Since (a copy without them when
// there are any), so that the handler cannot answer 304.
func unconditional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			(len(r.Header["If-None-Match"]) > 0 || len(r.Header["If-Modified-Since"]) > 0) {
			r = r.Clone(r.Context())
			delete(r.Header, "If-None-Match")
			delete(r.Header, "If-Modified-Since")
		}
		next.ServeHTTP(w, r)
	})
}

var (
	writeTimeValue = []string{nocache.CacheControl}
	writeTimePool  = sync.Pool{New: func() any { return new(writeTimeWriter) }}
)

type writeTimeWriter struct {
	http.ResponseWriter
	done bool
}

func (w *writeTimeWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		h := w.Header()
		delete(h, "Etag")
		delete(h, "Last-Modified")
		h["Cache-Control"] = writeTimeValue
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *writeTimeWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func writeTime(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := writeTimePool.Get().(*writeTimeWriter)
		ww.ResponseWriter, ww.done = w, false
		next.ServeHTTP(ww, r)
		*ww = writeTimeWriter{}
		writeTimePool.Put(ww)
	})
}
