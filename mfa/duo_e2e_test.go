package mfa_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/duo"
	"github.com/bulwark-go/bulwark/mfa/internal/duostandin"
)

func newDuoSite(t *testing.T, mode mfa.FailMode) (*site, *duostandin.Server) {
	t.Helper()
	const id, secret = "DIXXXXXXXXXXXXXXXXXX", "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
	s := duostandin.New(t, id, secret)
	v, err := duo.New(duo.Config{ClientID: id, ClientSecret: secret, APIHost: s.Host(),
		RedirectURI: "https://app.bulwark.test/mfa/callback", HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	st := newSite(t, v, func(c *mfa.Config) { c.CallbackURL = "/mfa/callback"; c.FailMode = mode })
	return st, s
}

// TestDuoEndToEnd: the gate sends alice to the (stand-in) Universal
// Prompt, she approves, the callback completes the challenge and she is
// back on her page with a renewed token; the replayed callback is refused.
func TestDuoEndToEnd(t *testing.T) {
	st, duoSrv := newDuoSite(t, mfa.Closed)
	st.login("alice")
	expect(t, "page", st.do("GET", "/account", ""), 303, "/mfa")
	w := st.do("GET", "/mfa", "")
	authURL := w.Header().Get("Location")
	if w.Code != 303 || !strings.HasPrefix(authURL, "https://"+duoSrv.Host()+"/oauth/v1/authorize?") {
		t.Fatalf("Begin: %d %q", w.Code, authURL)
	}
	cb, err := url.Parse(duoSrv.Approve(t, authURL))
	if err != nil {
		t.Fatal(err)
	}
	before := st.cookie.Value
	expect(t, "callback", st.do("GET", cb.RequestURI(), ""), 303, "/account")
	if st.cookie.Value == before {
		t.Error("token not renewed")
	}
	hasEvent(t, st.names(), "mfa.challenge", "mfa.success")
	expect(t, "free", st.do("GET", "/account", ""), 200, "")
	expect(t, "replayed callback", st.do("GET", cb.RequestURI(), ""), 403, "")
	hasEvent(t, st.names(), "mfa.state_mismatch")
}

// TestDuoHealthFails: Duo's health check fails; Closed answers 503, Open
// lets alice in with a Warn event.
func TestDuoHealthFails(t *testing.T) {
	st, duoSrv := newDuoSite(t, mfa.Closed)
	duoSrv.Set(func(s *duostandin.Server) { s.Health = "FAIL" })
	st.login("alice")
	expect(t, "closed", st.do("GET", "/mfa", ""), 503, "")
	hasEvent(t, st.names(), "mfa.unavailable")

	st, duoSrv = newDuoSite(t, mfa.Open)
	duoSrv.Set(func(s *duostandin.Server) { s.Health = "500" })
	st.login("alice")
	st.do("GET", "/account", "")
	expect(t, "open", st.do("GET", "/mfa", ""), 303, "/account")
	hasEvent(t, st.names(), "mfa.bypassed")
	expect(t, "in", st.do("GET", "/account", ""), 200, "")
}
