package pathrule

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// The tests in this file pin the boundaries of the readings: each byte
// class, code-point range and reading that decides a verdict is tried at
// both of its ends, so that a reading that drifts by one is caught.
//
// Mutation testing (gremlins unleash ./pathrule) leaves these
// mutants alive because no input can tell them from the code as written;
// positions are file:line:column at the commit that added this comment.
//
//   - judge.go:37:27 and judge.go:119:20 CONDITIONALS_BOUNDARY,
//     len(s.regexps) > 0 → >= 0: matchRegexp over no regexps returns "",
//     false, as skipping it does.
//   - judge.go:186:55, judge.go:188:40, judge.go:192:37
//     CONDITIONALS_BOUNDARY, IndexByte(…) >= 0 → > 0: the byte looked for
//     (`\`, ";", NUL) can never be the first byte of a path, which is "/".
//   - pathrule.go:240:8 and pathrule.go:244:8 CONDITIONALS_BOUNDARY in
//     dropRegisteredAt, i < 0 → i <= 0 and j < 0 → j <= 0: ServeMux's
//     message never starts with " (registered at ", and the ")" that ends
//     the note is never its first byte.
//   - readings.go:87:40 CONDITIONALS_BOUNDARY in stripParams, j >= 0 →
//     j > 0: p starts with ";" there, so "/" is never at index 0.
//   - readings.go:232:8 CONDITIONALS_BOUNDARY in nfkc, r >= 0x80 → r >
//     0x80: U+0080 has no ASCII form, so nfkcASCII would answer false.
//   - readings.go:232:23 and readings.go:232:49 CONDITIONALS_NEGATION in
//     nfkc (r == utf8.RuneError, size == 1): a rune ≥ 0x80 is never one
//     byte unless it is RuneError, so either mutant only changes whether
//     nfkcASCII is asked about U+FFFD, which has no ASCII form.
//   - readings.go:287:11 ARITHMETIC_BASE and INVERT_NEGATIVES in
//     nfkcASCII, (r - 0x1d400) % 52 → (r + 0x1d400) % 52: 0x1d400 is
//     2304 × 52, so both give the same k.
//   - readings.go:308:8 CONDITIONALS_BOUNDARY in lower, c >= utf8.RuneSelf
//     → c > utf8.RuneSelf: in valid UTF-8 the first byte ≥ 0x80 is a lead
//     byte, never 0x80, and for invalid UTF-8 both versions end in
//     asciiLower(p) (or p, which is then the same).
//
// Three more give the same answers and differ only in what they cost, so
// allocation counts pin them: clean.go:246:14 (len(dec) > 1 → >= 1 looks
// "/" up again without its slash: TestJudgeCleanDotCostsNoReading),
// clean.go:319:23 (len(np)+1 → len(np)-1 copies a clean path that ends in
// "/": TestCleanPathKeepsTrailingSlash) and readings.go:200:19 (cp >=
// minRune[n] → cp > minRune[n] rewrites a shortest form with the same
// bytes: TestReadingHelpersEdges).
//
// Mutants in the condition of a "case" of a tagless switch are reported
// NOT COVERED by gremlins whatever the tests do: Go's coverage blocks start
// after the case's colon. The tests below are written to kill them too; run
// a gremlins built to ignore coverage to check (see docs/performance.md).

// judgeRequest parses "METHOD TARGET HTTP/1.1" as the server does.
func judgeRequest(t *testing.T, method, target string) (*http.Request, error) {
	t.Helper()
	raw := method + " " + target + " HTTP/1.1\r\nHost: bulwark.test\r\n\r\n"
	return http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
}

// corpusReading maps the reading names of the corpus README to Reasons.
var corpusReading = map[string]string{
	"decode-clean":            ReasonEncodedSlash,
	"decode-repeat":           ReasonDoubleEncoding,
	"backslash-as-slash":      ReasonBackslash,
	"strip-path-params":       ReasonPathParam,
	"nul-truncate":            ReasonNUL,
	"case-fold":               ReasonCaseFold,
	"overlong-utf8":           ReasonOverlongUTF8,
	"cut-at-?#":               ReasonQueryInPath,
	"nfkc":                    ReasonNFKC,
	"trim-dot-space":          ReasonTrailingDotSpace,
	"trailing-slash-tolerant": ReasonTrailingSlash,
	"rfc3986-dots":            ReasonRFC3986Dots,
}

