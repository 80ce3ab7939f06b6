package pathrule

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// newReq builds a server-side request from a raw request-target, as the
// server would parse it. host may be empty for "bulwark.test".
func newReq(method, target, host string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = "bulwark.test"
	if host != "" {
		r.Host = host
	}
	return r
}

type judgeCase struct {
	method, target, host string
	want                 Verdict
	pattern              string // for Match, and for Reject when set
	reason               string // for Reject
}

func checkJudge(t *testing.T, set *Set, cases []judgeCase) {
	t.Helper()
	for _, c := range cases {
		method := c.method
		if method == "" {
			method = http.MethodGet
		}
		r := newReq(method, c.target, c.host)
		got := set.Judge(r)
		name := method + " " + c.host + c.target
		if got.Verdict != c.want {
			t.Errorf("%s: verdict %v (%q %q), want %v", name, got.Verdict, got.Pattern, got.Reason, c.want)
			continue
		}
		if c.want == Match && got.Pattern != c.pattern {
			t.Errorf("%s: pattern %q, want %q", name, got.Pattern, c.pattern)
		}
		if c.want == Reject && got.Reason != c.reason {
			t.Errorf("%s: reason %q, want %q", name, got.Reason, c.reason)
		}
		if c.want == Reject && c.pattern != "" && got.Pattern != c.pattern {
			t.Errorf("%s: reject pattern %q, want %q", name, got.Pattern, c.pattern)
		}
		if c.want != Reject && got.Reason != "" {
			t.Errorf("%s: reason %q on a %v", name, got.Reason, got.Verdict)
		}
		if set.Allows(r) != (c.want == Match) || set.Denies(r) != (c.want != NoMatch) {
			t.Errorf("%s: Allows %v Denies %v disagree with %v", name, set.Allows(r), set.Denies(r), c.want)
		}
	}
}

func TestJudgePatterns(t *testing.T) {
	set := MustCompile(
		"/{$}",
		"GET /health",
		"/static/",
		"/users/{id}/avatar",
		"/files/{path...}",
		"/docs/{$}",
		"example.com/only-here",
		"api.example.com/",
		"POST /hooks/{name}",
	)
	checkJudge(t, set, []judgeCase{
		{target: "/", want: Match, pattern: "/{$}"},
		{target: "/x", want: NoMatch},
		{target: "/health", want: Match, pattern: "GET /health"},
		{method: "HEAD", target: "/health", want: Match, pattern: "GET /health"},
		{method: "POST", target: "/health", want: NoMatch},
		{target: "/users/42/avatar", want: Match, pattern: "/users/{id}/avatar"},
		{target: "/users/42/avatar/", want: Reject, reason: ReasonTrailingSlash, pattern: "/users/{id}/avatar"},
		{target: "/users/42/other", want: NoMatch},
		{target: "/users/%34%32/avatar", want: Match, pattern: "/users/{id}/avatar"},
		{target: "/users/a%2fb/avatar", want: Reject, reason: ReasonEncodedSlash, pattern: "/users/{id}/avatar"},
		{target: "/files/a/b/c.txt", want: Match, pattern: "/files/{path...}"},
		{target: "/files", want: Reject, reason: ReasonRedirect},
		{target: "/docs/", want: Match, pattern: "/docs/{$}"},
		{target: "/docs/x", want: NoMatch},
		{target: "/docs", want: Reject, reason: ReasonRedirect},
		{target: "/only-here", want: NoMatch},
		{target: "/only-here", host: "example.com", want: Match, pattern: "example.com/only-here"},
		{target: "/only-here", host: "example.com:8443", want: Match, pattern: "example.com/only-here"},
		{target: "/only-here", host: "EXAMPLE.com", want: Reject, reason: ReasonCaseFold},
		{target: "/anything", host: "api.example.com", want: Match, pattern: "api.example.com/"},
		{target: "/anything", host: "www.example.com", want: NoMatch},
		{method: "POST", target: "/hooks/build", want: Match, pattern: "POST /hooks/{name}"},
		{method: "GET", target: "/hooks/build", want: NoMatch},
		{method: "post", target: "/hooks/build", want: Reject, reason: ReasonCaseFold},
		{target: "/static/a/../b", want: Reject, reason: ReasonDotSegment},
		{target: "/static/%2e%2e/x", want: Reject, reason: ReasonDotSegment},
		{target: "/static//x", want: Reject, reason: ReasonDoubleSlash},
		{target: "/%2f/x", want: Reject, reason: ReasonEncodedSlash},
		{target: "/static/x%7f", want: Reject, reason: ReasonControlChar},
		{target: "/static/%252e%252e/x", want: Reject, reason: ReasonDoubleEncoding},
		{target: "/static/%25" + strings.Repeat("25", maxDecodes+1) + "2e", want: Reject, reason: ReasonDoubleEncoding},
		{target: "/static/..%5cx", want: Reject, reason: ReasonBackslash},
		{target: "/static/..;/x", want: Reject, reason: ReasonPathParam},
		{target: "/static/%c0%ae%c0%ae/x", want: Reject, reason: ReasonOverlongUTF8},
		{target: "/static/%ef%bc%8e%ef%bc%8e/x", want: Reject, reason: ReasonNFKC},
		{target: "/static/..%20/x", want: Reject, reason: ReasonTrailingDotSpace},
		{target: "/health/", want: Reject, reason: ReasonTrailingSlash, pattern: "GET /health"},
		{target: "/static/x%3f/y", want: Match, pattern: "/static/"},
		{target: "/x%3f/../static/y", want: Reject, reason: ReasonDotSegment},
		{target: "/x%253f/../static/y", want: Reject, reason: ReasonDotSegment},
		{target: "/static/%252e%252e%252f%252fx", want: Reject, reason: ReasonDoubleEncoding},
	})
}

