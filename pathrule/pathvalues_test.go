package pathrule

import (
	"net/http"
	"testing"
)

// TestWithPathValues: a Match of a pattern with wildcards gives a copy of
// the request with the values and the pattern ServeMux gives the handler;
// anything else gives the request itself, and the original is never
// changed.
func TestWithPathValues(t *testing.T) {
	set, err := Compile(Config{
		Patterns: []string{"/tasks/{id}", "GET /files/{rest...}", "/p/{pid}/{$}", "/plain/", "/{$}"},
		Regexps:  []string{`legacy/\d+$`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, pattern, name, value string
		copied                       bool
	}{
		{"/tasks/42", "/tasks/{id}", "id", "42", true},
		{"/tasks/%E2%82%AC", "/tasks/{id}", "id", "€", true},
		{"/files/a/b.txt", "GET /files/{rest...}", "rest", "a/b.txt", true},
		{"/files/", "GET /files/{rest...}", "rest", "", true},
		{"/p/7/", "/p/{pid}/{$}", "pid", "7", true},
		{"/plain/x", "", "", "", false},    // no wildcards
		{"/", "", "", "", false},           // {$} alone gives no values
		{"/legacy/12", "", "", "", false},  // a regexp rule
		{"/other", "", "", "", false},      // NoMatch
		{"/tasks/../x", "", "", "", false}, // Reject
	} {
		r := newReq(http.MethodGet, c.target, "")
		res := set.Judge(r)
		got := set.WithPathValues(r, res)
		if (got != r) != c.copied {
			t.Errorf("%s (%v): copied %v, want %v", c.target, res.Verdict, got != r, c.copied)
		}
		if got.Pattern != c.pattern || (c.name != "" && got.PathValue(c.name) != c.value) {
			t.Errorf("%s: Pattern %q, %s=%q; want %q, %q", c.target, got.Pattern, c.name, got.PathValue(c.name), c.pattern, c.value)
		}
		if r.Pattern != "" || (c.name != "" && r.PathValue(c.name) != "") {
			t.Errorf("%s: the original request was changed", c.target)
		}
	}
	r := newReq(http.MethodGet, "/plain/x", "")
	res := set.Judge(r)
	if n := testing.AllocsPerRun(100, func() { set.WithPathValues(r, res) }); n != 0 {
		t.Errorf("WithPathValues without wildcards allocates %v times", n)
	}
	// A hand-made Result (no Judge) is never taken for a wildcard match.
	if got := set.WithPathValues(r, Result{Verdict: Match, Pattern: "/tasks/{id}"}); got != r {
		t.Error("a Result not from Judge gave a copy")
	}
}
