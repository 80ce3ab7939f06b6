package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// RedirectCase is one row of the shared open-redirect corpus
// (shared/testdata/open-redirect/cases.tsv; its README says how to use it).
type RedirectCase struct {
	// Next is the decoded value of the "next" parameter.
	Next string
	// Safe is the corpus's verdict: a browser that follows Next from
	// https://bulwark.test/login stays on that site.
	Safe bool
	// Stricter, when set, says why the suite refuses this safe row on
	// purpose: identity.SafeNext refuses what a later step could rewrite,
	// dot segments included, although this row's rewriting stays on the
	// site. Such a row must still land on the site (on the default page).
	Stricter string
	// Why is the corpus's few words on the trick.
	Why string
}

// Accepted reports whether identity.SafeNext (site bulwark.test, https)
// must accept the row: it is safe and the suite is not stricter.
func (c RedirectCase) Accepted() bool { return c.Safe && c.Stricter == "" }

// stricterThanCorpus lists the safe rows the suite refuses, and why.
var stricterThanCorpus = map[string]string{
	"/a/b/../c": "dot segments: path cleaning and browsers remove them, so the URL followed is not the string judged",
}

// OpenRedirectCases reads every row of the shared open-redirect corpus
// (found by [Testdata]); a malformed or missing file fails t.
func OpenRedirectCases(t testing.TB) []RedirectCase {
	t.Helper()
	f, err := os.Open(filepath.Join(Testdata(t, "open-redirect"), "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	var cases []RedirectCase
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 5 {
			t.Fatalf("open-redirect: short row %q", sc.Text())
		}
		next, err := strconv.Unquote(`"` + fields[0] + `"`)
		if err != nil {
			t.Fatalf("open-redirect: row %q: %v", fields[0], err)
		}
		c := RedirectCase{Next: next, Safe: fields[1] == "safe", Why: fields[4]}
		if c.Safe {
			c.Stricter = stricterThanCorpus[next]
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 91 {
		t.Fatalf("open-redirect: read %d rows, the corpus has 91", len(cases))
	}
	return cases
}

// RewrittenOffSite are redirect targets that a step after the judge
// rewrites into a reference to evil.example: http.Redirect's path.Clean
// makes "/\evil.example…" of the first four (browsers read "\" as "/"), and
// dot-segment removal makes "//evil.example" of the others (issue 14,
// item 1). The corpus does not have them; every redirect test of the suite
// must refuse them.
var RewrittenOffSite = []string{
	`/./\evil.example/phish`,
	`/x/../\evil.example`,
	`a/../\evil.example`,
	`./\evil.example`,
	`/.//evil.example`,
	`/x/%2e%2e//evil.example`,
}
