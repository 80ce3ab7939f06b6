package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestKeySet: what costs a fetch of the provider's keys and what does not.
func TestKeySet(t *testing.T) {
	newKey := func(kid, use string) (*ecdsa.PrivateKey, jose.JSONWebKey) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv, jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: "ES256", Use: use}
	}
	sign := func(priv *ecdsa.PrivateKey, kid string) string {
		opts := (&jose.SignerOptions{}).WithType("JWT")
		if kid != "" {
			opts = opts.WithHeader("kid", kid)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign([]byte(`{"sub":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := obj.CompactSerialize()
		return raw
	}
	a, pubA := newKey("a", "sig")
	b, pubB := newKey("b", "")
	enc, pubEnc := newKey("enc", "enc")
	other, _ := newKey("a", "sig") // claims kid "a", signed by another key
	c, pubC := newKey("c", "sig")

	var fetches atomic.Int64
	var doc atomic.Value
	doc.Store([]jose.JSONWebKey{pubA, pubEnc})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if r.URL.Path == "/big" {
			w.Write([]byte(`{"keys":[` + strings.Repeat(" ", maxKeySetBytes) + `]}`))
			return
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: doc.Load().([]jose.JSONWebKey)})
	}))
	t.Cleanup(srv.Close)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ks := &keySet{uri: srv.URL, client: srv.Client(), now: func() time.Time { return now }}

	for _, step := range []struct {
		name    string
		token   string
		advance time.Duration
		ok      bool
		fetches int64
	}{
		{"the first token fetches the keys", sign(a, "a"), 0, true, 1},
		{"a known key: no fetch", sign(a, "a"), 0, true, 1},
		{"a known kid, a bad signature: refused, no fetch", sign(other, "a"), 0, false, 1},
		{"a key for encryption is not a signing key", sign(enc, "enc"), 0, false, 1},
		{"an unknown kid within the interval: refused, no fetch", sign(b, "b"), 0, false, 1},
		{"an unknown kid after the interval: one fetch, and the rotated key verifies", sign(b, "b"), KeyRefetchInterval, true, 2},
		{"no kid: the keys held are tried", sign(b, ""), 0, true, 2},
		{"no kid and no key verifies: refused, no fetch within the interval", sign(other, ""), 0, false, 2},
		{"no kid, a rotated key: one fetch after the interval", sign(c, ""), KeyRefetchInterval, true, 3},
	} {
		switch step.name {
		case "an unknown kid after the interval: one fetch, and the rotated key verifies":
			doc.Store([]jose.JSONWebKey{pubA, pubB})
		case "no kid, a rotated key: one fetch after the interval":
			doc.Store([]jose.JSONWebKey{pubB, pubC})
		}
		now = now.Add(step.advance)
		_, err := ks.VerifySignature(t.Context(), step.token)
		if (err == nil) != step.ok || fetches.Load() != step.fetches {
			t.Errorf("%s: err %v, %d fetches; want ok=%v, %d fetches", step.name, err, fetches.Load(), step.ok, step.fetches)
		}
	}

	big := &keySet{uri: srv.URL + "/big", client: srv.Client(), now: time.Now}
	if _, err := big.VerifySignature(t.Context(), sign(a, "a")); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("an oversize key set: %v", err)
	}
	if _, err := ks.VerifySignature(t.Context(), "not.a.token"); err == nil {
		t.Error("a malformed token verified")
	}
}