func TestJudgeRFC3986Dots(t *testing.T) {
	// A rule that matches the double-slash form: only RFC 3986 dot
	// removal, which keeps "//", tells it apart from path.Clean.
	set := MustCompile("/a/{x}/{y}/", "/b/")
	checkJudge(t, set, []judgeCase{
		// decoded twice: /b/x/..//c → path.Clean /b/c (public) and
		// remove_dot_segments /b//c (not clean: no rule).
		{target: "/b/x/%252e%252e%252f%252fc", want: Reject, reason: ReasonRFC3986Dots},
	})
}

func TestJudgeRootRule(t *testing.T) {
	all := MustCompile("/")
	checkJudge(t, all, []judgeCase{
		{target: "/", want: Match, pattern: "/"},
		{target: "/anything/at/all", want: Match, pattern: "/"},
		{method: "DELETE", target: "/x", want: Match, pattern: "/"},
		{target: "/ADMIN", want: Match, pattern: "/"},
		{target: "/a/../b", want: Reject, reason: ReasonDotSegment},
		{target: "/a%00", want: Reject, reason: ReasonControlChar},
	})
	rest := MustCompile("/{rest...}", "GET /")
	checkJudge(t, rest, []judgeCase{
		{method: "POST", target: "/x", want: Match, pattern: "/{rest...}"},
		{target: "/x", want: Match, pattern: "GET /"},
	})
	none := MustCompile()
	checkJudge(t, none, []judgeCase{
		{target: "/", want: NoMatch},
		{target: "/Static/", want: NoMatch},
	})
}

