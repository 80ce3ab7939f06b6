package identity

import (
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestSafeNextCorpus checks every row of the shared open-redirect corpus:
// site https://bulwark.test, HTTPS required. The suite refuses the rows it
// is stricter on (testenv.RedirectCase.Stricter).
func TestSafeNextCorpus(t *testing.T) {
	for _, c := range testenv.OpenRedirectCases(t) {
		if got := SafeNext(c.Next, []string{"bulwark.test"}, true); got != c.Accepted() {
			t.Errorf("SafeNext(%q) = %v, want %v (%s)", c.Next, got, c.Accepted(), c.Why)
		}
	}
}

func TestSafeNext(t *testing.T) {
	hosts := []string{"bulwark.test", "localhost:8080"}
	for _, tc := range []struct {
		next         string
		requireHTTPS bool
		want         bool
	}{
		{"/account", true, true},
		{"http://bulwark.test/x", false, true},
		{"http://bulwark.test/x", true, false},
		{"//bulwark.test/x", false, true},
		{"//bulwark.test/x", true, false},
		{"http://localhost:8080/", false, true},
		{"http://localhost/", false, false},
		{"https://BULWARK.TEST/", true, false}, // exact host, as Django
		{" /account", true, false},
		{"/account ", true, false},
		{"/a\\b", true, false},
		{"https://bulwark.test/\\evil.example", true, false},
		{"https://", true, false},
		{"//", true, false},
		{"1a:b", true, true}, // no scheme: a path
		{"a+b.c-d:x", true, false},
		{"/" + strings.Repeat("a", MaxNextLen), true, false},
		{"/" + strings.Repeat("a", MaxNextLen-1), true, true},
		{"/\x7f", true, false},
		{"/caf\u00e9", true, true},
	} {
		if got := SafeNext(tc.next, hosts, tc.requireHTTPS); got != tc.want {
			t.Errorf("SafeNext(%q, https=%v) = %v, want %v", tc.next, tc.requireHTTPS, got, tc.want)
		}
	}
	if SafeNext("https://bulwark.test/", nil, true) {
		t.Error("no allowed host: an absolute URL was accepted")
	}
	if !SafeNext("/x", nil, true) {
		t.Error("no allowed host: a path was refused")
	}
}

// FuzzSafeNext: no panic, and nothing accepted lets a browser leave the
// site or can be rewritten: an accepted value has no control character,
// no backslash, no dot segment in its path, never starts like a
// scheme-relative reference, has no scheme other than https, and takes a
// browser (the model of FuzzRedirect) to the site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/account", "//evil.example", `/\evil.example`, "https://bulwark.test/x", "javascript:x", "?a", "#b", "https:evil", "/a/%2e%2E/b", "/./x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if !SafeNext(next, []string{"bulwark.test"}, true) {
			return
		}
		if strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
			t.Fatalf("accepted %q: scheme-relative, or a backslash", next)
		}
		for i := 0; i < len(next); i++ {
			if next[i] < 0x20 || next[i] == 0x7f {
				t.Fatalf("accepted %q: control character", next)
			}
		}
		p, _, _ := strings.Cut(next, "#")
		p, _, _ = strings.Cut(p, "?")
		if scheme, rest := splitScheme(p); scheme != "" {
			if scheme != "https" || !strings.HasPrefix(rest, "//bulwark.test") {
				t.Fatalf("accepted %q: leaves the site", next)
			}
			p = strings.TrimPrefix(rest, "//bulwark.test")
			if p != "" && p[0] != '/' {
				t.Fatalf("accepted %q: host %q…", next, rest)
			}
		}
		for _, seg := range strings.Split(p, "/") {
			switch strings.ToLower(seg) {
			case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
				t.Fatalf("accepted %q: dot segment %q", next, seg)
			}
		}
		if got := browserOrigin(next); got != site {
			t.Fatalf("accepted %q: a browser goes to %q", next, got)
		}
	})
}

// TestSafeNextRefusesWhatPathCleaningRewrites: a target that path cleaning
// (http.Redirect's path.Clean) or a browser's dot-segment removal would turn
// into another URL is refused, whatever it would become. Each of these was
// accepted and answered "Location: /\evil.example/…" (issue 14, item 1).
func TestSafeNextRefusesWhatPathCleaningRewrites(t *testing.T) {
	for _, next := range append([]string{
		`/x/..//evil.example`,
		`/x/.%2E//evil.example`,
		`https://bulwark.test/x/..//evil.example`,
		`https://bulwark.test/./\evil.example`,
	}, testenv.RewrittenOffSite...) {
		if SafeNext(next, []string{"bulwark.test"}, true) {
			t.Errorf("SafeNext(%q) = true: a later step rewrites it", next)
		}
	}
}

