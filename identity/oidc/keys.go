package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyRefetchInterval bounds how often a token naming a key the provider's
// key set does not hold makes the set be fetched again. The back-channel
// logout route is public and takes tokens anyone can sign: without a
// bound, each token with a made-up key id would cost the provider a JWKS
// request (go-oidc's remote key set fetches on every miss), until the
// provider throttles the site and real logins fail. Providers publish a
// new key before they sign with it, so a fetch made for anyone within the
// interval already holds it.
const KeyRefetchInterval = 30 * time.Second

// maxKeySetBytes bounds the provider's JWKS document read.
const maxKeySetBytes = 1 << 20

// signingAlgs are the asymmetric JWS algorithms a provider may sign with;
// the verifier narrows them to those the provider's discovery names.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

// keySet is the provider's signing keys (its JWKS), an oidc.KeySet for
// go-oidc's verifier. It fetches them at the first token, and again only
// for a token whose key id it does not hold (a key rotation), at most
// once per KeyRefetchInterval; concurrent misses share one fetch. A
// failed fetch keeps the keys it had.
type keySet struct {
	uri    string
	client *http.Client
	now    func() time.Time

	fetch   sync.Mutex // one fetch at a time; guards fetched
	fetched time.Time  // when the last fetch was made (zero: never)

	mu   sync.RWMutex
	keys []jose.JSONWebKey
}

// VerifySignature returns the payload of the signed token raw when a key
// of the set verifies it.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: the token has not exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	if payload, known, err := verifyWith(jws, keys, kid); known {
		return payload, err
	}
	if keys, err = k.refresh(ctx); err != nil {
		return nil, err
	}
	if payload, known, err := verifyWith(jws, keys, kid); known {
		return payload, err
	}
	return nil, fmt.Errorf("oidc: the provider's key set holds no key %q (fetched again at most once per %v)", kid, KeyRefetchInterval)
}

// verifyWith verifies jws with the keys of id kid (every key, for a
// token without a key id). known reports whether the set decided: it
// holds a key of that id, or, for a token without one, a key verified it.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) (payload []byte, known bool, err error) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		if p, err := jws.Verify(&keys[i]); err == nil {
			return p, true, nil
		}
		known = kid != ""
	}
	if known {
		return nil, true, errors.New("oidc: the token's signature does not verify with the provider's key")
	}
	return nil, false, nil
}

// refresh fetches the key set again unless it was fetched less than
// KeyRefetchInterval ago, and returns the keys held then.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.fetch.Lock()
	defer k.fetch.Unlock()
	if now := k.now(); k.fetched.IsZero() || now.Sub(k.fetched) >= KeyRefetchInterval || now.Before(k.fetched) {
		k.fetched = now
		keys, err := k.get(ctx)
		if err != nil {
			return nil, fmt.Errorf("oidc: fetch the provider's keys: %w", err)
		}
		k.mu.Lock()
		k.keys = keys
		k.mu.Unlock()
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys, nil
}

// get fetches and decodes the JWKS, skipping the keys it cannot use (a
// curve or an algorithm go-jose does not know) rather than failing on
// them.
func (k *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", k.uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxKeySetBytes {
		return nil, fmt.Errorf("%s: the key set is larger than %d bytes", k.uri, maxKeySetBytes)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", k.uri, err)
	}
	keys := make([]jose.JSONWebKey, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		if key.UnmarshalJSON(raw) != nil || !key.Valid() || !key.IsPublic() || (key.Use != "" && key.Use != "sig") {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}
