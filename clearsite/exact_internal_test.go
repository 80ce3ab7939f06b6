package clearsite

import (
	"bufio"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/pathconfusion"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
)

// exactPatterns are plain lower-case path literals without method or host:
// onPath answers a request for one of them without pathrule. "/x." has a
// segment ending in "." and is judged in full; the others are exact. The
// corpus's own paths are among them, so its rows reach the fast path.
var exactPatterns = []string{"/logout", "/account/forget/{$}", "/a.b/c-d_e~f", "/login", "/health", "/static/app.css", "/{$}", "/x."}

// exactMiddleware returns a middleware for exactPatterns: with many, more
// literals than onPath scans, so that it looks them up in the map.
func exactMiddleware(t testing.TB, many bool) *Middleware {
	t.Helper()
	paths := exactPatterns
	if many {
		paths = append(paths[:len(paths):len(paths)], "/p1", "/p2", "/p3", "/p4/{$}")
	}
	m, err := New(Config{Paths: paths, Logger: seclog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if (m.short == nil) != many {
		t.Fatalf("%d literals: scanned = %v", len(m.literal), m.short != nil)
	}
	return m
}

// parseRequest reads "METHOD TARGET HTTP/1.1" as net/http's server does;
// ok is false when the server would not serve it.
func parseRequest(method, target string) (*http.Request, bool) {
	if strings.ContainsAny(method+target, " \r\n") {
		return nil, false
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: bulwark.test\r\n\r\n")))
	return r, err == nil
}

// agree checks onPath against a full judgement and reports whether the
// fast path answered.
func agree(t testing.TB, m *Middleware, r *http.Request) (fast bool) {
	t.Helper()
	if got, want := m.onPath(r), m.paths.Judge(r).Allowed(); got != want {
		t.Errorf("%s %q (Path %q, RawPath %q): onPath = %v, Judge allows = %v", r.Method, r.RequestURI, r.URL.Path, r.URL.RawPath, got, want)
	}
	exact, _ := m.lookupLiteral(r.URL.Path)
	return exact && r.URL.RawPath == ""
}

func TestExactLiterals(t *testing.T) {
	m := exactMiddleware(t, false)
	for _, lit := range []string{"/logout", "/account/forget/", "/a.b/c-d_e~f", "/login", "/health", "/static/app.css", "/"} {
		if !m.literal[lit] {
			t.Errorf("%q: not on the fast path", lit)
		}
	}
	if m.literal["/x."] {
		t.Error(`"/x.": a trailing dot on the fast path`)
	}
	for _, paths := range [][]string{
		{"/logout", "POST /signout"},
		{"/logout", "example.com/bye"},
		{"/logout", "/Mixed"},
	} {
		m, err := New(Config{Paths: paths, Logger: seclog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		if m.literal["/logout"] {
			t.Errorf("%q: fast path although a rule has a method, a host or upper case", paths)
		}
	}
}

// TestExactAgreesWithJudgeCorpus checks the fast path on the path-confusion
// corpus (shared and pathrule's own), each row as written and with its path
// moved onto the listed ones.
func TestExactAgreesWithJudgeCorpus(t *testing.T) {
	t.Run("scanned", func(t *testing.T) { testExactCorpus(t, exactMiddleware(t, false)) })
	t.Run("hashed", func(t *testing.T) { testExactCorpus(t, exactMiddleware(t, true)) })
}

func testExactCorpus(t *testing.T, m *Middleware) {
	rows := pathconfusion.Read(t, filepath.Join(testenv.Testdata(t, "path-confusion"), "cases.tsv"))
	rows = append(rows, pathconfusion.Read(t, filepath.Join("..", "pathrule", "testdata", "cases.tsv"))...)
	fast, n := 0, 0
	for _, row := range rows {
		targets := []string{row.Target}
		for _, from := range []string{"/static/", "/login", "/health"} {
			for _, to := range []string{"/static/app.css", "/logout", "/account/forget/", "/a.b/c-d_e~f"} {
				if strings.Contains(row.Target, from) {
					targets = append(targets, strings.Replace(row.Target, from, to, 1))
				}
			}
		}
		for _, target := range targets {
			for _, method := range []string{row.Method, "CONNECT", "get"} {
				r, ok := parseRequest(method, target)
				if !ok {
					continue
				}
				n++
				if agree(t, m, r) {
					fast++
				}
			}
		}
	}
	if fast == 0 || n == 0 {
		t.Fatalf("%d requests, %d on the fast path: the corpus did not exercise it", n, fast)
	}
	t.Logf("%d requests, %d answered by the fast path", n, fast)
}

func FuzzExactAgreesWithJudge(f *testing.F) {
	for _, s := range []string{"/logout", "/logou%74", "/LOGOUT", "/logout/", "/logout.", "/logout%20", "/logout;x",
		"/account/forget/", "/account/forget", "/a.b/c-d_e~f", "/a%2eb/c-d_e~f", "/x.", "/x", "/", "//", "/%2e", "*",
		"http://bulwark.test/logout", "/static/app.css?x=1", "/static/app.css#x", "/static/app%2ecss", "/health\\"} {
		f.Add("GET", s, "")
		f.Add("POST", s, "/logout")
	}
	ms := []*Middleware{exactMiddleware(f, false), exactMiddleware(f, true)}
	f.Fuzz(func(t *testing.T, method, target, rawPath string) {
		for _, m := range ms {
			if r, ok := parseRequest(method, target); ok {
				agree(t, m, r)
			}
			// A URL a handler or middleware rewrote: Path and RawPath as
			// given.
			u := &url.URL{Path: target, RawPath: rawPath}
			agree(t, m, &http.Request{Method: method, Host: "bulwark.test", URL: u, Header: http.Header{}, RequestURI: target})
		}
	})
}