// TestJudgeReasonNamesCorpusReading judges every row of the shared
// path-confusion corpus with the README's allow list and checks not only
// the verdict but why: a reject row must be refused for the step of the
// README's derivation that decided it (its verdict_basis), and a row that
// some reading routes to a public rule must name that rule.
func TestJudgeReasonNamesCorpusReading(t *testing.T) {
	file := filepath.Join(testenv.Testdata(t, "path-confusion"), "cases.tsv")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	col := map[string]int{}
	for i, h := range strings.Split(lines[0], "\t") {
		col[h] = i
	}
	for _, name := range []string{"raw_request_target", "method", "verdict", "verdict_basis"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("%s: no column %q", file, name)
		}
	}
	allow := MustCompile("/{$}", "/login", "/static/", "GET /health")
	rule := func(p string) string { // the README rule that routes p
		switch {
		case p == "/":
			return "/{$}"
		case p == "/login":
			return "/login"
		case strings.HasPrefix(p, "/static/"):
			return "/static/"
		case p == "/health":
			return "GET /health"
		}
		return ""
	}
	checked := 0
	for n, line := range lines[1:] {
		f := strings.Split(line, "\t")
		target, err := strconv.Unquote(`"` + f[col["raw_request_target"]] + `"`)
		if err != nil {
			t.Fatalf("line %d: %v", n+2, err)
		}
		method, verdict, basis := f[col["method"]], f[col["verdict"]], f[col["verdict_basis"]]
		name := method + " " + target
		r, err := judgeRequest(t, method, target)
		if err != nil {
			if verdict != "reject" {
				t.Errorf("%s: the server refuses it (%v), but the verdict is %s", name, err, verdict)
			}
			continue
		}
		got := allow.Judge(r)
		checked++
		var want []string // acceptable reasons
		wantPattern := ""
		switch {
		case verdict == "public":
			if got.Verdict != Match || got.Pattern != rule(r.URL.Path) {
				t.Errorf("%s: %+v, want a match of %q", name, got, rule(r.URL.Path))
			}
			continue
		case verdict == "login":
			if got.Verdict != NoMatch || got.Pattern != "" || got.Reason != "" {
				t.Errorf("%s: %+v, want no match", name, got)
			}
			continue
		case strings.HasPrefix(basis, "ServeMux redirects to the cleaned path"):
			want = []string{ReasonDotSegment, ReasonDoubleSlash}
		case strings.HasPrefix(basis, "ServeMux redirects /tree to /tree/"):
			want = []string{ReasonRedirect}
		case strings.HasPrefix(basis, "decoded path "):
			want = []string{ReasonDotSegment, ReasonDoubleSlash, ReasonEncodedSlash}
		case strings.HasPrefix(basis, "control character"):
			want = []string{ReasonControlChar}
		case strings.Contains(basis, " under: "):
			// "… under: READING PATH; READING PATH; ...": the first
			// reading named is the first that Judge tries.
			first := strings.Fields(strings.SplitN(basis, " under: ", 2)[1])
			reason, ok := corpusReading[first[0]]
			if !ok {
				t.Fatalf("line %d: unknown reading %q", n+2, first[0])
			}
			want = []string{reason}
			if strings.Contains(basis, "is public under") {
				wantPattern = rule(strings.TrimSuffix(first[1], ";"))
				if reason == ReasonTrailingSlash {
					wantPattern = rule(strings.TrimSuffix(first[1], "/"))
				}
			} else {
				wantPattern = rule(r.URL.Path) // ServeMux's own match
			}
		default:
			t.Fatalf("line %d: verdict_basis %q not understood", n+2, basis)
		}
		if got.Verdict != Reject || !slices.Contains(want, got.Reason) {
			t.Errorf("%s: %+v, want a reject for %q (%s)", name, got, want, basis)
		}
		if wantPattern != "" && got.Pattern != wantPattern {
			t.Errorf("%s: rejected with pattern %q, want %q (%s)", name, got.Pattern, wantPattern, basis)
		}
	}
	if checked < 80 {
		t.Fatalf("only %d rows judged", checked)
	}
}

