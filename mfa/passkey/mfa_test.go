package passkey_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/webauthntest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/passkey"
)

// enrolled is a site where alice and bob each have a passkey, on one
// authenticator, and alice is logged in with her password (the gate
// asks her for the passkey).
func enrolled(t *testing.T) (st *site, alice *browser, a *webauthntest.Authenticator, aliceCred, bobCred *webauthntest.Credential) {
	t.Helper()
	st = newSite(t, nil, nil)
	a = webauthntest.New()
	alice, bob := st.browser(), st.browser()
	alice.login("alice")
	bob.login("bob")
	aliceCred = alice.register(a)
	bobCred = bob.register(a)
	alice = st.browser()
	alice.login("alice")
	st.events.Take()
	return st, alice, a, aliceCred, bobCred
}

// TestSecondFactor: after a password login, the gate's challenge carries
// the passkey options (the user's passkeys allowed, the challenge derived
// from the gate's state); the posted assertion passes the gate.
func TestSecondFactor(t *testing.T) {
	st, alice, a, aliceCred, _ := enrolled(t)
	if got := alice.page(); !strings.HasPrefix(got, "303") {
		t.Fatalf("before the second factor: %q, want a redirect to the challenge", got)
	}
	opts := alice.mfaOptions()
	var o struct {
		PublicKey struct {
			Challenge        string `json:"challenge"`
			UserVerification string `json:"userVerification"`
			AllowCredentials []struct {
				ID string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.UserVerification != "preferred" ||
		len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != (passkey.Credential{ID: aliceCred.ID}).EncodedID() {
		t.Fatalf("options: %s (alice's passkey only)", opts)
	}
	// A new challenge, a new WebAuthn challenge.
	if again := alice.mfaOptions(); bytes.Equal(again, opts) {
		t.Fatal("two challenges, the same options")
	}
	opts = alice.mfaOptions()
	w := alice.postMFA(assertOK(t, a, opts))
	if w.Code != 303 {
		t.Fatalf("POST /mfa: %d %s (%q)", w.Code, w.Body, st.refused())
	}
	if got := alice.page(); got != "page for alice" {
		t.Fatalf("after the second factor: %q", got)
	}
	if got, _, _ := st.store.Get(t.Context(), aliceCred.ID); got.SignCount != 2 || !got.LastUsedAt.Equal(st.clock.Now()) {
		t.Fatalf("write-back: %+v", got)
	}
}

// TestSecondFactorJSON: the page may post the assertion as JSON too.
func TestSecondFactorJSON(t *testing.T) {
	_, alice, a, _, _ := enrolled(t)
	if w := alice.do("POST", "/mfa", assertOK(t, a, alice.mfaOptions())); w.Code != 303 {
		t.Fatalf("POST /mfa as JSON: %d %s", w.Code, w.Body)
	}
}

// TestSecondFactorRefusals: each refusal of the second factor has a row;
// the gate keeps asking.
func TestSecondFactorRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		post   func(st *site, b *browser, a *webauthntest.Authenticator, bobCred *webauthntest.Credential) int
		reason string // "" when the gate refuses before the verifier
	}{
		{"another user's credential", func(st *site, b *browser, a *webauthntest.Authenticator, bobCred *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: origin, Credential: bobCred.ID})
			return b.postMFA(raw).Code
		}, "wrong_user"},
		{"replayed assertion, new challenge", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			old := assertOK(st.t, a, b.mfaOptions())
			b.mfaOptions() // the gate begins again: a new state
			return b.postMFA(old).Code
		}, "wrong_challenge"},
		{"wrong origin", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: "https://evil.example"})
			return b.postMFA(raw).Code
		}, "wrong_origin"},
		{"wrong RP", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: origin, RPID: "evil.example"})
			return b.postMFA(raw).Code
		}, "wrong_rp"},
		{"bad signature", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: origin, BadSignature: true})
			return b.postMFA(raw).Code
		}, "bad_signature"},
		{"unknown credential", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			other := webauthntest.New()
			other.Register(st.registrationOptions(), origin)
			raw, _ := other.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: origin, Credential: other.Credentials()[0].ID})
			return b.postMFA(raw).Code
		}, "unknown_credential"},
		{"counter regression", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptions(), webauthntest.Assertion{Origin: origin, SignCount: ptr(uint32(1))})
			return b.postMFA(raw).Code
		}, "clone_suspected"},
		{"malformed JSON", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			b.mfaOptions()
			return b.postMFA([]byte(`{"id":"x","response":`)).Code
		}, "malformed"},
		{"no field", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			b.mfaOptions()
			return b.do("POST", "/mfa", []byte("code=123456"), "application/x-www-form-urlencoded").Code
		}, "malformed"},
		{"oversize body", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			b.mfaOptions()
			big := url.Values{passkey.Field: {strings.Repeat("a", passkey.MaxBodyBytes)}}.Encode()
			// The gate reads the form first, bounded by mfa.MaxAnswerBytes:
			// it refuses the body (mfa.failure, oversize) before the verifier.
			return b.do("POST", "/mfa", []byte(big), "application/x-www-form-urlencoded").Code
		}, ""},
		{"expired challenge", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			opts := b.mfaOptions()
			st.clock.Add(mfa.DefaultChallengeTTL + time.Second)
			return b.postMFA(assertOK(st.t, a, opts)).Code
		}, ""},
		{"no challenge", func(st *site, b *browser, a *webauthntest.Authenticator, _ *webauthntest.Credential) int {
			raw, _ := a.Assert(b.mfaOptionsOf(st), webauthntest.Assertion{Origin: origin})
			return b.postMFA(raw).Code
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, alice, a, _, bobCred := enrolled(t)
			if code := tc.post(st, alice, a, bobCred); code != 403 {
				t.Fatalf("status %d, want 403", code)
			}
			var want []string
			if tc.reason != "" {
				want = []string{tc.reason}
			}
			if got := st.refused(); !slices.Equal(got, want) {
				t.Fatalf("refusals %q, want %q", got, want)
			}
			if got := alice.page(); !strings.HasPrefix(got, "303") {
				t.Fatalf("after a refusal: %q", got)
			}
		})
	}
}

