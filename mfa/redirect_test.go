package mfa_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
)

// TestReturnPathRewrittenOffSiteIsNeverKept: a return path that a later
// step would rewrite is refused by SetNext, and neither Complete nor the
// fail-open bypass sends the user to it: both give the default landing
// page.
func TestReturnPathRewrittenOffSiteIsNeverKept(t *testing.T) {
	for _, next := range testenv.RewrittenOffSite {
		t.Run("Complete "+next, func(t *testing.T) {
			st := newSite(t, &fakeVerifier{}, func(c *mfa.Config) { c.NextHosts = []string{"bulwark.test"} })
			w := st.do("POST", "/login?"+url.Values{"u": {"alice"}, "next": {next}}.Encode(), "")
			if !strings.Contains(w.Body.String(), "next refused") {
				t.Errorf("SetNext(%q) kept it", next)
			}
			if loc := st.verify().Header().Get("Location"); loc != "/" {
				t.Errorf("Complete sent to %q, want the default /", loc)
			}
		})
		t.Run("bypass "+next, func(t *testing.T) {
			st := newSite(t, &fakeVerifier{health: errProvider}, func(c *mfa.Config) { c.FailMode = mfa.Open })
			st.do("POST", "/login?"+url.Values{"u": {"alice"}, "next": {next}}.Encode(), "")
			w := st.do("GET", "/mfa", "")
			if w.Code != 303 || w.Header().Get("Location") != "/" {
				t.Errorf("fail-open bypass: %d to %q, want 303 to the default /", w.Code, w.Header().Get("Location"))
			}
		})
	}
}