// TestJudgeReadingBoundaries finds each reading at the edge of the
// characters that turn it on, one reading at a time: a small rule set per
// row group, so that no other rule or reading hides the one under test.
func TestJudgeReadingBoundaries(t *testing.T) {
	readme := MustCompile("/{$}", "/login", "/static/", "GET /health")
	checkJudge(t, readme, []judgeCase{
		// "%" two or one bytes before the end does not decode.
		{target: "/static/a%254", want: Match, pattern: "/static/"},
		{target: "/static/a%25", want: Match, pattern: "/static/"},
		// a dot or space that ends a segment other than the last
		{target: "/static./x", want: Reject, reason: ReasonTrailingDotSpace, pattern: "/static/"},
		{target: "/static%20/x", want: Reject, reason: ReasonTrailingDotSpace, pattern: "/static/"},
		{target: "/static/a.b/c%20d", want: Match, pattern: "/static/"},
		// "\" that only appears when decoded twice
		{target: "/static/..%255cx", want: Reject, reason: ReasonBackslash, pattern: "/static/"},
		// ";" that only appears when decoded
		{target: "/static/..%3b/x", want: Reject, reason: ReasonPathParam, pattern: "/static/"},
		// NUL that only appears when decoded twice (CVE-2019-9900's shape)
		{target: "/login%2500.php", want: Reject, reason: ReasonNUL, pattern: "/login"},
		{target: "/login%3fx", want: Reject, reason: ReasonQueryInPath, pattern: "/login"},
		{target: "/login%23x", want: Reject, reason: ReasonQueryInPath, pattern: "/login"},
		// a method rule folds the method, never drops it
		{method: "POST", target: "/Health", want: NoMatch},
		{method: "HEAD", target: "/Health", want: Reject, reason: ReasonCaseFold, pattern: "GET /health"},
	})

	// The first and last upper-case letters, in the byte scan, lower and
	// asciiLower.
	checkJudge(t, MustCompile("/a", "/z", "/a/z/"), []judgeCase{
		{target: "/A", want: Reject, reason: ReasonCaseFold, pattern: "/a"},
		{target: "/Z", want: Reject, reason: ReasonCaseFold, pattern: "/z"},
		{target: "/a/Z/x", want: Reject, reason: ReasonCaseFold, pattern: "/a/z/"},
		{target: "/A/z/x", want: Reject, reason: ReasonCaseFold, pattern: "/a/z/"},
		{target: "/@", want: NoMatch},
		{target: "/[", want: NoMatch},
	})
	// Raw ";" strips up to the next raw "/": "%2F" does not end it.
	checkJudge(t, MustCompile("/a/x"), []judgeCase{
		{target: "/a;%2fstatic/x", want: Reject, reason: ReasonPathParam, pattern: "/a/x"},
		{target: "/a;p/x", want: Reject, reason: ReasonPathParam, pattern: "/a/x"},
	})
	// A literal segment that is all non-ASCII folds as well.
	checkJudge(t, MustCompile("/É"), []judgeCase{
		{target: "/%C3%89", want: Match, pattern: "/É"},
		{target: "/%C3%A9", want: Reject, reason: ReasonCaseFold, pattern: "/É"},
	})
	// Each kind of pattern alone turns folding on for its own part.
	checkJudge(t, MustCompile("/Admin"), []judgeCase{
		{target: "/admin", want: Reject, reason: ReasonCaseFold, pattern: "/Admin"},
	})
	// (A standard method in lower case is refused by Compile; a method of
	// the application's own, such as "fooz", is taken as written.)
	checkJudge(t, MustCompile("fooz /x"), []judgeCase{
		{method: "fooz", target: "/x", want: Match, pattern: "fooz /x"},
		{method: "FOOZ", target: "/x", want: Reject, reason: ReasonCaseFold, pattern: "fooz /x"},
	})
	checkJudge(t, MustCompile("POST /hooks/{name}"), []judgeCase{
		{method: "post", target: "/hooks/build", want: Reject, reason: ReasonCaseFold, pattern: "POST /hooks/{name}"},
	})
	checkJudge(t, MustCompile("PATCH /x"), []judgeCase{
		{method: "PaTCH", target: "/x", want: Reject, reason: ReasonCaseFold, pattern: "PATCH /x"},
	})
	checkJudge(t, MustCompile("FOOZ /x"), []judgeCase{
		{method: "FOOz", target: "/x", want: Reject, reason: ReasonCaseFold, pattern: "FOOZ /x"},
	})
	checkJudge(t, MustCompile("example.com/only-here"), []judgeCase{
		{target: "/only-here", host: "EXAMPLE.com", want: Reject, reason: ReasonCaseFold, pattern: "example.com/only-here"},
	})
	// ServeMux reads a leading space as "no method".
	checkJudge(t, MustCompile(" /x"), []judgeCase{
		{method: "DELETE", target: "/x", want: Match, pattern: " /x"},
	})
	// Patterns that overlap only once folded go to another fold mux.
	checkJudge(t, MustCompile("/a/{x}/C", "/{y}/b/c"), []judgeCase{
		{target: "/z/b/C", want: Reject, reason: ReasonCaseFold, pattern: "/{y}/b/c"},
		{target: "/a/q/c", want: Reject, reason: ReasonCaseFold, pattern: "/a/{x}/C"},
	})
	// A regexp with upper case, and no other rule, folds every request.
	for _, re := range []string{"A", "Z", "HELP"} {
		set, err := Compile(Config{Regexps: []string{re}})
		if err != nil {
			t.Fatal(err)
		}
		checkJudge(t, set, []judgeCase{
			{target: "/" + re, want: Match, pattern: re},
			{target: "/" + strings.ToLower(re), want: Reject, reason: ReasonCaseFold, pattern: re},
		})
	}
}