// TestSafeNextBoundaries puts a case on each side of every condition of the
// judge: the value that just passes beside the value that just fails.
func TestSafeNextBoundaries(t *testing.T) {
	hosts := []string{"bulwark.test"}
	for _, tc := range []struct {
		next string
		want bool
	}{
		// Empty, length, surrounding spaces.
		{"", false},
		{"a", true},
		{"/a b", true}, // an inner space is path data
		{"\u00a0/a", false},
		{"/a\u2003", false},
		// Control characters, DEL, their neighbours.
		{"/\x00", false},
		{"/\x1f", false},
		{"/!", true},
		{"/\x7f", false},
		{"/~", true},
		{"/\u0080", true}, // U+0080, valid UTF-8: percent-encoded when written
		// Invalid UTF-8.
		{"/\xff", false},
		{"/\xc3", false},
		{"/\xc3\xa9", true},
		// Backslashes, anywhere.
		{`\`, false},
		{`/a?q=\`, false},
		{`/a#\`, false},
		{"/a?q=|", true},
		// Dot segments in the path, plain and escaped.
		{".", false},
		{"..", false},
		{"./a", false},
		{"../a", false},
		{"/.", false},
		{"/..", false},
		{"/a/./b", false},
		{"/a/../b", false},
		{"/a/.?x", false},
		{"/a/..#x", false},
		{"/%2e", false},
		{"/%2E", false},
		{"/%2e%2E", false},
		{"/.%2e/", false},
		{"/%2e./", false},
		{"/...", true},
		{"/.a", true},
		{"/a.", true},
		{"/a..b", true},
		{"/%2e%2e%2e", true},
		{"/%2ex", true},
		{"/%2f..", true}, // one segment, "%2F.." : not a dot segment
		{"/%2", true},
		{"/a?x=/../", true}, // the query is not the path
		{"/a#/./", true},    // nor the fragment
		{"?..", true},       // a query alone
		{"#..", true},       // a fragment alone
		{"/a?b#/../", true}, // "?" before "#"
		{"/a#b?/../", true}, // "#" before "?"
		{"https://bulwark.test/.", false},
		{"https://bulwark.test/..?x", false},
		{"https://bulwark.test/.x", true},
		{"https://bulwark.test", true},
		{"https://bulwark.test?..", true},
		{"https://bulwark.test#/..", true},
		{"x/..", false},  // a relative path's segments count too
		{"x:/..", false}, // a scheme other than https
		{"1x/../y", false},
		// "///", schemes, authorities.
		{"///a", false},
		{"//", false},
		{"/", true},
		{"https:/a", false},
		{"https:a", false},
		{"https://", false},
		{"https://bulwark.test/a", true},
		{"HTTPS://bulwark.test/a", true},
		{"http://bulwark.test/a", false},
		{"ftp://bulwark.test/a", false},
		{"https://bulwark.test:443/a", false},
		{"https://u@bulwark.test/a", false},
		{"https://bulwark.test./a", false},
		{"https://[bulwark.test/a", false},
		{"https://evil.example/a", false},
		{"//bulwark.test/a", false}, // counts as http
		{"a:b", false},
		{"a:", false},
		{":a", true}, // no scheme before ":"
		{"a-b:x", false},
		{"a_b:x", true}, // "_" cannot be in a scheme: a path
		{"a/b:x", true},
		{"0a:x", true},
		{"Zz9+-.:x", false},
		// Every edge of the scheme's characters: letters, digits, "+",
		// "-", "." on one side, their neighbours in ASCII on the other.
		{"a:x", false},
		{"z:x", false},
		{"A:x", false},
		{"Z:x", false},
		{"`:x", true},
		{"{:x", true},
		{"@:x", true},
		{"[:x", true},
		{"a0:x", false},
		{"a9:x", false},
		{"a/:x", true},
		{"a;:x", true},
		{"a+:x", false},
		{"a,:x", true},
		{"a-:x", false},
		{"a.:x", false},
		{"a*:x", true},
		{"abc", true}, // scheme characters and no ":": a path
		// A query or fragment first: never a path.
		{"?/..", true},
		{"#/..", true},
		{"?/\\", false}, // backslashes are refused even there
	} {
		if got := SafeNext(tc.next, hosts, true); got != tc.want {
			t.Errorf("SafeNext(%q) = %v, want %v", tc.next, got, tc.want)
		}
	}
	for _, tc := range []struct {
		next  string
		hosts []string
		https bool
		want  bool
	}{
		{"//bulwark.test/a", []string{"bulwark.test"}, false, true},
		{"//bulwark.test/../a", []string{"bulwark.test"}, false, false},
		{"http://bulwark.test/a", []string{"bulwark.test"}, false, true},
		{"http://bulwark.test/a", []string{"other.test", "bulwark.test"}, false, true},
		{"http://bulwark.test/a", []string{"other.test"}, false, false},
		// The authority is not the path: a host spelt ".." is judged
		// as a host, never as a dot segment.
		{"//../a", []string{".."}, false, true},
		{"//..", []string{".."}, false, true},
		{"//../..", []string{".."}, false, false},
		// A host is compared only when it is the whole authority.
		{"//?a", []string{"?a"}, false, false},
		{"//#a", []string{"#a"}, false, false},
		{"https://[::1]/a", []string{"[::1]"}, true, true},
		{"https://[::1/a", []string{"[::1"}, true, false},
		{"https://::1]/a", []string{"::1]"}, true, false},
	} {
		if got := SafeNext(tc.next, tc.hosts, tc.https); got != tc.want {
			t.Errorf("SafeNext(%q, %q, https=%v) = %v, want %v", tc.next, tc.hosts, tc.https, got, tc.want)
		}
	}
}
