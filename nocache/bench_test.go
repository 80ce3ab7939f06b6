package nocache_test

import (
	"net/http"
	"testing"

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
	run(b, nocache.MustNew(nocache.Config{}).Handler(headerbench.Bare), "/account/settings", false)
}

// BenchmarkAuthenticated: Config{Authenticated}, a logged-in request
// (marked).
func BenchmarkAuthenticated(b *testing.B) {
	run(b, nocache.MustNew(nocache.Config{Authenticated: loggedIn}).Handler(headerbench.Bare), "/account/settings", true)
}

// BenchmarkAnonymous: Config{Authenticated}, an anonymous request: not
// marked, no wrapper.
func BenchmarkAnonymous(b *testing.B) {
	run(b, nocache.MustNew(nocache.Config{Authenticated: loggedIn}).Handler(headerbench.Bare), "/account/settings", false)
}

var rules = nocache.Rules{Patterns: []string{"/static/", "/{$}", "GET /health", "/account/", "/users/{id}/invoices"}}

// BenchmarkConfidentialPath: Confidential rules, a request on one of them
// (path judged by pathrule, then marked).
func BenchmarkConfidentialPath(b *testing.B) {
	run(b, nocache.MustNew(nocache.Config{Confidential: rules}).Handler(headerbench.Bare), "/account/settings", false)
}

// BenchmarkExemptPath: Exempt rules, a request on an exempt path (path
// judged, not marked, no wrapper).
func BenchmarkExemptPath(b *testing.B) {
	run(b, nocache.MustNew(nocache.Config{Exempt: rules}).Handler(headerbench.Bare), "/static/app.css", false)
}
