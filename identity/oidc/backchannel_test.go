package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bulwark-go/bulwark/identity/oidc"
)

const logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// The provider's logout token ends the user's sessions once; every token
// that fails a check is a 400 and an oidc.logout_token_refused event,
// and ends nothing.
func TestBackChannel(t *testing.T) {
	var mu sync.Mutex
	var ended []string
	failing := false
	s := newSite(t, func(_ *site, c *oidc.Config) {
		c.BackChannelLogout = func(_ context.Context, iss, sub, sid string) error {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return errors.New("the store is down")
			}
			ended = append(ended, iss+"|"+sub+"|"+sid)
			return nil
		}
	})
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(change func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": s.op.Issuer, "aud": s.op.ClientID, "sub": "id2", "sid": "op-session-1",
			"iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
			"jti": rand.Text(), "events": map[string]any{logoutEvent: map[string]any{}},
		}
		if change != nil {
			change(c)
		}
		return c
	}
	signed := func(change func(map[string]any)) string { return s.op.Sign(t, claims(change)) }
	replayed := signed(nil)
	post := func(tok string) int {
		t.Helper()
		resp, err := http.PostForm(s.srv.URL+"/backchannel", url.Values{"logout_token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q; want no-store", resp.Header.Get("Cache-Control"))
		}
		return resp.StatusCode
	}
	if got := post(replayed); got != http.StatusOK {
		t.Fatalf("a good logout token: %d; want 200", got)
	}
	if want := s.op.Issuer + "|id2|op-session-1"; len(ended) != 1 || ended[0] != want {
		t.Fatalf("ended %v; want [%s]", ended, want)
	}
	if ev := s.rec.Named("oidc.backchannel_logout"); len(ev) != 1 || ev[0].Field("subject") != "id2" {
		t.Errorf("oidc.backchannel_logout events %+v; want one for id2", ev)
	}
	for _, tc := range []struct {
		name, token, wantReason string
		arrange                 func()
	}{
		{"replayed jti", replayed, "replayed", nil},
		{"no token", "", "no_token", nil},
		{"an ID token (nonce, no event)", signed(func(c map[string]any) { c["nonce"] = "n"; delete(c, "events") }), "bad_token", nil},
		{"nonce", signed(func(c map[string]any) { c["nonce"] = "n" }), "bad_token", nil},
		{"no logout event", signed(func(c map[string]any) { c["events"] = map[string]any{"other": map[string]any{}} }), "bad_token", nil},
		{"no jti", signed(func(c map[string]any) { delete(c, "jti") }), "bad_token", nil},
		{"neither sub nor sid", signed(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") }), "bad_token", nil},
		{"wrong audience", signed(func(c map[string]any) { c["aud"] = "another-client" }), "bad_token", nil},
		{"wrong issuer", signed(func(c map[string]any) { c["iss"] = "https://evil.example" }), "bad_token", nil},
		{"expired", signed(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), "bad_token", nil},
		{"unknown kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims(nil)))
			tok.Header["kid"] = "unknown-kid"
			raw, err := tok.SignedString(foreign)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}(), "bad_token", nil},
		{"the application fails", signed(nil), "logout_failed", func() { mu.Lock(); failing = true; mu.Unlock() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.arrange != nil {
				tc.arrange()
			}
			s.rec.Take()
			n := len(ended)
			if got := post(tc.token); got != http.StatusBadRequest {
				t.Errorf("got %d; want 400", got)
			}
			if ev := s.rec.Named("oidc.logout_token_refused"); len(ev) != 1 || ev[0].Field("reason") != tc.wantReason {
				t.Errorf("events %+v; want one oidc.logout_token_refused, reason %s", ev, tc.wantReason)
			}
			if len(ended) != n && tc.wantReason != "logout_failed" {
				t.Errorf("sessions ended: %v", ended[n:])
			}
		})
	}
}

func TestBackChannelMethodAndConfig(t *testing.T) {
	s := newSite(t, func(_ *site, c *oidc.Config) {
		c.BackChannelLogout = func(context.Context, string, string, string) error { return nil }
	})
	resp, err := http.Get(s.srv.URL + "/backchannel")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d; want 405", resp.StatusCode)
	}
	// Without BackChannelLogout the default serves, on a store that can
	// list its sessions (scs's memstore here): a bad token is a 400.
	unset := newSite(t)
	resp, err = http.Post(unset.srv.URL+"/backchannel", "application/x-www-form-urlencoded", strings.NewReader("logout_token=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("without BackChannelLogout: %d; want 400", resp.StatusCode)
	}
}