func TestJudgeMixedCasePatterns(t *testing.T) {
	set := MustCompile("/Admin", "/Admin/sub/", "/admin/{id}/edit", "/%41pi/x", "/a/{x}/C", "/{y}/b/c")
	checkJudge(t, set, []judgeCase{
		{target: "/Admin", want: Match, pattern: "/Admin"},
		{target: "/admin", want: Reject, reason: ReasonCaseFold, pattern: "/Admin"},
		{target: "/Admin/sub/x", want: Match, pattern: "/Admin/sub/"},
		{target: "/admin/sub/x", want: Reject, reason: ReasonCaseFold, pattern: "/Admin/sub/"},
		{target: "/admin/1/edit", want: Match, pattern: "/admin/{id}/edit"},
		{target: "/ADMIN/1/edit", want: Reject, reason: ReasonCaseFold},
		{target: "/Api/x", want: Match, pattern: "/%41pi/x"},
		{target: "/api/x", want: Reject, reason: ReasonCaseFold},
		{target: "/a/b/C", want: Match, pattern: "/a/{x}/C"},
		{target: "/z/b/c", want: Match, pattern: "/{y}/b/c"},
		{target: "/other", want: NoMatch},
	})
}

func TestJudgeRegexps(t *testing.T) {
	set, err := Compile(Config{
		Patterns: []string{"/static/"},
		Regexps:  []string{`login/$`, `accounts/(reset|verify)/[0-9a-f]+$`, `Help`},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkJudge(t, set, []judgeCase{
		{target: "/login/", want: Match, pattern: `login/$`},
		{target: "/login", want: NoMatch},
		{target: "/xlogin/", want: NoMatch}, // re.match: anchored at the start
		{target: "/accounts/reset/abc123", want: Match, pattern: `accounts/(reset|verify)/[0-9a-f]+$`},
		{target: "/accounts/reset/abc123/x", want: NoMatch},
		{target: "/Help/me", want: Match, pattern: `Help`},
		{target: "/help/me", want: Reject, reason: ReasonCaseFold, pattern: `Help`},
		{target: "/LOGIN/", want: Reject, reason: ReasonCaseFold},
		{target: "/login%2f", want: Match, pattern: `login/$`},
		{target: "/login;x/", want: Reject, reason: ReasonPathParam},
		{target: "/static/x", want: Match, pattern: "/static/"},
		{target: "/static/..%2flogin/", want: Reject, reason: ReasonDotSegment},
	})
}

func TestDenyList(t *testing.T) {
	deny := MustCompile("/admin/", "/admin", "POST /api/delete")
	cases := []struct {
		method, target string
		denied         bool
	}{
		{"GET", "/admin", true},
		{"GET", "/admin/users", true},
		{"GET", "/ADMIN/users", true},          // case-fold reaches /admin/
		{"GET", "/Admin", true},                // case-fold
		{"GET", "/admin;x", true},              // path parameter stripped
		{"GET", "/%61dmin", true},              // decodes to /admin
		{"GET", "/x/..%2fadmin", true},         // not clean
		{"GET", "/x%2fadmin", false},           // /x/admin: no reading reaches /admin
		{"GET", "/%2561dmin", true},            // decoded twice
		{"GET", "/admin%00", true},             // control character
		{"GET", "/adm%c4%b1n", false},          // dotless i: not NFKC i
		{"GET", "/%ef%bd%81dmin", true},        // fullwidth a
		{"GET", "/public", false},              // nothing
		{"POST", "/api/delete", true},          // method rule
		{"post", "/api/delete", true},          // method case-fold
		{"GET", "/api/delete", false},          // other method
		{"POST", "/api/delete/", true},         // trailing slash tolerant
		{"GET", "/adminx", false},              // not below /admin/
		{"GET", "/admin.", true},               // trailing dot trimmed
		{"GET", "/static/x/../../admin", true}, // not clean
	}
	for _, c := range cases {
		r := newReq(c.method, c.target, "")
		if got := deny.Denies(r); got != c.denied {
			res := deny.Judge(r)
			t.Errorf("%s %s: Denies %v, want %v (%v %q %q)", c.method, c.target, got, c.denied, res.Verdict, res.Pattern, res.Reason)
		}
	}
}

func TestResultZeroValueFailsClosed(t *testing.T) {
	var res Result
	if res.Allowed() || !res.Denied() {
		t.Fatalf("zero Result: Allowed %v Denied %v; want false, true", res.Allowed(), res.Denied())
	}
	for v, want := range map[Verdict]string{Reject: "reject", NoMatch: "no-match", Match: "match", 9: "Verdict(9)"} {
		if v.String() != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", v, v.String(), want)
		}
	}
	set := MustCompile("/")
	if got := set.Judge(nil); got.Verdict != Reject || got.Reason != ReasonBadRequest {
		t.Errorf("Judge(nil) = %+v", got)
	}
	if got := set.Judge(&http.Request{Method: "GET"}); got.Verdict != Reject || got.Reason != ReasonBadRequest {
		t.Errorf("Judge(no URL) = %+v", got)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string // substrings of the error
	}{
		{Config{Patterns: []string{"/a", "/b", "/a"}}, []string{`Patterns[2] "/a"`, "listed twice", "Patterns[0]"}},
		{Config{Patterns: []string{""}}, []string{`Patterns[0] ""`, "invalid pattern"}},
		{Config{Patterns: []string{"GET/x"}}, []string{`Patterns[0] "GET/x"`, "looks like a method", `write "GET /x"`}},
		{Config{Patterns: []string{"static"}}, []string{`"static"`, `no "/"`, `write "/static"`}},
		{Config{Patterns: []string{"GET"}}, []string{`"GET"`, "missing /"}},
		{Config{Patterns: []string{"/a/{x}", "/a/{y}"}}, []string{`Patterns[1] "/a/{y}"`, "conflicts with", `"/a/{x}"`}},
		{Config{Patterns: []string{"/{x}/b", "/a/{y}"}}, []string{`Patterns[1]`, "conflicts"}},
		{Config{Patterns: []string{"/a/{x"}}, []string{`Patterns[0] "/a/{x"`}},
		{Config{Patterns: []string{"/a/{$}/b"}}, []string{`{$} not at end`}},
		{Config{Patterns: []string{"/a/../b"}}, []string{`"/a/../b"`, "not clean", `write "/b"`}},
		{Config{Patterns: []string{"GET /a//b"}}, []string{`not clean`, `write "GET /a/b"`}},
		{Config{Patterns: []string{"BAD METHOD /x"}}, []string{`Patterns[0]`, `host "METHOD "`}},
		{Config{Regexps: []string{`login/(`}}, []string{`Regexps[0] "login/("`, "missing closing )"}},
		{Config{Regexps: []string{`login/\Z`}}, []string{`Regexps[0]`, `write \z instead of \Z`}},
		{Config{Regexps: []string{`(?!admin)`}}, []string{`Regexps[0]`, "no look-around"}},
	}
	for _, c := range cases {
		_, err := Compile(c.cfg)
		if err == nil {
			t.Errorf("Compile(%+v): no error", c.cfg)
			continue
		}
		msg := err.Error()
		if !errors.As(err, new(*Error)) || strings.Contains(msg, "registered at") {
			t.Errorf("Compile(%+v): error %q", c.cfg, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("Compile(%+v): error %q does not say %q", c.cfg, msg, w)
			}
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustCompile with a bad pattern did not panic")
			}
		}()
		MustCompile("nope")
	}()
}

