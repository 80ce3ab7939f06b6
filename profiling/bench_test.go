package profiling_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/seclog"
)

// benchRequest is a browser's navigation, with the headers a browser
// sends, and an optional query.
func benchRequest(target string) *http.Request {
	r := httptest.NewRequest("GET", "https://example.com"+target, nil)
	for k, v := range map[string]string{
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Encoding": "gzip, deflate, br, zstd",
		"Accept-Language": "en-GB,en;q=0.5",
		"Cookie":          "session=0123456789abcdef0123456789abcdef",
		"Sec-Fetch-Dest":  "document",
		"Sec-Fetch-Mode":  "navigate",
		"Sec-Fetch-Site":  "same-origin",
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:135.0) Gecko/20100101 Firefox/135.0",
	} {
		r.Header.Set(k, v)
	}
	return r
}

func benchMiddleware(b *testing.B) *profiling.Middleware {
	// Events are measured in seclog's own benchmarks: a logger that
	// writes nothing keeps them out of these figures.
	m, err := profiling.New(profiling.Config{Logger: seclog.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkBare is the handler alone.
func BenchmarkBare(b *testing.B) {
	headerbench.Run(b, headerbench.Bare, benchRequest("/orders"))
}

// BenchmarkNotAsking is the hot path: a request without the trigger
// header, nor a query.
func BenchmarkNotAsking(b *testing.B) {
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/orders"))
}

// BenchmarkNotAskingQuery is a request with a query that does not hold
// the parameter.
func BenchmarkNotAskingQuery(b *testing.B) {
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/search?q=shoes&page=2&sort=price"))
}

// BenchmarkNotAskingQueryPlausible is a query that holds the parameter's
// name as a value, so it is scanned pair by pair.
func BenchmarkNotAskingQueryPlausible(b *testing.B) {
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/search?q=profile&page=2"))
}

// BenchmarkRefused asks without being authorized (anonymous): served
// normally, and an event for a logger that writes nothing.
func BenchmarkRefused(b *testing.B) {
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/orders?profile=cpu"))
}

// BenchmarkRefusedHeader asks with the header, as a member who is not
// staff.
func BenchmarkRefusedHeader(b *testing.B) {
	r := benchRequest("/orders")
	r.Header.Set(profiling.DefaultHeader, "trace")
	r = r.WithContext(identity.NewContext(r.Context(), member))
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), r)
}

// BenchmarkTiming is an authorized request that asks for Server-Timing
// only: what a staff member's profiled request costs, without a capture.
func BenchmarkTiming(b *testing.B) {
	r := benchRequest("/orders?profile=timing")
	r = r.WithContext(identity.NewContext(r.Context(), staff))
	headerbench.Run(b, benchMiddleware(b).Handler(headerbench.Bare), r)
}

// BenchmarkSpanNotProfiled is a span in a request that is not profiled.
func BenchmarkSpanNotProfiled(b *testing.B) {
	ctx := benchRequest("/").Context()
	b.ReportAllocs()
	for b.Loop() {
		profiling.Span(ctx, "db")()
	}
}

// ratio serves r with bare and with mw alternately, in rounds of a
// thousand requests whose order alternates too, so that both see the same
// machine: the figures of other engineers' benchmarks on the two shared
// cores wander by tens of per cent between runs, not within a round. It
// reports the ns/op of each and their ratio; allocs/op are mw's and bare's
// together.
func ratio(b *testing.B, bare, mw http.Handler, r *http.Request) {
	const round = 1000
	w := headerbench.NewWriter()
	run := func(h http.Handler) time.Duration {
		start := time.Now()
		for range round {
			w.Reset()
			h.ServeHTTP(w, r)
		}
		return time.Since(start)
	}
	var tBare, tMW time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i*round < b.N; i++ {
		if i%2 == 0 {
			tBare += run(bare)
			tMW += run(mw)
		} else {
			tMW += run(mw)
			tBare += run(bare)
		}
	}
	b.ReportMetric(tMW.Seconds()/tBare.Seconds(), "x-bare")
	n := float64((b.N + round - 1) / round * round)
	b.ReportMetric(float64(tBare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(tMW.Nanoseconds())/n, "mw-ns/op")
}

// BenchmarkRatioNotAsking is the target: a request that does not
// ask, against the bare handler, interleaved.
func BenchmarkRatioNotAsking(b *testing.B) {
	ratio(b, headerbench.Bare, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/orders"))
}

// BenchmarkRatioNotAskingQuery is the same with a query that does not
// hold the parameter.
func BenchmarkRatioNotAskingQuery(b *testing.B) {
	ratio(b, headerbench.Bare, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/search?q=shoes&page=2&sort=price"))
}

// BenchmarkRatioRefused asks without being authorized.
func BenchmarkRatioRefused(b *testing.B) {
	ratio(b, headerbench.Bare, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/orders?profile=cpu"))
}

// BenchmarkRatioNotAskingHeaderOff is the hot path with the header
// trigger turned off (DisableHeader): no header lookup, only the query's
// emptiness is read.
func BenchmarkRatioNotAskingHeaderOff(b *testing.B) {
	m, err := profiling.New(profiling.Config{DisableHeader: true, Logger: seclog.Discard()})
	if err != nil {
		b.Fatal(err)
	}
	ratio(b, headerbench.Bare, m.Handler(headerbench.Bare), benchRequest("/orders"))
}

// appMux is a yardstick closer to an application than Bare: a ServeMux
// with ten routes, some with wildcards, in front of the same page.
func appMux() http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{
		"GET /{$}", "GET /static/", "GET /login", "POST /login", "GET /orders",
		"GET /orders/{id}", "POST /orders/{id}/cancel", "GET /users/{id}", "GET /search", "/api/",
	} {
		mux.Handle(p, headerbench.Bare)
	}
	return mux
}

// BenchmarkRatioNotAskingMux is the hot path in front of a ServeMux that
// routes the request to the page.
func BenchmarkRatioNotAskingMux(b *testing.B) {
	mux := appMux()
	ratio(b, mux, benchMiddleware(b).Handler(mux), benchRequest("/orders/42"))
}

// passThrough is the least a middleware can cost: a handler that calls
// the next one.
type passThrough struct{ next http.Handler }

func (p passThrough) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.next.ServeHTTP(w, r) }

// BenchmarkRatioNotAskingVsPassThrough is the hot path against a
// middleware that does nothing: what profiling's check itself costs.
func BenchmarkRatioNotAskingVsPassThrough(b *testing.B) {
	ratio(b, passThrough{headerbench.Bare}, benchMiddleware(b).Handler(headerbench.Bare), benchRequest("/orders"))
}

// BenchmarkRatioNotAskingServed is "nothing measurable" on a request as
// a server sees it: the same browser request served over a loopback
// connection (net/http server and client, keep-alive) by the bare handler
// and by the middleware in front of it, in alternating rounds. Loopback
// only; b.N requests in all.
func BenchmarkRatioNotAskingServed(b *testing.B) {
	bare := httptest.NewServer(headerbench.Bare)
	defer bare.Close()
	mw := httptest.NewServer(benchMiddleware(b).Handler(headerbench.Bare))
	defer mw.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	const round = 100
	run := func(url string) time.Duration {
		r := benchRequest("/orders")
		u, err := r.URL.Parse(url + "/orders")
		if err != nil {
			b.Fatal(err)
		}
		r.URL, r.Host, r.RequestURI = u, u.Host, ""
		start := time.Now()
		for range round {
			res, err := client.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
		return time.Since(start)
	}
	var tBare, tMW time.Duration
	b.ResetTimer()
	for i := 0; i*round < b.N; i++ {
		if i%2 == 0 {
			tBare += run(bare.URL)
			tMW += run(mw.URL)
		} else {
			tMW += run(mw.URL)
			tBare += run(bare.URL)
		}
	}
	b.ReportMetric(tMW.Seconds()/tBare.Seconds(), "x-bare")
	n := float64((b.N + round - 1) / round * round)
	b.ReportMetric(float64(tBare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(tMW.Nanoseconds())/n, "mw-ns/op")
}
