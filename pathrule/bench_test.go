package pathrule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchPatterns returns n rules: the README's four, then a realistic mix of
// exact pages, subtrees, wildcards, methods and hosts.
func benchPatterns(n int) []string {
	p := []string{"/{$}", "/login", "/static/", "GET /health"}
	for i := 0; len(p) < n; i++ {
		switch i % 6 {
		case 0:
			p = append(p, fmt.Sprintf("/area%d/page%d", i, i))
		case 1:
			p = append(p, fmt.Sprintf("/users/{id}/item%d", i))
		case 2:
			p = append(p, fmt.Sprintf("/docs%d/", i))
		case 3:
			p = append(p, fmt.Sprintf("GET /api/v1/thing%d/{id}", i))
		case 4:
			p = append(p, fmt.Sprintf("POST /hooks/h%d", i))
		case 5:
			p = append(p, fmt.Sprintf("site%d.example.com/", i))
		}
	}
	return p[:n]
}

// benchRequests are clean ASCII requests, some that hit a rule (in both the
// 10- and the 10,000-rule sets) and some that miss.
func benchRequests() []*http.Request {
	targets := []string{
		"/static/css/app.css", // hit: subtree
		"/health",             // hit: method pattern
		"/area0/page0",        // hit: exact
		"/users/42/item1",     // hit: wildcard
		"/docs2/intro",        // hit: subtree
		"/",                   // hit: {$}
		"/admin/users",        // miss
		"/account/settings",   // miss
	}
	reqs := make([]*http.Request, len(targets))
	for i, t := range targets {
		reqs[i] = httptest.NewRequest(http.MethodGet, t, nil)
		reqs[i].Host = "bulwark.test"
	}
	return reqs
}

// BenchmarkServeMuxHandler is the yardstick: the ServeMux lookup alone, on
// the same 10 rules plus a catch-all (as the application's mux has, and as
// Judge's mux has).
func BenchmarkServeMuxHandler(b *testing.B) {
	mux := http.NewServeMux()
	for _, p := range benchPatterns(10) {
		mux.Handle(p, http.NotFoundHandler())
	}
	mux.Handle("/", http.NotFoundHandler())
	reqs := benchRequests()
	b.ReportAllocs()
	var sink http.Handler
	for i := 0; b.Loop(); i++ {
		sink, _ = mux.Handler(reqs[i%len(reqs)])
	}
	_ = sink
}

func benchJudge(b *testing.B, n int) {
	set := MustCompile(benchPatterns(n)...)
	reqs := benchRequests()
	want := []Verdict{Match, Match, Match, Match, Match, Match, NoMatch, NoMatch}
	for i, r := range reqs {
		if got := set.Judge(r); got.Verdict != want[i] {
			b.Fatalf("%s: %+v, want %v", r.URL.Path, got, want[i])
		}
	}
	b.ReportAllocs()
	var sink Result
	for i := 0; b.Loop(); i++ {
		sink = set.Judge(reqs[i%len(reqs)])
	}
	_ = sink
}

// BenchmarkJudge10 judges clean requests against 10 rules.
func BenchmarkJudge10(b *testing.B) { benchJudge(b, 10) }

// BenchmarkJudge10000 judges the same requests against 10,000 rules.
func BenchmarkJudge10000(b *testing.B) { benchJudge(b, 10000) }

// BenchmarkJudgeReadings judges requests whose characters make other
// readings worth a lookup (upper case, trailing slash, "%", ";", "\"):
// the uncommon, slower path.
func BenchmarkJudgeReadings(b *testing.B) {
	set := MustCompile(benchPatterns(10)...)
	var reqs []*http.Request
	for _, t := range []string{"/Static/App.css", "/admin/", "/static/a%2520b", "/login;x", `/static/..\x`} {
		r := httptest.NewRequest(http.MethodGet, t, nil)
		reqs = append(reqs, r)
	}
	b.ReportAllocs()
	var sink Result
	for i := 0; b.Loop(); i++ {
		sink = set.Judge(reqs[i%len(reqs)])
	}
	_ = sink
}

// BenchmarkWithPathValues judges a request that matches a wildcard rule
// and gives it the route's values, as loginrequired does for a Func
// authorizer on "/users/{id}/…": the Judge, plus a request copy served
// through the marker mux.
func BenchmarkWithPathValues(b *testing.B) {
	set := MustCompile(benchPatterns(10)...)
	r := httptest.NewRequest(http.MethodGet, "/users/42/item1", nil)
	if got := set.WithPathValues(r, set.Judge(r)).PathValue("id"); got != "42" {
		b.Fatalf("id = %q", got)
	}
	b.ReportAllocs()
	var sink *http.Request
	for b.Loop() {
		sink = set.WithPathValues(r, set.Judge(r))
	}
	_ = sink
}
