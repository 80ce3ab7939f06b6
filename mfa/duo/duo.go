// Package duo is an mfa.Verifier for Duo's Universal Prompt, written from
// Duo's published OIDC-based protocol (Duo's own Go SDK is not used):
//
//   - Health: POST https://API_HOST/oauth/v1/health_check with a client
//     assertion (a JWT signed HS512 with the client secret);
//   - Begin: the authorization URL https://API_HOST/oauth/v1/authorize
//     with a request JWT (HS512) carrying the gate's one-time state, the
//     Duo user name, a nonce derived from the state and the fixed redirect
//     URI;
//   - Complete: the callback's state is compared in constant time with the
//     session's; the duo_code is exchanged at /oauth/v1/token (client
//     assertion again) and the ID token checked: HS512 with the client
//     secret, aud = client ID, iss = the token endpoint, exp and iat,
//     preferred_username = the user's Duo name, nonce = the challenge's.
//
// Unlike django-duo-universal-auth, the redirect URI is fixed in
// [Config] (never taken from a request's Host header), a missing or
// mismatched state is refused before any exchange, provider errors are
// errors (the gate answers 503), never 500s, and the session token is
// renewed by the gate on success.
package duo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/golang-jwt/jwt/v5"
)

// Method is the verifier's method name.
const Method = "duo"

// Lengths Duo gives client ids and secrets.
const (
	ClientIDLen     = 20
	ClientSecretLen = 40
)

// assertionTTL is the lifetime of the JWTs the client signs (Duo's SDKs
// use five minutes).
const assertionTTL = 5 * time.Minute

// maxResponse bounds what is read of Duo's answers.
const maxResponse = 64 << 10

