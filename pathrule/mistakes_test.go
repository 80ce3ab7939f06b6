package pathrule

import (
	"errors"
	"strings"
	"testing"
)

// patternMistakes are rules that net/http.ServeMux accepts but that no user
// means: each would match nothing, or something else than it says. Compile
// refuses them, and says what to write.
var patternMistakes = []struct {
	pattern string
	regexp  bool
	want    []string // substrings of the error
	fix     string   // Error.Fix
}{
	// A first segment without "/" before it is read as a host.
	{pattern: "static/", want: []string{"host", `"static"`}, fix: "/static/"},
	{pattern: "api/", want: []string{"host"}, fix: "/api/"},
	{pattern: "static/css/", want: []string{"host"}, fix: "/static/css/"},
	{pattern: "GET api/v1/{id}", want: []string{"host"}, fix: "GET /api/v1/{id}"},
	{pattern: "admin/{$}", want: []string{"host"}, fix: "/admin/{$}"},
	{pattern: "static", want: []string{"no \"/\""}, fix: "/static"},
	// ServeMux strips the port from the request's host before matching.
	{pattern: "localhost:8080/", want: []string{"port"}, fix: "localhost/"},
	{pattern: "example.com:443/api/", want: []string{"port"}, fix: "example.com/api/"},
	// No wildcards in hosts; hosts arrive in lower case.
	{pattern: "*.example.com/", want: []string{"host", "wildcard"}},
	{pattern: "Example.COM/", want: []string{"lower case"}, fix: "example.com/"},
	// A URL is not a pattern.
	{pattern: "https://example.com/docs/", want: []string{"URL"}, fix: "example.com/docs/"},
	{pattern: "http://localhost:8080/x", want: []string{"URL"}, fix: "localhost/x"},
	{pattern: "/static/*", want: []string{`"*"`, "a trailing slash matches everything below it"}, fix: "/static/"},
	{pattern: "/static/**", want: []string{`"**"`}, fix: "/static/"},
	{pattern: "GET /api/*", want: []string{`"*"`}, fix: "GET /api/"},
	{pattern: "/users/*/avatar", want: []string{`"*"`, "wildcard"}, fix: "/users/{id}/avatar"},
	{pattern: "/static/*.css", want: []string{`"*"`, "glob"}},
	{pattern: "/a*b/{x...}", want: []string{`"*"`, "glob"}},
	// Methods are case-sensitive: "get" is not GET.
	{pattern: "get /health", want: []string{"method", "upper case"}, fix: "GET /health"},
	{pattern: "Post /login", want: []string{"method"}, fix: "POST /login"},
	// The query and the fragment are never part of the path.
	{pattern: "/search?q=go", want: []string{"query"}, fix: "/search"},
	{pattern: "/docs#intro", want: []string{"fragment"}, fix: "/docs"},
	// Django-style expressions are matched without the leading "/".
	{pattern: "^/static/", regexp: true, want: []string{`leading "/"`}, fix: "^static/"},
	{pattern: "/api/", regexp: true, want: []string{`leading "/"`}, fix: "api/"},
}

// TestPatternMistakes: every mistake of patternMistakes is a construction
// error that names the field and index, the rule, and what to write.
func TestPatternMistakes(t *testing.T) {
	for _, c := range patternMistakes {
		cfg := Config{Patterns: []string{"/ok/", c.pattern}}
		field := `Patterns[1] `
		if c.regexp {
			cfg = Config{Regexps: []string{"ok/", c.pattern}}
			field = `Regexps[1] `
		}
		_, err := Compile(cfg)
		if err == nil {
			t.Errorf("%q: compiled; want an error", c.pattern)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Index != 1 || e.Pattern != c.pattern || e.Fix != c.fix {
			t.Errorf("%q: error %#v, want an *Error at index 1 with Fix %q", c.pattern, err, c.fix)
		}
		msg := err.Error()
		want := append([]string{field + quote(c.pattern)}, c.want...)
		if c.fix != "" {
			want = append(want, "write "+quote(c.fix))
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: error %q does not say %q", c.pattern, msg, w)
			}
		}
	}
}

// TestPatternsNotMistaken: what looks like the mistakes above but is meant.
func TestPatternsNotMistaken(t *testing.T) {
	for _, p := range []string{
		"example.com/", "localhost/", "127.0.0.1/", "[::1]/", "::1/", "site1.example.com/docs/",
		"GET example.com/x", "/static", "/{$}", "/files/{rest...}", "/a/{x}/b", "GET /health",
		"POST /hooks/{name}", "PURGE /cache/", "/%2A", "/a/{x...}",
	} {
		if _, err := Compile(Config{Patterns: []string{p}}); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	if _, err := Compile(Config{Regexps: []string{"^static/", "api/", `\d+/edit$`}}); err != nil {
		t.Error(err)
	}
}

// TestErrorField: Config.Field names the caller's fields in errors, for
// patterns and for regular expressions.
func TestErrorField(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Field: "Exempt", Patterns: []string{"/a/", "static/"}}, `Exempt[1] "static/": "static" is read as a host`},
		{Config{Field: "Exempt", Patterns: []string{"/a/", "/a/"}}, `Exempt[1] "/a/": listed twice (also Exempt[0]); remove one`},
		{Config{Field: "Exempt", Regexps: []string{"^/static/"}}, `ExemptRegexps[0] "^/static/": `},
		{Config{Field: "Exempt", Regexps: []string{"(("}}, `ExemptRegexps[0] "((": error parsing regexp`},
		{Config{Patterns: []string{"/a", "/b/*"}}, `Patterns[1] "/b/*": "*" is a literal character`},
	}
	for _, c := range cases {
		_, err := Compile(c.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want %q…", c.cfg, err, c.want)
		}
	}
	e := &Error{Field: "LoginURL", Index: -1, Pattern: "x", Err: errors.New("bad")}
	if got, want := e.Error(), `LoginURL "x": bad`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, e.Err) {
		t.Error("Unwrap does not give Err")
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