// TestJudgeCleanDotCostsNoReading checks the cost model of Judge: a dot
// inside a segment (as in every file name), or the root path, turns on no
// reading, so it costs what the same path without it costs.
func TestJudgeCleanDotCostsNoReading(t *testing.T) {
	set := MustCompile("/{$}", "/login", "/static/", "GET /health")
	cost := func(set *Set, target string) float64 {
		r := newReq("GET", target, "")
		if got := set.Judge(r); got.Verdict == Reject {
			t.Fatalf("%s: %+v", target, got)
		}
		return testing.AllocsPerRun(50, func() { set.Judge(r) })
	}
	if dot, none := cost(set, "/static/app.css"), cost(set, "/static/appxcss"); dot != none {
		t.Errorf("Judge(/static/app.css) allocates %v times, /static/appxcss %v", dot, none)
	}
	// "/" has no trailing slash to read away: judging it costs the one
	// ServeMux lookup.
	other := MustCompile("/static/")
	root := newReq("GET", "/", "")
	lookup := testing.AllocsPerRun(50, func() { other.mux.Handler(root) })
	if judge := cost(other, "/"); judge != lookup {
		t.Errorf("Judge(/) allocates %v times, its ServeMux lookup %v", judge, lookup)
	}
}

func TestCompileConflictNamesBothPatterns(t *testing.T) {
	_, err := Compile(Config{Patterns: []string{"/a/{x}", "/a/{y}"}})
	if err == nil {
		t.Fatal("no error")
	}
	// The " (registered at …)" notes are cut out whole, not a byte more
	// or less.
	const want = `Patterns[1] "/a/{y}": pattern "/a/{y}" conflicts with pattern "/a/{x}":`
	if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, ")") {
		t.Errorf("error %q, want it to start %q", msg, want)
	}
	if got := dropRegisteredAt("a (registered at x.go:1) b (registered at y.go:2)"); got != "a b" {
		t.Errorf("dropRegisteredAt = %q", got)
	}
	if got := dropRegisteredAt("a (registered at x.go:1"); got != "a (registered at x.go:1" {
		t.Errorf("dropRegisteredAt of an unclosed note = %q", got)
	}
}