func TestCheckClean(t *testing.T) {
	cases := []struct {
		target, clean, reason string
	}{
		{"/a/b", "/a/b", ""},
		{"/a/b/", "/a/b/", ""},
		{"/a%20b", "/a%20b", ""},
		{"/a/./b", "/a/b", ReasonDotSegment},
		{"/a/../b", "/b", ReasonDotSegment},
		{"/..", "/", ReasonDotSegment},
		{"/a/..", "/", ReasonDotSegment},
		{"/a/.", "/a", ReasonDotSegment},
		{"//evil.example", "/evil.example", ReasonDoubleSlash},
		{"//evil.example/", "/evil.example/", ReasonDoubleSlash},
		{"/a//", "/a/", ReasonDoubleSlash},
		{"/%2e%2e/a", "/a", ReasonDotSegment},
		{"/a/..%2f..%2fb", "/b", ReasonDotSegment},
		{"/%2f%2fevil.example", "/evil.example", ReasonEncodedSlash},
		{"/%2f%5cevil.example", "/%5Cevil.example", ReasonEncodedSlash},
		{"/%5c%2f/../x", "/x", ReasonDotSegment},
		{"/a/../%2e%2e/b", "/%2e%2e/b", ReasonDotSegment}, // cleaned as written first
		{"/a%00", "", ReasonControlChar},
		{"/a%0d%0aSet-Cookie:x", "", ReasonControlChar},
		{"/a%7f", "", ReasonControlChar},
		{"/%2e%2e%2fa%00", "", ReasonControlChar},
		{"/a\\..\\b", "/a%5C..%5Cb", ""},
	}
	for _, c := range cases {
		r := newReq("GET", c.target, "")
		clean, reason, ok := checkClean(r)
		if clean != c.clean || reason != c.reason || ok != (c.reason == "") {
			t.Errorf("checkClean(%q) = %q, %q, %v; want %q, %q", c.target, clean, reason, ok, c.clean, c.reason)
		}
	}
	abs := newReq("GET", "http://bulwark.test", "")
	if clean, reason, ok := checkClean(abs); clean != "/" || reason != ReasonEmptyPath || ok {
		t.Errorf("checkClean(absolute, no path) = %q, %q, %v", clean, reason, ok)
	}
	rel := &http.Request{Method: "GET", URL: &url.URL{Path: "a/b"}}
	if clean, reason, ok := checkClean(rel); clean != "" || reason != ReasonRelativePath || ok {
		t.Errorf("checkClean(relative) = %q, %q, %v", clean, reason, ok)
	}
	if _, reason, ok := checkClean(nil); reason != ReasonBadRequest || ok {
		t.Errorf("checkClean(nil) = %q, %v", reason, ok)
	}
	// A synthetic request whose decoded path starts with "/\".
	bs := &http.Request{Method: "GET", URL: &url.URL{Path: `/\evil.example/../x`}}
	if clean, _, _ := checkClean(bs); clean != "" && !sameSite(clean) {
		t.Errorf("checkClean(/\\evil) = %q: leaves the site", clean)
	}
}

