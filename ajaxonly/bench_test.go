package ajaxonly_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/seclog"
)

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
	m, err := ajaxonly.New(ajaxonly.Config{Logger: seclog.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkBare is the handler alone.
func BenchmarkBare(b *testing.B) {
	headerbench.Run(b, headerbench.Bare, fetchRequest())
}

// BenchmarkIdeal is a handler that assigns the prebuilt Vary value itself.
func BenchmarkIdeal(b *testing.B) {
	headerbench.Run(b, headerbench.Ideal("Vary", prebuilt), fetchRequest())
}

// BenchmarkFetch is the hot path: a fetch() request, let through.
func BenchmarkFetch(b *testing.B) {
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), fetchRequest())
}

// BenchmarkXRequestedWith is an XMLHttpRequest of an older library,
// without Fetch Metadata, let through.
func BenchmarkXRequestedWith(b *testing.B) {
	r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
	r.Header.Set("X-Requested-With", "XMLHttpRequest")
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), r)
}

// BenchmarkRefused is a navigation, refused with the built-in 403 (the
// event goes to a logger that writes nothing).
func BenchmarkRefused(b *testing.B) {
	r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("Sec-Fetch-Dest", "document")
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), r)
}

// BenchmarkRatio is the middleware against the ideal, interleaved in one
// loop (headerbench.Ratio), on a fetch() request let through.
//
// "handwritten" is the floor of the decision: the application handler
// that reads Sec-Fetch-Mode, Sec-Fetch-Dest and Sec-Fetch-Site itself
// (three header lookups, which the ideal does not do) and assigns the
// prebuilt Vary.
func BenchmarkRatio(b *testing.B) {
	headerbench.Ratio(b, fetchRequest(), headerbench.Ideal("Vary", prebuilt), []string{"fetch", "handwritten"},
		benchMiddleware(b).Handler(headerbench.Bare), handwritten)
}

var handwritten = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header()["Vary"] = prebuilt
	mode, dest, site := r.Header["Sec-Fetch-Mode"], r.Header["Sec-Fetch-Dest"], r.Header["Sec-Fetch-Site"]
	if len(mode) == 0 || mode[0] != "cors" || len(dest) == 0 || dest[0] != "empty" || len(site) == 0 || site[0] != "same-origin" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	headerbench.Bare.ServeHTTP(w, r)
})