func TestUnescapeOnce(t *testing.T) {
	checkStrings(t, "unescapeOnce", unescapeOnce, stringCases{
		"":        "",
		"/a":      "/a",
		"%41":     "A", // "%" first
		"/%30%39": "/09",
		"/%41%46": "/AF",
		"/%61%66": "/af",
		"/%4A%4a": "/JJ",
		"/%4F%4f": "/OO",
		"/%3A%3a": "/::",
		"/%2F%2f": "///",
		"/%7E%7e": "/~~",
		// not hex: the byte either side of each range of hex digits
		"/%/0%0/": "/%/0%0/",
		"/%:0%0:": "/%:0%0:",
		"/%@0%0@": "/%@0%0@",
		"/%G0%0G": "/%G0%0G",
		"/%`0%0`": "/%`0%0`",
		"/%g0%0g": "/%g0%0g",
		// too short
		"/a%":    "/a%",
		"/a%4":   "/a%4",
		"%":      "%",
		"/%%41":  "/%A",
		"/%2541": "/%41",
	})
}

func TestDecodeAllDepth(t *testing.T) {
	nest := func(depth int) string { // "A" percent-encoded depth times
		return "/%" + strings.Repeat("25", depth-1) + "41"
	}
	for depth := 1; depth <= maxDecodes; depth++ {
		if got, ok := decodeAll(nest(depth)); got != "/A" || !ok {
			t.Errorf("decodeAll(%q) = %q, %v; want /A, true", nest(depth), got, ok)
		}
	}
	for _, depth := range []int{maxDecodes + 1, maxDecodes + 2} {
		if got, ok := decodeAll(nest(depth)); ok {
			t.Errorf("decodeAll(%q) = %q, true; want false", nest(depth), got)
		}
	}
	if got, ok := decodeAll("/a%zz"); got != "/a%zz" || !ok {
		t.Errorf("decodeAll(/a%%zz) = %q, %v", got, ok)
	}
}

