package identity

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// generatedTargets returns a few thousand redirect targets, the same on
// every run: prefixes, hosts and suffixes in every combination (dot
// segments, slashes and backslashes in every mix, percent-encodings, tabs
// and newlines, userinfo, IDN, schemes), then random strings of the same
// pieces.
func generatedTargets() []string {
	prefixes := []string{
		"", "/", "//", "///", `\`, `/\`, `\/`, `\\`, `/\/`, "./", "../", "/./", "/../", "/x/../", "a/../", ".", "..",
		"./\\", "/./\\", "/x/..\\", "/%2e/", "/%2e%2e/", "%2e%2e/", "/.%2E/", "/%2F", "%2F%2F", "/%5C", "/%09/",
		"/\t/", "\t//", "/\n/", "\r\n//", " //", "\x00//", "https:", "https:/", "https://", `https:\\`, "HTTPS://",
		"https:///", "http://", "http:", "javascript:", "jav\tascript:", "data:,", "ftp://", "//bulwark.test/",
		"https://bulwark.test/", "https://bulwark.test/../", "https://bulwark.test/.\\", "/https://", "?", "#",
	}
	hosts := []string{
		"evil.example", "bulwark.test", "bulwark.test.", "BULWARK.TEST", "bulwark.test:443", "bulwark.test:8443",
		"bulwark.test@evil.example", "evil.example@bulwark.test", `evil.example\@bulwark.test`, "u:p@bulwark.test",
		"b\u00fclwark.test", "xn--blwark-zxa.test", "bulwark\u3002test", "bulw%61rk.test", "127.0.0.1:1", "[::1]",
		"0x7f.1", "\uff0fevil.example",
	}
	suffixes := []string{"", "/", "/phish", "?x=1", "#y", `\x`, "/..", "/../x", "/%2e%2e/x", "?next=//evil.example", "/caf\u00e9"}
	var out []string
	for _, p := range prefixes {
		for _, h := range hosts {
			for _, s := range suffixes {
				out = append(out, p+h+s)
			}
		}
	}
	pieces := []string{
		"/", "/", "/", `\`, `\`, ".", ".", "..", "%2e", "%2E", "%2f", "%5c", "%", "%25", ":", "@", "?", "#", " ", "\t",
		"\n", "\x01", "a", "x", "https:", "http:", "//", "evil.example", "bulwark.test", "\u00e9", "\u3002", "\uff0f",
	}
	rng := rand.New(rand.NewPCG(14, 1))
	for range 3000 {
		var b strings.Builder
		for range 1 + rng.IntN(9) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		out = append(out, b.String())
	}
	return out
}

// chromiumOrigins returns new URL(ref, base).origin for each ref, as
// Chromium computes it, or "error" when Chromium cannot parse the
// reference. The references go in one array per evaluation.
func chromiumOrigins(t *testing.T, ctx context.Context, base string, refs []string) map[string]string {
	t.Helper()
	got := make(map[string]string, len(refs))
	const batch = 4000
	for i := 0; i < len(refs); i += batch {
		chunk := refs[i:min(i+batch, len(refs))]
		js, err := json.Marshal(chunk)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(base)
		origins, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`(() => { const base = `+string(b)+`; return `+string(js)+`.map(s => { try { return new URL(s, base).origin } catch (e) { return "error" } }) })()`))
		if err != nil {
			t.Fatal(err)
		}
		if len(origins) != len(chunk) {
			t.Fatalf("Chromium answered %d origins for %d references", len(origins), len(chunk))
		}
		for j, o := range origins {
			got[chunk[j]] = o
		}
	}
	return got
}

// TestBrowserOriginOfJudgedTargets uses Chromium as the oracle of the
// WHATWG URL rules: every target the judge accepts, written by Redirect,
// resolves in Chromium to the site's origin; and where the model of the
// fuzz targets (browserOrigin) says a reference stays on the site,
// Chromium agrees.
func TestBrowserOriginOfJudgedTargets(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{Timeout: 90 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	targets := generatedTargets()
	for _, c := range testenv.OpenRedirectCases(t) {
		targets = append(targets, c.Next)
	}
	locations := map[string]string{} // accepted target → Location written
	var refs []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			refs = append(refs, s)
		}
	}
	for _, s := range targets {
		w := follow(s)
		loc := w.Header().Get("Location")
		if SafeNext(s, []string{"bulwark.test"}, true) {
			locations[s] = loc
			add(loc)
		}
		if utf8.ValidString(s) {
			add(s)
		} else if _, ok := locations[s]; ok {
			t.Errorf("accepted %q: invalid UTF-8", s)
		}
	}
	origins := chromiumOrigins(t, ctx, site+"/login", refs)

	for s, loc := range locations {
		if o := origins[loc]; o != site {
			t.Errorf("accepted %q, written as Location %q: Chromium goes to %q", s, loc, o)
		}
	}
	modelSame := 0
	for _, s := range refs {
		if browserOrigin(s) == site {
			modelSame++
			if o := origins[s]; o != site {
				t.Errorf("browserOrigin(%q) is the site, Chromium says %q: the fuzz targets' model is wrong", s, o)
			}
		}
	}
	t.Logf("%d targets (%d distinct references): %d accepted, %d on the site by the model", len(targets), len(refs), len(locations), modelSame)
	if len(targets) < 3000 || len(locations) < 100 {
		t.Errorf("%d targets, %d accepted: the generator lost its reach", len(targets), len(locations))
	}
}

// TestBrowserFollowsJudgedRedirectOnSite follows real redirects in
// Chromium: a GET whose next the judge accepted, written by Redirect,
// lands on the site; a refused one lands on the default page. The
// controls show that the test can fail: the same next through
// http.Redirect, and a raw "Location: /\host", take Chromium to the other
// origin.
func TestBrowserFollowsJudgedRedirectOnSite(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{Timeout: 90 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><title>"+name+"</title>")
		}
	}
	evil := httptest.NewServer(page("evil"))
	defer evil.Close()
	// A switch, not a ServeMux: the mux would clean the paths the test
	// lands on ("/a//b" is redirected to "/a/b").
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := r.URL.Query().Get("next")
		switch r.URL.Path {
		case "/go":
			target := "/home"
			if SafeNext(next, []string{r.Host}, false) {
				target = next
			}
			Redirect(w, r, target, http.StatusSeeOther)
		case "/std":
			http.Redirect(w, r, next, http.StatusSeeOther)
		case "/raw":
			w.Header().Set("Location", next)
			w.WriteHeader(http.StatusSeeOther)
		default:
			page("site")(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	siteURL, _ := url.Parse(srv.URL)
	evilHost := strings.TrimPrefix(evil.URL, "http://")

	for _, tc := range []struct {
		route, next, wantOrigin, wantPath string
	}{
		{"/go", `/./\` + evilHost + "/phish", srv.URL, "/home"},
		{"/go", `/x/../\` + evilHost, srv.URL, "/home"},
		{"/go", `./\` + evilHost, srv.URL, "/home"},
		{"/go", "/.//" + evilHost, srv.URL, "/home"},
		{"/go", "//" + evilHost, srv.URL, "/home"},
		{"/go", "/landing?x=1", srv.URL, "/landing"},
		{"/go", "landing", srv.URL, "/landing"},
		{"/go", "/%2F%2F" + evilHost, srv.URL, "/%2F%2F" + evilHost},
		{"/go", "/a//" + evilHost, srv.URL, "/a//" + evilHost},
		{"/go", "http://" + siteURL.Host + "/ok", srv.URL, "/ok"},
		{"/go", "/caf\u00e9", srv.URL, "/caf%C3%A9"},
		// Controls: what the judge refuses does leave the site.
		{"/std", `/./\` + evilHost + "/phish", evil.URL, "/phish"},
		{"/raw", `/\` + evilHost + "/phish", evil.URL, "/phish"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tc.route+"?"+url.Values{"next": {tc.next}}.Encode())); err != nil {
			t.Fatalf("%s %q: %v", tc.route, tc.next, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[location.origin, location.pathname]`))
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != tc.wantOrigin || got[1] != tc.wantPath {
			t.Errorf("%s?next=%q: Chromium is at %s%s, want %s%s", tc.route, tc.next, got[0], got[1], tc.wantOrigin, tc.wantPath)
		}
	}
}
