package clearsite_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/seclog"
)

// prebuilt is the ideal: a handler that assigns a prebuilt header value.
var prebuilt = []string{`"cookies", "storage"`}

func benchMiddleware(b *testing.B, cfg clearsite.Config) *clearsite.Middleware {
	// Events are measured in seclog's own benchmarks: a logger that
	// writes nothing keeps them out of these figures.
	cfg.Logger = seclog.Discard()
	m, err := clearsite.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

var benchPaths = []string{"/logout", "/account/deleted"}

// BenchmarkBare is the yardstick of the hot path: the handler alone.
func BenchmarkBare(b *testing.B) {
	headerbench.Run(b, headerbench.Bare, httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkIdeal is the yardstick of a listed path: a handler that assigns
// the prebuilt header value itself.
func BenchmarkIdeal(b *testing.B) {
	headerbench.Run(b, headerbench.Ideal(clearsite.HeaderName, prebuilt), httptest.NewRequest("GET", "https://example.com/logout", nil))
}

// BenchmarkUnlisted is the hot path: an HTTPS request on a path that is not
// listed (the default: no wrapper).
func BenchmarkUnlisted(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths})
	headerbench.Run(b, m.Handler(headerbench.Bare), httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkUnlistedTrigger is the hot path with Config.Trigger: every
// request goes through the (pooled) wrapper that Trigger needs.
func BenchmarkUnlistedTrigger(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths, Trigger: true})
	headerbench.Run(b, m.Handler(headerbench.Bare), httptest.NewRequest("GET", "https://example.com/account/settings", nil))
}

// BenchmarkListed is a request on a listed path, given the prebuilt value:
// the static case (the literal paths are matched exactly, without a
// pathrule judgement).
func BenchmarkListed(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: benchPaths})
	headerbench.Run(b, m.Handler(headerbench.Bare), httptest.NewRequest("GET", "https://example.com/logout", nil))
}

// BenchmarkListedJudged is a listed path whose patterns need a pathrule
// judgement (one names a method).
func BenchmarkListedJudged(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Paths: []string{"/logout", "POST /account/deleted"}})
	headerbench.Run(b, m.Handler(headerbench.Bare), httptest.NewRequest("GET", "https://example.com/logout", nil))
}

// BenchmarkSend is a logout handler that calls Send.
func BenchmarkSend(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = m.Send(w, r)
		w.WriteHeader(http.StatusSeeOther)
	})
	headerbench.Run(b, m.Handler(h), httptest.NewRequest("POST", "https://example.com/logout", nil))
}

// BenchmarkTrigger is a logout handler that calls Trigger (Config.Trigger).
func BenchmarkTrigger(b *testing.B) {
	m := benchMiddleware(b, clearsite.Config{Trigger: true})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = clearsite.Trigger(w)
		w.WriteHeader(http.StatusSeeOther)
	})
	headerbench.Run(b, m.Handler(h), httptest.NewRequest("POST", "https://example.com/logout", nil))
}

// BenchmarkRatio is the middleware against the ideal, interleaved in one
// loop (headerbench.Ratio), on a listed path.
func BenchmarkRatio(b *testing.B) {
	headerbench.Ratio(b, httptest.NewRequest("GET", "https://example.com/logout", nil),
		headerbench.Ideal(clearsite.HeaderName, prebuilt), []string{"listed"},
		benchMiddleware(b, clearsite.Config{Paths: benchPaths}).Handler(headerbench.Bare))
}