func TestReadingHelpersEdges(t *testing.T) {
	checkStrings(t, "stripParams", stripParams, stringCases{
		";x/a":       "/a",
		";x":         "",
		"/a;b;c/d":   "/a/d",
		"/a;x%2fb/c": "/a/c",
		"/;/a":       "//a",
	})
	cutQuery := func(p string) string { return cutAt(p, "?#") }
	checkStrings(t, "cutAt", cutQuery, stringCases{
		"?x":     "",
		"#x":     "",
		"/a#b?c": "/a",
		"/a?b#c": "/a",
		"/a":     "/a",
	})
	checkStrings(t, "removeDotSegments", removeDotSegments, stringCases{
		// RFC 3986 section 5.2.4's examples
		"/a/b/c/./../../g":   "/a/g",
		"mid/content=5/../6": "mid/6",
		// each rule of step 2
		"../a":         "a",
		"./a":          "a",
		".":            "",
		"..":           "",
		"/./a":         "/a",
		"/.":           "/",
		"/..":          "/",
		"/../../a":     "/a",
		"/a/b/..":      "/a/",
		"/a//../b":     "/a/b",
		"/a//..":       "/a/",
		"/a/b/c/../..": "/a/",
		"//":           "//",
		"":             "",
	})
	checkStrings(t, "trimDotSpace", trimDotSpace, stringCases{
		"/a/b":    "/a/b",
		"/a. . /": "/a/",
		"/.":      "/.",
		"/..":     "/..",
		"/. . /x": "/./x",
		"/ . /x":  "//x",
	})
	checkStrings(t, "overlong", overlong, stringCases{
		"/\xc0\xae\xc0\x41":         "/.\xc0\x41", // invalid after a conversion
		"/\xc0\xae\xff":             "/.\xff",     // a byte that leads nothing
		"/\xc0\xae\xe0\x80":         "/.\xe0\x80", // truncated after a conversion
		"/\xc0\xaex/\xc0\xae":       "/.x/.",
		"/\xc2\x80":                 "/\xc2\x80", // U+0080, shortest form
		"/\xe0\x80\xae\xe0\x80\xaf": "/./",
		"/\xf8\x88\x80\x80\x80":     "/\xf8\x88\x80\x80\x80", // not a rune
		"/ab":                       "/ab",
	})
	// A path with no overlong form comes back as it is, not copied: the
	// shortest forms of U+0080, U+0800 and U+10000 included.
	for _, p := range []string{"/\xc2\x80", "/\xe0\xa0\x80", "/\xf0\x90\x80\x80", "/caf\xc3\xa9"} {
		if n := testing.AllocsPerRun(20, func() { overlong(p) }); n != 0 {
			t.Errorf("overlong(%q) allocates %v times", p, n)
		}
	}
	checkStrings(t, "nfkc", nfkc, stringCases{
		// both ends of every range nfkcASCII computes, and one past
		"/\uff01\uff5e":         "/!~",
		"/\uff00\uff5f":         "/\uff00\uff5f",
		"/\u2000\u200a":         "/  ",
		"/\u200b":               "/\u200b",
		"/\u2074\u2079":         "/49",
		"/\u2073":               "/\u2073",
		"/\u2080\u2089":         "/09",
		"/\u24b6\u24cf":         "/AZ",
		"/\u24b5":               "/\u24b5",
		"/\u24d0\u24e9":         "/az",
		"/\u24ea":               "/\u24ea",
		"/\U0001d400\U0001d419": "/AZ",
		"/\U0001d41a\U0001d433": "/az",
		"/\U0001d434\U0001d6a3": "/Az",
		"/\U0001d3ff\U0001d6a4": "/\U0001d3ff\U0001d6a4",
		"/\U0001d7ce\U0001d7d7": "/09",
		"/\U0001d7d8\U0001d7ff": "/09",
		"/\U0001d7d3":           "/5",
		"/\U0001d7cd\U0001d800": "/\U0001d7cd\U0001d800",
		"/\u0080\ufffd":         "/\u0080\ufffd",
		"/a\xffb\uff0e":         "/a\xffb.",
		"/\uff0e\u00e9\uff0e":   "/.\u00e9.",
		"":                      "",
	})
	checkStrings(t, "lower", lower, stringCases{
		"":         "",
		"/A":       "/a",
		"/Z":       "/z",
		"/@[":      "/@[",
		"É":        "é",
		"\u212a":   "k",
		"\xc3":     "\xc3",
		"\xc3A":    "\xc3a",
		"/\x80A":   "/\x80a",
		"/a\u212a": "/ak",
	})
	for s, want := range map[string]bool{"A": true, "Z": true, "@": false, "[": false, "a/z": false, "xMx": true} {
		if hasUpper(s) != want {
			t.Errorf("hasUpper(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"a": true, "z": true, "`": false, "{": false, "A/Z": false, "XmX": true} {
		if hasLower(s) != want {
			t.Errorf("hasLower(%q) = %v", s, !want)
		}
	}
}

// TestCleanPathKeepsTrailingSlash checks cleanPath against ServeMux's
// definition, and that a clean path comes back as it is, not copied.
func TestCleanPathKeepsTrailingSlash(t *testing.T) {
	checkStrings(t, "cleanPath", cleanPath, stringCases{
		"":         "/",
		"a/b":      "/a/b",
		"a/b/":     "/a/b/",
		"/a/":      "/a/",
		"/a/b/../": "/a/",
		"/a/./":    "/a/",
		"/a//":     "/a/",
		"/..":      "/",
		"/../":     "/",
		"/a/b/..":  "/a",
		"/":        "/",
		"//":       "/",
	})
	if n := testing.AllocsPerRun(20, func() { cleanPath("/static/a/") }); n != 0 {
		t.Errorf("cleanPath of a clean path allocates %v times", n)
	}
}

// TestSameSite is the predicate every redirect of a Guard passes.
func TestSameSite(t *testing.T) {
	for p, want := range map[string]bool{
		"": false, "/": true, "/a": true, "/a//b": true, "a": false,
		"//evil.example": false, `/\evil.example`: false, `\/evil.example`: false,
	} {
		if sameSite(p) != want {
			t.Errorf("sameSite(%q) = %v", p, !want)
		}
	}
}
