package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/internal/oidcop"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
)

// mfaSite is a site whose pages are behind the identity middleware and
// the real mfa gate with the TOTP verifier, asking enrolled users only;
// the provider's plain user is enrolled, its admin is not.
type mfaSite struct {
	*site
	clock  *testenv.Clock // the TOTP verifier's
	secret string
}

func newMFASite(t *testing.T, trust bool) *mfaSite {
	t.Helper()
	ms := &mfaSite{clock: testenv.NewClock(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))}
	ms.site = newSite(t, func(s *site, c *oidc.Config) {
		c.TrustProviderMFA = trust
		v, err := totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "Bulwark", Logger: s.log, Now: ms.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		gate, err := mfa.New(mfa.Config{Sessions: s.sm, Verifier: v, Required: v.Required, Logger: s.log})
		if err != nil {
			t.Fatal(err)
		}
		who, err := identity.New(identity.Config{Authenticators: []identity.Authenticator{s.sessions}, Logger: s.log})
		if err != nil {
			t.Fatal(err)
		}
		s.handler = who.Handler(gate.Handler(s.mux))
		s.mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
			if _, err := gate.Begin(w, r); err != nil {
				http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
				return
			}
			io.WriteString(w, "challenge form")
		})
		s.mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
			next, err := gate.Complete(w, r)
			if err != nil {
				http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
				return
			}
			identity.Redirect(w, r, next, http.StatusSeeOther)
		})
		// Enrol the plain user, whose id is the provider's (issuer,
		// subject), with a code of the step before the test's.
		key, err := v.Enroll(context.Background(), s.op.Issuer+"|"+oidcop.PlainSubject, "plain@bulwark.test")
		if err != nil {
			t.Fatal(err)
		}
		ms.secret = key.Secret()
		ms.clock.Add(-30 * time.Second)
		if err := v.Confirm(nil, s.op.Issuer+"|"+oidcop.PlainSubject, ms.code()); err != nil {
			t.Fatal(err)
		}
		ms.clock.Add(30 * time.Second)
	})
	return ms
}

func (ms *mfaSite) code() string {
	c, err := ptotp.GenerateCodeCustom(ms.secret, ms.clock.Now(), ptotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		ms.t.Fatal(err)
	}
	return c
}

// post sends a form with b and returns the status, body and final URL.
func (s *site) post(b *browser, u string, form url.Values) (int, string, *url.URL) {
	s.t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Request.URL
}

// A provider login of a user who must pass TOTP is sent to the challenge,
// reaches no protected page before passing it, passes with a real code
// and lands on "next". A provider that says it checked several factors
// (amr "mfa") is believed only with TrustProviderMFA; a user the
// application does not ask (not enrolled) is not asked after a provider
// login either.
func TestMFAAfterProviderLogin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trust   bool
		amr     []string // nil: the provider's own ("pwd")
		user    string   // "" for the plain user, who is enrolled
		challed bool
	}{
		{"enrolled user", false, nil, "", true},
		{"enrolled user, amr mfa, not trusted", false, []string{"pwd", "mfa"}, "", true},
		{"enrolled user, trusted, amr mfa", true, []string{"pwd", "mfa"}, "", false},
		{"enrolled user, trusted, no mfa in amr", true, []string{"pwd", "otp"}, "", true},
		{"enrolled user, trusted, the provider's own amr", true, nil, "", true},
		{"user not enrolled", false, nil, "admin", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := newMFASite(t, tc.trust)
			s := ms.site
			if tc.amr != nil {
				s.op.Tamper(func(c map[string]any) { c["amr"] = tc.amr })
			}
			username, subject := oidcop.PlainUsername, oidcop.PlainSubject
			if tc.user == "admin" {
				username, subject = s.op.AdminUsername(), oidcop.AdminSubject
			}
			page := "user=" + s.op.Issuer + "|" + subject + " staff="
			b := s.browser()
			status, body, at := s.loginAs(b, username, "/reports?q=1")
			if !tc.challed {
				if status != http.StatusOK || at.Path != "/reports" || !strings.HasPrefix(body, page) {
					t.Fatalf("after the provider: %d at %s %q; want the page, unchallenged", status, at, body)
				}
				return
			}
			if status != http.StatusOK || at.Path != "/mfa" || body != "challenge form" {
				t.Fatalf("after the provider: %d at %s %q; want the challenge", status, at, body)
			}
			if v := b.visitedPath("/reports"); v == nil || v.RawQuery != "q=1" {
				t.Errorf("the callback sent the browser to %v; want /reports?q=1", v)
			}
			wrong := "000000"
			if wrong == ms.code() {
				wrong = "111111"
			}
			if status, _, _ := s.post(b, s.srv.URL+"/mfa", url.Values{"code": {wrong}}); status != http.StatusForbidden {
				t.Errorf("a wrong code: %d; want 403", status)
			}
			// Every page leads to the challenge; the last one asked is
			// where the user lands after it.
			for _, p := range []string{"/account", "/methods", "/reports?q=1"} {
				if status, body, at := s.get(b, s.srv.URL+p); at.Path != "/mfa" || strings.HasPrefix(body, "user=") {
					t.Errorf("%s before the second factor: %d at %s %q; want the challenge", p, status, at, body)
				}
			}
			status, body, at = s.post(b, s.srv.URL+"/mfa", url.Values{"code": {ms.code()}})
			if status != http.StatusOK || at.Path != "/reports" || at.RawQuery != "q=1" || !strings.HasPrefix(body, page) {
				t.Fatalf("the right code: %d at %s %q; want the page \"next\" named", status, at, body)
			}
			if _, methods, _ := s.get(b, s.srv.URL+"/methods"); methods != "fed" {
				t.Errorf("login methods %q; want fed", methods)
			}
			if names := s.rec.Names(); !contains(names, "mfa.success") {
				t.Errorf("events %v; want mfa.success", names)
			}
		})
	}
}
