package oidc_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bulwark-go/bulwark/identity/oidc"
)

// TestUnknownKeysCannotHammerTheProvider: the back-channel logout route
// is public, and takes a token anyone can sign. A token naming a key id
// the provider's set does not hold used to make the site fetch the set
// again, each time (go-oidc's remote key set has no cooldown): posting
// such tokens made the site a relay that hammers the provider's JWKS
// endpoint, until the provider throttles the site and real logins fail.
// Fetches for unknown keys are now at most one per
// oidc.KeyRefetchInterval, and the tokens are refused all the same.
func TestUnknownKeysCannotHammerTheProvider(t *testing.T) {
	s := newSite(t)
	if status, _, _ := s.loginAs(s.browser(), "test-user2", "/"); status != http.StatusOK {
		t.Fatalf("login: %d", status)
	}
	before := s.op.KeyRequests()
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged := func(i int) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": s.op.Issuer, "aud": s.op.ClientID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
			"jti": fmt.Sprint("forged-", i), "sub": "someone", "events": map[string]any{logoutEvent: map[string]any{}},
		})
		tok.Header["kid"] = fmt.Sprint("kid-", i)
		raw, err := tok.SignedString(foreign)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	const n = 20
	for i := range n {
		resp, err := http.PostForm(s.srv.URL+"/backchannel", url.Values{"logout_token": {forged(i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged token %d: %d, want 400", i, resp.StatusCode)
		}
	}
	if got := s.op.KeyRequests() - before; got > 1 {
		t.Errorf("%d tokens with unknown key ids made %d JWKS requests; want at most 1", n, got)
	}
	// Once the interval has passed, an unknown key is looked for again
	// (a key rotation is found), once.
	s.offset.Add(int64(oidc.KeyRefetchInterval + time.Second))
	before = s.op.KeyRequests()
	for i := range 3 {
		resp, err := http.PostForm(s.srv.URL+"/backchannel", url.Values{"logout_token": {forged(n + i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := s.op.KeyRequests() - before; got != 1 {
		t.Errorf("after the interval: %d JWKS requests for 3 unknown keys; want 1", got)
	}
}
