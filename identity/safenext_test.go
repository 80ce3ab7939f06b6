package identity

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestSafeNextCorpus checks every row of the shared open-redirect corpus:
// site https://bulwark.test, HTTPS required.
func TestSafeNextCorpus(t *testing.T) {
	dir := testenv.Testdata(t, "open-redirect")
	f, err := os.Open(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	rows := 0
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 5 {
			t.Fatalf("short row %q", sc.Text())
		}
		next, err := strconv.Unquote(`"` + fields[0] + `"`)
		if err != nil {
			t.Fatalf("row %q: %v", fields[0], err)
		}
		want := fields[1] == "safe"
		if got := SafeNext(next, []string{"bulwark.test"}, true); got != want {
			t.Errorf("SafeNext(%q) = %v, want %v (%s)", next, got, want, fields[4])
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 90 {
		t.Errorf("read %d rows, the corpus has 91", rows)
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
		{"/a\\b", true, true},
		{"https://bulwark.test/\\evil.example", true, true},
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
// site: an accepted value never starts like a scheme-relative reference,
// never has a control character, and has no scheme other than https.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/account", "//evil.example", `/\evil.example`, "https://bulwark.test/x", "javascript:x", "?a", "#b", "https:evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		if !SafeNext(next, []string{"bulwark.test"}, true) {
			return
		}
		n := strings.ReplaceAll(next, `\`, "/")
		if strings.HasPrefix(n, "//") {
			t.Fatalf("accepted %q: scheme-relative", next)
		}
		for i := 0; i < len(next); i++ {
			if next[i] < 0x20 || next[i] == 0x7f {
				t.Fatalf("accepted %q: control character", next)
			}
		}
		if scheme, rest := splitScheme(n); scheme != "" {
			if scheme != "https" || !strings.HasPrefix(rest, "//bulwark.test") {
				t.Fatalf("accepted %q: leaves the site", next)
			}
			host := strings.TrimPrefix(rest, "//")
			if i := strings.IndexAny(host, "/?#"); i >= 0 {
				host = host[:i]
			}
			if host != "bulwark.test" {
				t.Fatalf("accepted %q: host %q", next, host)
			}
		}
	})
}

// TestSafeNextRefusesWhatPathCleaningRewrites: a target that path cleaning
// (http.Redirect's path.Clean) or a browser's dot-segment removal would turn
// into another URL is refused, whatever it would become. Each of these was
// accepted and answered "Location: /\evil.example/…" (issue 14, item 1).
func TestSafeNextRefusesWhatPathCleaningRewrites(t *testing.T) {
	for _, next := range []string{
		`/./\evil.example/phish`,
		`/x/../\evil.example`,
		`a/../\evil.example`,
		`./\evil.example`,
		`/.//evil.example`,
		`/x/..//evil.example`,
		`/x/%2e%2e//evil.example`,
		`/x/.%2E//evil.example`,
		`https://bulwark.test/x/..//evil.example`,
		`https://bulwark.test/./\evil.example`,
	} {
		if SafeNext(next, []string{"bulwark.test"}, true) {
			t.Errorf("SafeNext(%q) = true: a later step rewrites it", next)
		}
	}
}
