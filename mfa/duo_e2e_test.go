package mfa_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/duo"
	"github.com/bulwark-go/bulwark/mfa/internal/duostandin"
)

// newDuo returns a Duo verifier whose redirect URI is /mfa/callback, and
// the stand-in of Duo it talks to.
func newDuo(t *testing.T) (*duo.Verifier, *duostandin.Server) {
	t.Helper()
	const id, secret = "DIXXXXXXXXXXXXXXXXXX", "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
	s := duostandin.New(t, id, secret)
	v, err := duo.New(duo.Config{ClientID: id, ClientSecret: secret, APIHost: s.Host(),
		RedirectURI: "https://app.bulwark.test/mfa/callback", HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return v, s
}

func newDuoSite(t *testing.T, mode mfa.FailMode) (*site, *duostandin.Server) {
	t.Helper()
	v, s := newDuo(t)
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

// TestDuoCallbackAfterSwitch: alice switches to Duo, approves there, but
// switches back to TOTP before Duo's callback arrives (a second tab, a
// slow redirect). The callback is no answer to a TOTP challenge: it is
// refused as another method's answer without reaching the TOTP verifier
// (which counted it as a wrong code, one attempt of her throttle), and
// her code still passes.
func TestDuoCallbackAfterSwitch(t *testing.T) {
	dv, duoSrv := newDuo(t)
	ts := newTOTPSite(t, func(c *mfa.Config) {
		c.Verifiers = append(c.Verifiers, dv)
		c.CallbackURL = "/mfa/callback"
	})
	ts.login("alice")
	ts.do("GET", "/account", "")
	w := ts.do("GET", "/mfa?method=duo", "")
	if w.Code != 303 {
		t.Fatalf("switch to Duo: %d", w.Code)
	}
	cb, err := url.Parse(duoSrv.Approve(t, w.Header().Get("Location")))
	if err != nil {
		t.Fatal(err)
	}
	ts.begin("totp", 200, "totp", "duo")
	ts.mfaEvents()
	expect(t, "Duo's callback for a TOTP challenge", ts.do("GET", cb.RequestURI(), ""), 403, "")
	if ev := ts.mfaEvents(); !slices.Equal(ev, []string{"mfa.state_mismatch totp other_method"}) {
		t.Errorf("events %q, want the callback refused as another method's answer", ev)
	}
	if s := ts.status(); s.State != mfa.Pending || s.Method != "totp" {
		t.Fatalf("status %+v, want the TOTP challenge still pending", s)
	}
	expect(t, "her code", ts.do("POST", "/mfa", codeForm(ts.code())), 303, "/account")
}

// TestTOTPAndDuo: the real verifiers side by side. Alice has TOTP (which
// can tell) and Duo (which cannot): her challenge begins with TOTP and
// offers Duo. She switches to Duo; a TOTP code sent then reaches Duo's
// verifier only (refused, and not used up: it passes once she switches
// back). A step-up later passes through Duo's prompt. While Duo is down,
// choosing Duo in fail mode Open begins TOTP, never a bypass.
func TestTOTPAndDuo(t *testing.T) {
	dv, duoSrv := newDuo(t)
	ts := newTOTPSite(t, func(c *mfa.Config) {
		c.Verifiers = append(c.Verifiers, dv)
		c.CallbackURL = "/mfa/callback"
		c.FailMode = mfa.Open
	})
	switchToDuo := func() string {
		t.Helper()
		w := ts.do("GET", "/mfa?method=duo", "")
		authURL := w.Header().Get("Location")
		if w.Code != 303 || !strings.HasPrefix(authURL, "https://"+duoSrv.Host()+"/oauth/v1/authorize?") || w.Header().Get("Mfa-Alternatives") != "totp" {
			t.Fatalf("switch to Duo: %d %q %v", w.Code, authURL, w.Header())
		}
		return authURL
	}
	ts.login("alice")
	ts.do("GET", "/account", "")
	ts.begin("", 200, "totp", "duo")
	code := ts.code()
	switchToDuo()
	if s := ts.status(); s.State != mfa.Pending || s.Method != "duo" {
		t.Fatalf("status %+v, want a pending Duo challenge", s)
	}
	ts.mfaEvents()
	expect(t, "a TOTP code for the Duo challenge", ts.do("POST", "/mfa", codeForm(code)), 403, "")
	if ev := ts.mfaEvents(); len(ev) != 1 || !strings.HasPrefix(ev[0], "mfa.state_mismatch duo") {
		t.Errorf("events %q, want Duo's refusal", ev)
	}
	ts.begin("totp", 200, "totp", "duo")
	expect(t, "the same code, for TOTP", ts.do("POST", "/mfa", codeForm(code)), 303, "/account")

	// Step-up through Duo's prompt.
	ts.clock.Add(5 * time.Minute)
	expect(t, "step-up", ts.do("GET", "/settings", ""), 303, "/mfa")
	ts.begin("", 200, "totp", "duo")
	cb, err := url.Parse(duoSrv.Approve(t, switchToDuo()))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "Duo's callback", ts.do("GET", cb.RequestURI(), ""), 303, "/settings")
	if s := ts.status(); s.State != mfa.Verified || s.Method != "duo" {
		t.Fatalf("status %+v, want verified by Duo", s)
	}
	expect(t, "recent", ts.do("GET", "/settings", ""), 200, "")

	// Duo down, fail mode Open: choosing Duo begins TOTP, no bypass.
	duoSrv.Set(func(s *duostandin.Server) { s.Health = "FAIL" })
	ts.clock.Add(5 * time.Minute) // past the step-up and the health cache
	ts.mfaEvents()
	ts.begin("duo", 200, "totp", "duo")
	if ev := ts.mfaEvents(); !slices.Equal(ev, []string{"mfa.unavailable duo", "mfa.challenge totp"}) {
		t.Errorf("events %q", ev)
	}
	expect(t, "the TOTP challenge that began", ts.do("POST", "/mfa", codeForm(ts.code())), 303, "/")
}
