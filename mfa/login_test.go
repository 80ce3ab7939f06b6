package mfa_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/mfa"
)

// TestMultiFactorLoginPassesTheGate: a login that checked several factors
// itself (identity.MethodMFA, as a passkey login with user verification
// records it) is not asked for a second factor; its login time counts for
// step-up routes, which ask again once it is too old. A password login or
// a provider login that did not vouch for several factors is asked.
func TestMultiFactorLoginPassesTheGate(t *testing.T) {
	for _, tc := range []struct {
		name, methods string
		passes        bool
	}{
		{"a passkey with user verification", "hwk,mfa", true},
		{"a provider that did its own second factor, trusted", "fed,mfa", true},
		{"a password", "", false},
		{"a provider", "fed", false},
		{"a passkey without user verification", "hwk", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newSite(t, &fakeVerifier{}, nil)
			if w := st.do("POST", "/login?u=alice&m="+url.QueryEscape(tc.methods), ""); w.Code != 200 {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			w := st.do("GET", "/page", "")
			if !tc.passes {
				expect(t, "page", w, 303, "/mfa")
				if s := st.status(); s.State == mfa.Verified {
					t.Errorf("Status %+v", s)
				}
				return
			}
			if w.Code != 200 || w.Body.String() != "page for alice" {
				t.Fatalf("page: %d %q", w.Code, w.Body)
			}
			if s := st.status(); s.State != mfa.Verified || s.Method != mfa.MethodLogin || !s.At.Equal(st.clock.Now()) {
				t.Errorf("Status %+v, want verified by %q at the login time", s, mfa.MethodLogin)
			}
			if w := st.do("GET", "/settings", ""); w.Code != 200 {
				t.Errorf("step-up right after login: %d", w.Code)
			}
			st.clock.Add(6 * time.Minute)
			expect(t, "step-up once the login is old", st.do("GET", "/settings", ""), 303, "/mfa")
			st.verify()
			if w := st.do("GET", "/settings", ""); w.Code != 200 {
				t.Errorf("step-up after the factor: %d", w.Code)
			}
			if s := st.status(); s.Method != "fake" {
				t.Errorf("Status after step-up %+v, want the verifier's method", s)
			}
		})
	}
}

// TestVerifierNamedLogin: a verifier may not take the gate's name for a
// multi-factor login.
func TestVerifierNamedLogin(t *testing.T) {
	_, err := mfa.New(mfa.Config{Sessions: newSite(t, &fakeVerifier{}, nil).sm, Verifiers: []mfa.Verifier{namedVerifier{&fakeVerifier{}, mfa.MethodLogin}}})
	if err == nil {
		t.Fatal("a verifier named login was accepted")
	}
}

type namedVerifier struct {
	*fakeVerifier
	name string
}

func (n namedVerifier) Method() string { return n.name }

// TestBeginCarriesOptions: the options a verifier gives for a ceremony in
// the browser (a passkey's) reach the challenge page through Start.
func TestBeginCarriesOptions(t *testing.T) {
	st := newSite(t, &fakeVerifier{options: `{"challenge":"c"}`}, nil)
	st.login("alice")
	w := st.do("GET", "/mfa", "")
	if w.Code != 200 || w.Body.String() != `challenge form{"challenge":"c"}` {
		t.Fatalf("GET /mfa: %d %q", w.Code, w.Body)
	}
}