// mfaOptionsOf answers the options of a challenge begun by another
// browser of alice's: an assertion over them is no answer to this
// browser's (absent) challenge.
func (b *browser) mfaOptionsOf(st *site) []byte {
	other := st.browser()
	other.login("alice")
	return other.mfaOptions()
}

// TestSecondFactorReplayAfterSuccess: the assertion that passed is
// refused when posted again (the gate forgot the challenge), and, in a
// new challenge of a new login, by its challenge.
func TestSecondFactorReplayAfterSuccess(t *testing.T) {
	st, alice, a, _, _ := enrolled(t)
	as := assertOK(t, a, alice.mfaOptions())
	if w := alice.postMFA(as); w.Code != 303 {
		t.Fatalf("first use: %d", w.Code)
	}
	st.events.Take()
	if w := alice.postMFA(as); w.Code != 403 {
		t.Fatalf("posted again: %d", w.Code)
	}
	if n := st.events.Named("mfa.state_mismatch"); len(n) != 1 {
		t.Fatalf("events: %v", st.events.Names())
	}
	st.events.Take()
	mallory := st.browser()
	mallory.login("alice") // a stolen password
	mallory.mfaOptions()
	if w := mallory.postMFA(as); w.Code != 403 {
		t.Fatalf("replayed in a new login: %d", w.Code)
	}
	if got := st.refused(); !slices.Equal(got, []string{"wrong_challenge"}) {
		t.Fatalf("refusals %q", got)
	}
}

// TestSecondFactorUVNotRequired: as a second factor, a passkey need not
// verify the user (the password was the first factor).
func TestSecondFactorUVNotRequired(t *testing.T) {
	_, alice, a, _, _ := enrolled(t)
	raw, err := a.Assert(alice.mfaOptions(), webauthntest.Assertion{Origin: origin, NoUserVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	if w := alice.postMFA(raw); w.Code != 303 {
		t.Fatalf("without UV: %d %s", w.Code, w.Body)
	}
}

// TestNotEnrolled: a user without a passkey is not asked (Required), and
// the verifier's Begin says ErrNotEnrolled.
func TestNotEnrolled(t *testing.T) {
	st := newSite(t, nil, nil)
	b := st.browser()
	b.login("alice")
	if got := b.page(); got != "page for alice" {
		t.Fatalf("a user without a passkey: %q", got)
	}
	if _, err := st.pk.Verifier().Begin(t.Context(), "alice", "state"); err == nil || !strings.Contains(err.Error(), mfa.ErrNotEnrolled.Error()) {
		t.Fatalf("Begin: %v", err)
	}
}
