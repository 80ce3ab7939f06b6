package mfa_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
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

// TestAnswerBodyBounded: the gate reads the answer's form (for
// mfa.MethodField) before any verifier does, so it bounds it: an answer
// larger than mfa.MaxAnswerBytes is refused unread (mfa.failure, reason
// oversize), not parsed up to net/http's 10 MB, and reaches no verifier.
func TestAnswerBodyBounded(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	st.login("alice")
	st.do("GET", "/mfa", "")
	st.events.Take()
	w := st.do("POST", "/mfa", "answer=ok&pad="+strings.Repeat("a", mfa.MaxAnswerBytes))
	if w.Code != 403 {
		t.Fatalf("an oversize answer: %d %q, want 403", w.Code, w.Body)
	}
	if ev := st.events.Named("mfa.failure"); len(ev) != 1 || ev[0].Field("reason") != "oversize" {
		t.Fatalf("events %v, want one mfa.failure with reason oversize", st.names())
	}
	if s := st.status(); s.State != mfa.Pending {
		t.Errorf("after an oversize answer: %+v, want the challenge still pending", s)
	}
	if w := st.do("POST", "/mfa", "answer=ok"); w.Code != 303 {
		t.Errorf("the answer after: %d", w.Code)
	}
}

// TestSubresourceKeepsTheChallenge: while a challenge is pending, the
// browser fetches the page's favicon (and its images, styles, scripts).
// Redirecting such a request to the challenge page made the browser GET
// it, and a page that begins a challenge on GET began a new one, so the
// answer to the one on screen (a passkey's assertion, made for its
// state) was refused. A subresource gets a plain refusal: no redirect,
// and the challenge on screen stays the one to answer.
func TestSubresourceKeepsTheChallenge(t *testing.T) {
	v := &fakeVerifier{}
	st := newSite(t, v, nil)
	st.login("alice")
	st.do("GET", "/mfa", "")
	for _, dest := range []string{"image", "style", "script", "font"} {
		w := st.do("GET", "/favicon.ico", "", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", dest)
		if w.Code == 303 || w.Header().Get("Location") != "" {
			t.Errorf("a %s while the challenge is pending: %d to %q, want a plain refusal", dest, w.Code, w.Header().Get("Location"))
		}
	}
	// A page navigation is still sent to the challenge.
	expect(t, "a navigation", st.do("GET", "/other", "", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"), 303, "/mfa")
	if len(v.states) != 1 {
		t.Fatalf("%d challenges begun, want the one on screen only", len(v.states))
	}
	if w := st.do("POST", "/mfa", "answer=ok&state="+url.QueryEscape(v.states[0])); w.Code != 303 {
		t.Errorf("the answer to the challenge on screen: %d %q", w.Code, w.Body)
	}
}

// TestSetNextNeedsTheUsersSession: SetNext keeps a return path only in a
// session logged in as its user: not for an anonymous session, and not
// (without a panic) for a request whose session was never loaded.
func TestSetNextNeedsTheUsersSession(t *testing.T) {
	st := newSite(t, &fakeVerifier{}, nil)
	anonymous := st.reqWithCookie("/")
	if st.gate.SetNext(anonymous, "/account") {
		t.Error("SetNext kept a path for an anonymous session")
	}
	if st.gate.SetNext(httptest.NewRequest("GET", "/", nil), "/account") {
		t.Error("SetNext kept a path without a loaded session")
	}
	st.login("alice")
	if !st.gate.SetNext(st.reqWithCookie("/"), "/account") {
		t.Error("SetNext refused a path for alice's session")
	}
	if st.gate.SetNext(st.reqWithCookie("/"), "/mfa?x=1") {
		t.Error("SetNext kept the challenge page (with a query) as the return path")
	}
}
