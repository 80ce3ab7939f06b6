package main

import (
	"testing"
)

// TestDemoLoginNextRewrittenOffSiteIsRefused: a next that path cleaning
// turns into "/\evil.example…" (read by browsers as //evil.example) is
// refused, and the login lands on the default page (issue 14, item 1).
func TestDemoLoginNextRewrittenOffSiteIsRefused(t *testing.T) {
	base, _ := startDemo(t)
	for _, next := range []string{
		`/./\evil.example/phish`,
		`/x/../\evil.example`,
		`a/../\evil.example`,
		`./\evil.example`,
		`/.//evil.example`,
	} {
		resp := newClient(t, base).login("alice", "alice-password", next)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/account" {
			t.Errorf("next %q: %d to %q, want 303 to /account", next, resp.StatusCode, loc)
		}
	}
}