func TestGuardHandler(t *testing.T) {
	var reasons []string
	g := &Guard{OnReject: func(r *http.Request, err *RejectError) { reasons = append(reasons, err.Reason) }}
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	cases := []struct {
		method, target string
		code           int
		location       string
	}{
		{"GET", "/a/b?x=1", http.StatusNoContent, ""},
		{"GET", "/a/../b?x=1&y=%2F", http.StatusTemporaryRedirect, "/b?x=1&y=%2F"},
		{"HEAD", "//evil.example", http.StatusTemporaryRedirect, "/evil.example"},
		{"GET", "/%2f%2fevil.example?q", http.StatusTemporaryRedirect, "/evil.example?q"},
		{"GET", "/%2f%5cevil.example", http.StatusTemporaryRedirect, "/%5Cevil.example"},
		{"GET", "/static/../a%20b", http.StatusTemporaryRedirect, "/a%20b"}, // not /a%2520b (golang/go#79897)
		{"POST", "/a/../b", http.StatusBadRequest, ""},
		{"GET", "/a%00", http.StatusBadRequest, ""},
		{"GET", "/a%0a", http.StatusBadRequest, ""},
	}
	for _, c := range cases {
		reasons = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, newReq(c.method, c.target, ""))
		if w.Code != c.code || w.Header().Get("Location") != c.location {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, w.Code, w.Header().Get("Location"), c.code, c.location)
		}
		if wantEvent := c.code != http.StatusNoContent; (len(reasons) == 1) != wantEvent {
			t.Errorf("%s %s: onReject called with %v", c.method, c.target, reasons)
		}
		if w.Code == http.StatusBadRequest && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%s %s: 400 with Content-Type %q", c.method, c.target, w.Header().Get("Content-Type"))
		}
	}
	// The zero Guard is ready to use.
	w := httptest.NewRecorder()
	new(Guard).Handler(http.NotFoundHandler()).ServeHTTP(w, newReq("GET", "/a/./b", ""))
	if w.Code != http.StatusTemporaryRedirect {
		t.Errorf("zero Guard: %d", w.Code)
	}
}

