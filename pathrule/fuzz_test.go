package pathrule

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// refHandler marks the rules of the oracle mux.
type refHandler struct{}

func (refHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// fuzzSeeds returns (method, target) pairs from our own cases and, when it
// can be found, the shared path-confusion corpus. Unlike TestPathConfusion,
// the fuzz target runs without the shared corpus.
func fuzzSeeds() [][2]string {
	files := []string{filepath.Join("testdata", "cases.tsv")}
	if dir := os.Getenv("BULWARK_TESTDATA"); dir != "" {
		files = append(files, filepath.Join(dir, "path-confusion", "cases.tsv"))
	} else if wd, err := os.Getwd(); err == nil {
		for dir := wd; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, "shared", "testdata", "path-confusion", "cases.tsv")
			if _, err := os.Stat(p); err == nil {
				files = append(files, p)
				break
			}
		}
	}
	var seeds [][2]string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Split(line, "\t")
			if len(f) < 3 {
				continue
			}
			if target, err := strconv.Unquote(`"` + f[0] + `"`); err == nil {
				seeds = append(seeds, [2]string{f[1], target})
			}
		}
	}
	return seeds
}

// readmePublic is the README's allow list, written by hand as an oracle.
func readmePublic(method, p string) bool {
	return p == "/" || p == "/login" || strings.HasPrefix(p, "/static/") ||
		(p == "/health" && (method == http.MethodGet || method == http.MethodHead))
}

// oraclePaths are the paths a request with decoded path dec may reach: the
// path decoded once and decoded until nothing changes, each as it is and
// with "\" read as "/", cleaned as ServeMux cleans (keeping a trailing
// slash).
func oraclePaths(dec string) []string {
	full := dec
	for {
		next := unescapeOnce(full)
		if next == full {
			break
		}
		full = next
	}
	return []string{cleanPath(dec), cleanPath(slashes(dec)), cleanPath(full), cleanPath(slashes(full))}
}

var widePatterns = []string{
	"/{$}", "/login", "/static/", "GET /health", "/users/{id}/avatar", "/files/{path...}",
	"/docs/{$}", "example.com/only-here", "POST /hooks/{name}", "/Mixed/Case",
}

// FuzzJudge checks that Judge never panics, that its verdicts and helpers
// agree, that a Guard never redirects off the site, and that no allow
// list lets through a request that some decoding of its path (once or
// until nothing changes, with "\" as "/") routes to a protected path.
func FuzzJudge(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1])
	}
	f.Add("GET", "/static/%255c..%255cadmin")
	f.Add("GET", "/static/%c0%ae%c0%ae/admin")
	f.Add("GET", "/static/%ef%bc%8e%ef%bc%8e/admin")
	f.Add("POST", "/hooks/x")
	f.Add("get", "/health")

	readme := MustCompile("/{$}", "/login", "/static/", "GET /health")
	wide := MustCompile(widePatterns...)
	ref := http.NewServeMux() // the oracle for wide: ServeMux itself
	for _, p := range widePatterns {
		ref.Handle(p, refHandler{})
	}
	refMatch := func(r *http.Request, p string) bool {
		h, _ := ref.Handler(&http.Request{Method: r.Method, Host: r.Host, URL: &url.URL{Path: p}})
		_, ok := h.(refHandler)
		return ok
	}

	f.Fuzz(func(t *testing.T, method, target string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: bulwark.test\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server answers 400
		}
		if esc, _, _ := scan(r.URL); esc != r.URL.EscapedPath() {
			t.Fatalf("scan(%q): escaped path %q, EscapedPath %q", target, esc, r.URL.EscapedPath())
		}
		clean, reason, ok := checkClean(r)
		if !ok && clean != "" && (!sameSite(clean) || cleanPath(clean) != clean) {
			t.Fatalf("checkClean(%q) redirects to %q", target, clean)
		}
		for _, set := range []*Set{readme, wide} {
			res := set.Judge(r)
			if !ok && (res.Verdict != Reject || res.Reason != reason) {
				t.Fatalf("%s %q: not clean (%s) but judged %+v", method, target, reason, res)
			}
			if (res.Reason != "") != (res.Verdict == Reject) || res.Verdict > Match {
				t.Fatalf("%s %q: inconsistent %+v", method, target, res)
			}
			if res.Allowed() != (res.Verdict == Match) || res.Denied() != (res.Verdict != NoMatch) {
				t.Fatalf("%s %q: helpers disagree with %+v", method, target, res)
			}
			if res.Verdict != Match {
				continue
			}
			for _, p := range oraclePaths(r.URL.Path) {
				public := readmePublic(r.Method, p)
				if set == wide {
					public = refMatch(r, p)
				}
				if !public {
					t.Fatalf("%s %q judged %+v, but it may reach the protected path %q", method, target, res, p)
				}
			}
		}
	})
}
