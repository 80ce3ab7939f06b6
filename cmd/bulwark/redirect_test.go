package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestDemoLoginNextRewrittenOffSiteIsRefused: a next that path cleaning
// turns into "/\evil.example…" (read by browsers as //evil.example) is
// refused, and the login lands on the default page (issue 14, item 1).
func TestDemoLoginNextRewrittenOffSiteIsRefused(t *testing.T) {
	base, _ := startDemo(t)
	for _, next := range testenv.RewrittenOffSite {
		resp := newClient(t, base).login("alice", "alice-password", next)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/account" {
			t.Errorf("next %q: %d to %q, want 303 to /account", next, resp.StatusCode, loc)
		}
	}
}

// TestDemoLoginWritesTheJudgedNext: through the demo's login, every row of
// the shared corpus that the judge accepts comes back in Location byte for
// byte, and every other row gives the default page.
func TestDemoLoginWritesTheJudgedNext(t *testing.T) {
	base, _ := startDemo(t)
	site, _ := url.Parse(base)
	for _, c := range testenv.OpenRedirectCases(t) {
		// The corpus's site is https://bulwark.test; ours is localhost:port
		// (absolute targets must still be https).
		next := strings.ReplaceAll(c.Next, "bulwark.test", site.Host)
		want := "/account"
		if c.Accepted() {
			want = next
		}
		resp := newClient(t, base).login("alice", "alice-password", next)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != want {
			t.Errorf("next %q (safe=%v): %d to %q, want 303 to %q", next, c.Safe, resp.StatusCode, loc, want)
		}
	}
}
