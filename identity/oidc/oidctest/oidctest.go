// Package oidctest runs a real OpenID Connect provider in-process for tests:
// zitadel/oidc v3's op package with its example storage and login page,
// on an httptest server. Discovery, the JWKS, the authorize and token
// endpoints and PKCE are the provider's own; the test only counts the
// requests and, when it asks, alters the ID token in the token response
// (as a provider with a bug, or an attacker holding its key, would).
package oidctest

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The users of the example storage. Admin is the example's admin user
// (id "id1"), whose ID tokens carry groups ["staff"]; Plain (id "id2")
// has no group.
const (
	AdminSubject  = "id1"
	PlainSubject  = "id2"
	PlainUsername = "test-user2"
	Password      = "verysecure"
)

// Provider is a running provider.
type Provider struct {
	// Issuer is the provider's issuer URL (its httptest server's URL).
	Issuer string
	// ClientID and ClientSecret are the registered web client's.
	ClientID, ClientSecret string

	srv     *httptest.Server
	store   *storage.Storage
	keys    atomic.Int64
	mu      sync.Mutex
	tamper  func(claims map[string]any)
	foreign *rsa.PrivateKey
	noEnd   atomic.Bool
	ended   atomic.Int64
}

// WithoutEndSession makes the discovery document omit the
// end_session_endpoint, as Google's and some Auth0 tenants' do.
func (p *Provider) WithoutEndSession() { p.noEnd.Store(true) }

// EndSessions returns how many times the end_session endpoint was asked
// to log a user out.
func (p *Provider) EndSessions() int64 { return p.ended.Load() }

// Start runs a provider with one web client (secret auth, PKCE accepted)
// whose only redirect URI is redirectURL, and whose post-logout redirect
// URIs are postLogoutURLs. It stops when t ends.
func Start(t testing.TB, redirectURL string, postLogoutURLs ...string) *Provider {
	t.Helper()
	p := &Provider{ClientID: "bulwark-" + strings.ReplaceAll(t.Name(), "/", "-"), ClientSecret: "bulwark-secret"}
	var h deferred
	p.srv = httptest.NewServer(&h)
	t.Cleanup(p.srv.Close)
	p.Issuer = p.srv.URL
	users := storage.NewUserStore(p.Issuer)
	client := storage.WebClient(p.ClientID, p.ClientSecret, redirectURL)
	p.store = storage.NewStorageWithClients(users, map[string]*storage.Client{p.ClientID: client})
	// SetupServer makes its logger slog's default: keep test output
	// quiet.
	router := exampleop.SetupServer(p.Issuer, &withGroups{Storage: p.store, users: users, postLogout: postLogoutURLs}, slog.New(slog.DiscardHandler), false)
	h.set(p.wrap(router))
	return p
}

// AdminUsername is the example admin's login name, which depends on the
// issuer's host.
func (p *Provider) AdminUsername() string {
	u, _ := url.Parse(p.Issuer)
	return "test-user@" + u.Hostname()
}

// KeyRequests returns how many times the JWKS was fetched.
func (p *Provider) KeyRequests() int64 { return p.keys.Load() }

// Tamper makes the token endpoint rewrite the ID token's claims with f
// and sign it again with the provider's own key. Nil stops.
func (p *Provider) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper, p.foreign = f, nil
}

// SignWithForeignKey makes the token endpoint sign the ID token with key,
// under a kid the provider's JWKS does not hold.
func (p *Provider) SignWithForeignKey(key *rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper, p.foreign = func(map[string]any) {}, key
}

func (p *Provider) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/keys":
			p.keys.Add(1)
		case "/end_session":
			p.ended.Add(1)
		case "/.well-known/openid-configuration":
			if p.noEnd.Load() {
				p.withoutEndSession(w, r, h)
				return
			}
		}
		p.mu.Lock()
		tamper, foreign := p.tamper, p.foreign
		p.mu.Unlock()
		if r.URL.Path != "/oauth/token" || tamper == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body, err := p.resign(r.Context(), rec.Body.Bytes(), tamper, foreign)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

func (p *Provider) withoutEndSession(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	delete(doc, "end_session_endpoint")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(doc)
}

// resign rewrites the id_token of a token response.
func (p *Provider) resign(ctx context.Context, body []byte, tamper func(map[string]any), foreign *rsa.PrivateKey) ([]byte, error) {
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	raw, _ := resp["id_token"].(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return body, nil // an error response: leave it
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, err
	}
	tamper(claims)
	if resp["id_token"], err = p.sign(ctx, claims, foreign); err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Sign signs claims as a JWT with the provider's own key (kid and all), as
// the provider signs its logout tokens; the JWKS verifies it.
func (p *Provider) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	s, err := p.sign(context.Background(), claims, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sign signs claims with foreign under an unknown kid, or, when foreign
// is nil, with the provider's key.
func (p *Provider) sign(ctx context.Context, claims map[string]any, foreign *rsa.PrivateKey) (string, error) {
	key, kid := foreign, "unknown-kid"
	if key == nil {
		sk, err := p.store.SigningKey(ctx)
		if err != nil {
			return "", err
		}
		var ok bool
		if key, ok = sk.Key().(*rsa.PrivateKey); !ok {
			return "", fmt.Errorf("oidctest: signing key is %T", sk.Key())
		}
		kid = sk.ID()
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

// withGroups is the example storage whose ID tokens carry the user
// claims of the scopes asked (name, email), and groups ["staff"] for the
// admin user, as a provider set to send groups does.
type withGroups struct {
	*storage.Storage
	users      storage.UserStore
	postLogout []string
}

// GetClientByClientID returns the client asking for the scopes' claims
// in the ID token itself, not only at the userinfo endpoint.
func (s *withGroups) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c, s.postLogout}, nil
}

func (s *withGroups) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	if u := s.users.GetUserByID(req.GetSubject()); u != nil && u.IsAdmin {
		info.AppendClaims("groups", []string{"staff"})
	}
	return nil
}

// claimsInIDToken is a client whose ID tokens carry the claims of the
// scopes asked, with the post-logout redirect URIs the example's clients
// cannot have.
type claimsInIDToken struct {
	op.Client
	postLogout []string
}

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c claimsInIDToken) PostLogoutRedirectURIs() []string { return c.postLogout }

// deferred serves with a handler set after its server started: the
// provider needs its issuer URL, the server's, to be built.
type deferred struct {
	mu sync.RWMutex
	h  http.Handler
}

func (d *deferred) set(h http.Handler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.h = h
}

func (d *deferred) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.RLock()
	h := d.h
	d.mu.RUnlock()
	h.ServeHTTP(w, r)
}