// TestGuardCheck: Check is checkClean as an error: nil for a clean path
// (without allocating), else a *RejectError with the reason and the clean
// path; it never calls OnReject.
func TestGuardCheck(t *testing.T) {
	g := &Guard{OnReject: func(*http.Request, *RejectError) { t.Error("Check called OnReject") }}
	clean := newReq("GET", "/a/b", "")
	if err := g.Check(clean); err != nil {
		t.Errorf("Check(/a/b) = %v", err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = g.Check(clean) }); n != 0 {
		t.Errorf("Check of a clean path allocates %v times", n)
	}
	for _, c := range []struct{ target, reason, clean string }{
		{"/a/../b", ReasonDotSegment, "/b"},
		{"/a%00", ReasonControlChar, ""},
	} {
		err := g.Check(newReq("GET", c.target, ""))
		var re *RejectError
		if !errors.As(err, &re) || re.Reason != c.reason || re.CleanPath != c.clean {
			t.Errorf("Check(%s) = %#v, want reason %q, clean path %q", c.target, err, c.reason, c.clean)
			continue
		}
		if want := "pathrule: path not clean: " + c.reason; err.Error() != want {
			t.Errorf("Check(%s): %q, want %q", c.target, err.Error(), want)
		}
	}
	if err := new(Guard).Check(nil); err == nil || err.(*RejectError).Reason != ReasonBadRequest {
		t.Errorf("Check(nil) = %v", err)
	}
}

// TestUncleanReasonMatchesCleanPath checks the byte scan against ServeMux's
// own definition of a clean path.
func TestUncleanReasonMatchesCleanPath(t *testing.T) {
	parts := []string{"", "/", "//", ".", "..", "a", ".a", "a.", "...", "%2e"}
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		p := "/" + prefix
		if (uncleanReason(p) == "") != (cleanPath(p) == p) {
			t.Errorf("uncleanReason(%q) = %q, cleanPath = %q", p, uncleanReason(p), cleanPath(p))
		}
		u := &url.URL{Path: p}
		if esc, _, reason := scan(u); esc != u.EscapedPath() || (reason == "") != (cleanPath(p) == p) {
			t.Errorf("scan(%q) = %q, %q; EscapedPath %q, cleanPath %q", p, esc, reason, u.EscapedPath(), cleanPath(p))
		}
		if depth == 0 {
			return
		}
		for _, part := range parts {
			gen(prefix+part, depth-1)
		}
	}
	gen("", 4)
}

// stringCases maps inputs to the outputs a string function must give.
type stringCases map[string]string

func checkStrings(t *testing.T, name string, fn func(string) string, cases stringCases) {
	t.Helper()
	for in, want := range cases {
		if got := fn(in); got != want {
			t.Errorf("%s(%q) = %q, want %q", name, in, got, want)
		}
	}
}

