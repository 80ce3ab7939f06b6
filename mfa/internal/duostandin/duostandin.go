// Package duostandin is a local stand-in for Duo's Universal Prompt
// endpoints, following Duo's published protocol, for the tests of
// mfa/duo: health check, authorization (the user approves at once), code
// exchange with a single-use code, and an ID token that a test can spoil
// (expired, wrong audience, issuer, user, nonce or key).
package duostandin

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bulwark-go/bulwark/identity"
)

// Server is the stand-in. Its fields may be changed between requests under
// Lock/Unlock (or with Set).
type Server struct {
	ClientID, Secret string

	mu sync.Mutex
	// Health is the health check's answer: "OK", "FAIL" (stat FAIL), or
	// "500" (a server error).
	Health string
	// TokenStatus, when not 0, is the token endpoint's status instead of
	// an answer.
	TokenStatus int
	// Spoil changes the claims of the next ID tokens.
	Spoil func(claims jwt.MapClaims)
	// SignWith signs the ID tokens with another method and key.
	SignWith func(claims jwt.MapClaims) string
	// Exchanges counts calls of the token endpoint.
	Exchanges int

	srv    *httptest.Server
	grants map[string]*grant
}

type grant struct {
	username, nonce, redirectURI string
	used                         bool
}

// New starts the stand-in on a local TLS server, closed when the test ends.
func New(t testing.TB, clientID, secret string) *Server {
	s := &Server{ClientID: clientID, Secret: secret, Health: "OK", grants: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/v1/health_check", s.health)
	mux.HandleFunc("GET /oauth/v1/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/v1/token", s.token)
	s.srv = httptest.NewTLSServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// Host is the API host to configure ("127.0.0.1:PORT").
func (s *Server) Host() string { return s.srv.Listener.Addr().String() }

// Client is an HTTP client that trusts the stand-in's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Set changes the stand-in's behaviour under its lock.
func (s *Server) Set(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *Server) base() string { return "https://" + s.Host() }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// checkAssertion verifies a client assertion for endpoint.
func (s *Server) checkAssertion(raw, endpoint string) error {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return []byte(s.Secret), nil },
		jwt.WithValidMethods([]string{"HS512"}), jwt.WithAudience(endpoint), jwt.WithIssuer(s.ClientID),
		jwt.WithSubject(s.ClientID), jwt.WithExpirationRequired())
	if err != nil {
		return err
	}
	if jti, _ := claims["jti"].(string); jti == "" {
		return fmt.Errorf("no jti")
	}
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.Health
	s.mu.Unlock()
	if r.PostFormValue("client_id") != s.ClientID || s.checkAssertion(r.PostFormValue("client_assertion"), s.base()+"/oauth/v1/health_check") != nil {
		writeJSON(w, 400, map[string]string{"stat": "FAIL", "message": "invalid_client"})
		return
	}
	switch h {
	case "OK":
		writeJSON(w, 200, map[string]any{"stat": "OK", "response": map[string]int64{"timestamp": time.Now().Unix()}})
	case "500":
		http.Error(w, "oops", 500)
	default:
		writeJSON(w, 200, map[string]string{"stat": "FAIL", "message": "service unavailable"})
	}
}

// authorize checks the request JWT and, as if the user approved the push,
// redirects to redirect_uri with a new code and the state.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID || q.Get("response_type") != "code" || q.Get("scope") != "openid" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(q.Get("request"), claims, func(*jwt.Token) (any, error) { return []byte(s.Secret), nil },
		jwt.WithValidMethods([]string{"HS512"}), jwt.WithAudience(s.base()), jwt.WithIssuer(s.ClientID), jwt.WithExpirationRequired())
	if err != nil {
		http.Error(w, "bad request JWT: "+err.Error(), 400)
		return
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	if str("redirect_uri") != q.Get("redirect_uri") || str("client_id") != s.ClientID || str("state") == "" || str("duo_uname") == "" || str("nonce") == "" {
		http.Error(w, "bad request JWT claims", 400)
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	code := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	s.grants[code] = &grant{username: str("duo_uname"), nonce: str("nonce"), redirectURI: str("redirect_uri")}
	s.mu.Unlock()
	cb, _ := url.Parse(str("redirect_uri"))
	cq := cb.Query()
	cq.Set("duo_code", code)
	cq.Set("state", str("state"))
	cb.RawQuery = cq.Encode()
	// The suite's writer, like every redirect in the module: the target
	// goes out as built (http.Redirect would clean a relative one).
	identity.Redirect(w, r, cb.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Exchanges++
	if s.TokenStatus != 0 {
		http.Error(w, "status", s.TokenStatus)
		return
	}
	if r.PostFormValue("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
		s.checkAssertion(r.PostFormValue("client_assertion"), s.base()+"/oauth/v1/token") != nil {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	g := s.grants[r.PostFormValue("code")]
	if r.PostFormValue("grant_type") != "authorization_code" || g == nil || g.used || g.redirectURI != r.PostFormValue("redirect_uri") {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	g.used = true
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": s.base() + "/oauth/v1/token", "aud": s.ClientID, "sub": g.username,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
		"preferred_username": g.username, "nonce": g.nonce, "auth_result": map[string]string{"result": "allow", "status": "allow"},
	}
	if s.Spoil != nil {
		s.Spoil(claims)
	}
	var tok string
	if s.SignWith != nil {
		tok = s.SignWith(claims)
	} else {
		tok, _ = jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString([]byte(s.Secret))
	}
	writeJSON(w, 200, map[string]any{"id_token": tok, "access_token": "x", "expires_in": 300, "token_type": "Bearer"})
}

// Approve follows an authorization URL as the user's browser would, with
// the user approving, and returns the callback URL Duo redirects to.
func (s *Server) Approve(t testing.TB, authURL string) string {
	t.Helper()
	c := *s.Client() // a copy: the verifier shares the original
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}