// Config configures the Duo verifier. ClientID, ClientSecret, APIHost and
// RedirectURI are required.
type Config struct {
	// ClientID and ClientSecret are the Web SDK application's credentials
	// (20 and 40 characters).
	ClientID, ClientSecret string
	// APIHost is the application's API hostname ("api-XXXXXXXX.duosecurity.com"),
	// without scheme or path. Requests always use HTTPS.
	APIHost string
	// RedirectURI is where Duo sends the user back: the absolute https URL
	// of the gate's CallbackURL. It is fixed here, never built from a
	// request.
	RedirectURI string
	// Username maps a user id to the Duo user name, or returns "" for a
	// user who has no Duo account (mfa.ErrNotEnrolled). Nil means the
	// user's name, as django-duo-universal-auth sends request.user.username:
	// identity.Username of the request's user (its Username method, else
	// its id), read from the context the gate passes (Begin's ctx,
	// Complete's request). Without that user in the context, or with
	// another one, the default fails closed with an error: set Username to
	// call the verifier outside the gate.
	Username func(ctx context.Context, userID string) (string, error)
	// HTTPClient makes the requests to Duo; nil means a client with a
	// 10-second timeout and the system's roots.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed when checking the ID token's times
	// (default 30s; at most 5 minutes).
	Leeway time.Duration
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Verifier is the Duo Universal Prompt [mfa.Verifier]. It is safe for
// concurrent use.
type Verifier struct {
	clientID    string
	secret      []byte
	base        string // https://API_HOST
	redirectURI string
	username    func(context.Context, string) (string, error)
	client      *http.Client
	leeway      time.Duration
	now         func() time.Time
}

var _ mfa.Verifier = (*Verifier)(nil)

// New returns the verifier for cfg, or an error naming the field that is
// wrong.
func New(cfg Config) (*Verifier, error) {
	if len(cfg.ClientID) != ClientIDLen {
		return nil, fmt.Errorf("duo: Config.ClientID has %d characters: give the %d-character client ID of the Duo Web SDK application", len(cfg.ClientID), ClientIDLen)
	}
	if len(cfg.ClientSecret) != ClientSecretLen {
		return nil, fmt.Errorf("duo: Config.ClientSecret has %d characters: give the %d-character client secret of the Duo Web SDK application", len(cfg.ClientSecret), ClientSecretLen)
	}
	if cfg.APIHost == "" || strings.ContainsAny(cfg.APIHost, "/?#@ ") {
		return nil, fmt.Errorf("duo: Config.APIHost %q: give the host name alone, such as \"api-XXXXXXXX.duosecurity.com\"", cfg.APIHost)
	}
	u, err := url.Parse(cfg.RedirectURI)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("duo: Config.RedirectURI %q: give the absolute https URL of the gate's CallbackURL, such as \"https://app.example/mfa/callback\"", cfg.RedirectURI)
	}
	if cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute {
		return nil, fmt.Errorf("duo: Config.Leeway %v: write 0 for the default (30s), or up to 5 minutes", cfg.Leeway)
	}
	v := &Verifier{
		clientID: cfg.ClientID, secret: []byte(cfg.ClientSecret), base: "https://" + cfg.APIHost,
		redirectURI: cfg.RedirectURI, username: cfg.Username, client: cfg.HTTPClient,
		leeway: cfg.Leeway, now: cfg.Now,
	}
	if v.username == nil {
		v.username = requestUsername
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.leeway == 0 {
		v.leeway = 30 * time.Second
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

// requestUsername is the default Config.Username: the name of the
// request's user, who must be the one the gate asks about.
func requestUsername(ctx context.Context, userID string) (string, error) {
	u := identity.FromContext(ctx)
	if u == nil || u.ID() != userID {
		return "", fmt.Errorf("the request's context does not hold user %q: call through the mfa gate, or set Config.Username", userID)
	}
	return identity.Username(u), nil
}

// Method implements [mfa.Verifier]: "duo".
func (v *Verifier) Method() string { return Method }

// Health implements [mfa.Verifier]: Duo's health check.
func (v *Verifier) Health(ctx context.Context) error {
	endpoint := v.base + "/oauth/v1/health_check"
	assertion, err := v.assertion(endpoint)
	if err != nil {
		return err
	}
	var out struct {
		Stat    string `json:"stat"`
		Message string `json:"message"`
	}
	status, err := v.post(ctx, endpoint, url.Values{"client_id": {v.clientID}, "client_assertion": {assertion}}, &out)
	if err != nil {
		return err
	}
	if status != http.StatusOK || out.Stat != "OK" {
		return fmt.Errorf("duo: health check: status %d, stat %q: %s", status, out.Stat, out.Message)
	}
	return nil
}

// Begin implements [mfa.Verifier]: it redirects to the Universal Prompt
// for the user, carrying state and a nonce derived from it.
func (v *Verifier) Begin(ctx context.Context, userID, state string) (mfa.Prompt, error) {
	name, err := v.username(ctx, userID)
	if err != nil {
		return mfa.Prompt{}, fmt.Errorf("duo: user name: %w", err)
	}
	if name == "" {
		return mfa.Prompt{}, fmt.Errorf("duo: %w: no Duo user name", mfa.ErrNotEnrolled)
	}
	now := v.now()
	request, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"scope": "openid", "redirect_uri": v.redirectURI, "client_id": v.clientID,
		"iss": v.clientID, "aud": v.base, "exp": now.Add(assertionTTL).Unix(), "iat": now.Unix(),
		"state": state, "response_type": "code", "duo_uname": name,
		"use_duo_code_attribute": true, "nonce": nonce(state),
	}).SignedString(v.secret)
	if err != nil {
		return mfa.Prompt{}, fmt.Errorf("duo: sign the request: %w", err)
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {v.clientID}, "request": {request},
		"redirect_uri": {v.redirectURI}, "scope": {"openid"},
	}
	return mfa.Prompt{Redirect: v.base + "/oauth/v1/authorize?" + q.Encode()}, nil
}

// Complete implements [mfa.Verifier]: the callback (GET) carries state and
// duo_code in its query.
func (v *Verifier) Complete(r *http.Request, userID, state string) error {
	q := r.URL.Query()
	got := q["state"]
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(state)) != 1 {
		return fmt.Errorf("duo: %w: callback state missing, repeated or different", mfa.ErrState)
	}
	codes := q["duo_code"]
	if len(codes) != 1 || codes[0] == "" || len(codes[0]) > 512 {
		return fmt.Errorf("duo: %w: callback without one duo_code", mfa.ErrInvalid)
	}
	ctx := r.Context()
	name, err := v.username(ctx, userID)
	if err != nil {
		return fmt.Errorf("duo: user name: %w", err)
	}
	endpoint := v.base + "/oauth/v1/token"
	assertion, err := v.assertion(endpoint)
	if err != nil {
		return err
	}
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	status, err := v.post(ctx, endpoint, url.Values{
		"grant_type": {"authorization_code"}, "code": {codes[0]}, "redirect_uri": {v.redirectURI},
		"client_id":             {v.clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}, &out)
	switch {
	case err != nil:
		return err
	case status == http.StatusBadRequest || status == http.StatusUnauthorized:
		// An unknown, expired or already exchanged code.
		return fmt.Errorf("duo: %w: code exchange refused (%d %s)", mfa.ErrInvalid, status, out.Error)
	case status != http.StatusOK:
		return fmt.Errorf("duo: token endpoint: status %d", status)
	}
	return v.checkIDToken(out.IDToken, name, nonce(state))
}

// checkIDToken verifies the ID token Duo returned.
func (v *Verifier) checkIDToken(raw, username, wantNonce string) error {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return v.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS512.Alg()}),
		jwt.WithAudience(v.clientID), jwt.WithIssuer(v.base+"/oauth/v1/token"),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(v.leeway), jwt.WithTimeFunc(v.now))
	if err != nil {
		return fmt.Errorf("duo: %w: ID token: %v", mfa.ErrInvalid, err)
	}
	if name, _ := claims["preferred_username"].(string); name != username {
		return fmt.Errorf("duo: %w: ID token for another user", mfa.ErrInvalid)
	}
	if n, _ := claims["nonce"].(string); subtle.ConstantTimeCompare([]byte(n), []byte(wantNonce)) != 1 {
		return fmt.Errorf("duo: %w: ID token nonce does not match the challenge", mfa.ErrInvalid)
	}
	return nil
}

// nonce is the OIDC nonce of a challenge: derived from its state, so the
// gate's session holds both.
func nonce(state string) string {
	sum := sha256.Sum256([]byte("bulwark.mfa.duo.nonce\x00" + state))
	return hex.EncodeToString(sum[:])
}

// assertion signs a client assertion for endpoint.
func (v *Verifier) assertion(endpoint string) (string, error) {
	var jti [18]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	now := v.now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"iss": v.clientID, "sub": v.clientID, "aud": endpoint,
		"exp": now.Add(assertionTTL).Unix(), "iat": now.Unix(),
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
	}).SignedString(v.secret)
	if err != nil {
		return "", fmt.Errorf("duo: sign the client assertion: %w", err)
	}
	return s, nil
}

// post sends a form to Duo and decodes its JSON answer into out.
func (v *Verifier) post(ctx context.Context, endpoint string, form url.Values, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("duo: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("duo: %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, fmt.Errorf("duo: %s: %w", endpoint, err)
	}
	if resp.StatusCode >= 500 {
		return resp.StatusCode, fmt.Errorf("duo: %s: status %d", endpoint, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, fmt.Errorf("duo: %s: status %d, not JSON: %w", endpoint, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}