func TestReadingHelpers(t *testing.T) {
	checkStrings(t, "removeDotSegments", removeDotSegments, stringCases{
		"/a/b/c/./../../g": "/a/g",
		"/a/b/..//c":       "/a//c",
		"/../a":            "/a",
		"/a/..":            "/",
		"/a/.":             "/a/",
		"a/../b":           "/b",
	})
	checkStrings(t, "overlong", overlong, stringCases{
		"/\xc0\xae\xc0\xae/":        "/../",
		"/\xe0\x80\xaf":             "//",
		"/\xf0\x80\x80\xae":         "/.",
		"/\xf8\x80\x80\x80\xae":     "/.",
		"/\xfc\x80\x80\x80\x80\xae": "/.",
		"/\xc1\x9c":                 `/\`,
		"/\xc3\xa9":                 "/\xc3\xa9", // é, not overlong
		"/\xc0":                     "/\xc0",     // truncated
		"/\xc0\x41":                 "/\xc0\x41", // not a continuation byte
		"/\xe0\x82\xa9":             "/\xc2\xa9", // overlong ©
	})
	checkStrings(t, "nfkc", nfkc, stringCases{
		"/ａｄｍｉｎ":    "/admin",
		"/．．／x":     "/../x",
		"/a\ufe68b": `/a\b`,
		"/\u2025/x": "/../x",
		"/\u2100":   "/a/c",
		"/𝐚𝐝𝐦𝐢𝐧":    "/admin",
		"/ⓐ":        "/a",
		"/ſtatic":   "/static",
		"/café":     "/café",
		"/\xff\xfe": "/\xff\xfe",
	})
	checkStrings(t, "stripParams", stripParams, stringCases{
		"/a;x/b;y=1/c": "/a/b/c",
		"/..;/a":       "/../a",
		"/a;":          "/a",
		"/a":           "/a",
	})
	checkStrings(t, "trimDotSpace", trimDotSpace, stringCases{
		"/a./b ":  "/a/b",
		"/.. /x":  "/../x",
		"/... /x": "/../x",
		"/. /x":   "/./x",
		"/ /x":    "//x",
	})
	checkStrings(t, "lower", lower, stringCases{
		"/ADMIN":       "/admin",
		"/admin":       "/admin",
		"/\u212Aelvin": "/kelvin",
		"/A\xff":       "/a\xff",
	})
	if got, ok := decodeAll("%25" + strings.Repeat("25", maxDecodes+2) + "41"); ok {
		t.Errorf("decodeAll of deep nesting = %q, ok", got)
	}
	if got, ok := decodeAll("/%2541%zz"); got != "/A%zz" || !ok {
		t.Errorf("decodeAll(/%%2541%%zz) = %q, %v", got, ok)
	}
}

// TestJudgeConcurrent shares one Set between goroutines (run with -race):
// the readings reuse pooled scratch requests.
func TestJudgeConcurrent(t *testing.T) {
	set := MustCompile("/{$}", "/login", "/static/", "GET /health", "/Mixed/")
	cases := []judgeCase{
		{target: "/static/x", want: Match, pattern: "/static/"},
		{target: "/Static/x", want: Reject, reason: ReasonCaseFold},
		{target: "/static/%252e%252e/x", want: Reject, reason: ReasonDoubleEncoding},
		{target: "/login/", want: Reject, reason: ReasonTrailingSlash},
		{target: "/admin", want: NoMatch},
	}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				checkJudge(t, set, cases)
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestPagePattern(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"", "", false},
		{"/login", "/login", false},
		{"/login?lang=en", "/login", false},
		{"/accounts/login/", "/accounts/login/{$}", false},
		{"/a%20b", "/a%20b", false},
		{"https://sso.example/login", "", false},
		{"//sso.example/login", "", false},
		{"login", "", true},
		{"/%zz", "", true},
	} {
		got, err := PagePattern(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("PagePattern(%q) = %q, %v", tc.in, got, err)
		}
		if got != "" {
			if _, err := Compile(Config{Patterns: []string{got}}); err != nil {
				t.Errorf("PagePattern(%q) = %q does not compile: %v", tc.in, got, err)
			}
		}
	}
}

func TestWithPages(t *testing.T) {
	got, err := WithPages([]string{"/static/", "/login"},
		Page{"LoginURL", "/login"}, Page{"LogoutURL", "/logout"}, Page{"CallbackURL", ""},
		Page{"SSO", "https://sso.example/login"}, Page{"ChangeURL", "/password/change/"})
	want := []string{"/static/", "/login", "/logout", "/password/change/{$}"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("WithPages = %q, %v; want %q", got, err, want)
	}
	if _, err := WithPages(nil, Page{"ChallengeURL", "mfa"}); err == nil || !strings.HasPrefix(err.Error(), `ChallengeURL "mfa"`) {
		t.Errorf("a relative page: %v, want an error naming the field", err)
	}
}
