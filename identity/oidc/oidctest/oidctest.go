// Package oidctest runs a real OpenID Connect provider in-process, for
// tests and demos: zitadel/oidc v3's op package (an OpenID-certified
// provider library) with its example storage, on a loopback listener.
// Discovery, the JWKS, the authorize, token and end_session endpoints and
// PKCE are the provider's own; this package adds a login page, the users
// the caller gives, counters of the requests that tests judge, and hooks
// that alter the ID token as a provider with a bug (or an attacker holding
// its key) would.
//
// It is like go-oidc's oidctest, which serves discovery and keys only, but
// a browser can log in at it: [Provider] serves a login form for its
// users, and ends their provider session at end_session.
//
// Never use it in production: passwords are kept and compared in plain
// text, the key that encrypts its access tokens is a constant, its
// signing key lives in memory only, and its login form has no throttle
// and no CSRF token. It listens on loopback addresses only.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The users of [Start]'s provider. The admin (subject AdminSubject, login
// name [Provider.AdminUsername]) has groups ["staff"] in its ID tokens;
// the plain user (PlainSubject, PlainUsername) has none. Both have the
// password Password.
const (
	AdminSubject  = "id1"
	PlainSubject  = "id2"
	PlainUsername = "test-user2"
	Password      = "verysecure"
)

// User is an account at the provider.
type User struct {
	// Subject is the "sub" claim of the user's tokens: the provider's
	// stable identifier of the user. Required, unique.
	Subject string
	// Username and Password are what the user types on the provider's
	// login page. Username is required and unique; Password is kept in
	// plain text (this is a test provider).
	Username, Password string
	// Name and Email are the "name" and "email" claims (scopes "profile"
	// and "email"); empty ones are not sent.
	Name, Email string
	// Claims are added to the user's ID tokens and userinfo answers
	// whatever the scopes, as a provider set to send roles or groups
	// does: {"roles": []string{"staff"}}. They must marshal to JSON.
	Claims map[string]any
}

// Config configures [New]. Users, ClientID, ClientSecret and RedirectURIs
// are required.
type Config struct {
	// Addr is the loopback address the provider listens on, such as
	// "127.0.0.1:8081"; "" means "127.0.0.1:0" (a port of the kernel's
	// choice). A host other than a loopback IP or "localhost" is an
	// error: this provider is never to be reached from the network. The
	// issuer is "http://" and the address listened on.
	Addr string
	// Users are the provider's accounts.
	Users []User
	// ClientID and ClientSecret are the one client's credentials (a web
	// client: the secret is sent with HTTP Basic or in the form; PKCE
	// S256 is accepted).
	ClientID, ClientSecret string
	// RedirectURIs are the client's registered redirect URIs: absolute
	// URLs, compared exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the client's registered
	// post_logout_redirect_uri values for RP-initiated logout.
	PostLogoutRedirectURIs []string
	// RememberLogin makes the provider keep a login session in a cookie,
	// as real providers do: while it lasts, a new authorization request
	// from the same browser is answered without the login page. The
	// end_session endpoint ends it. False asks for the password at every
	// authorization request.
	RememberLogin bool
	// BackChannelLogoutURI, if set, is the client's back-channel logout
	// URI (Back-Channel Logout 1.0): when the end_session endpoint ends a
	// login session (RememberLogin), the provider POSTs a logout token
	// naming its sid and subject there, as real providers do. An
	// absolute URL.
	BackChannelLogoutURI string
}

// Provider is a running provider. Its methods are safe for concurrent
// use.
type Provider struct {
	// Issuer is the provider's issuer URL: "http://" and its address.
	Issuer string
	// ClientID and ClientSecret are the registered web client's.
	ClientID, ClientSecret string

	srv      *http.Server
	mux      *http.ServeMux // the provider and its pages, unwrapped
	store    *storage.Storage
	users    users
	admin    string // Start's admin user's login name
	callback func(context.Context, string) string
	remember bool
	keys     atomic.Int64
	ended    atomic.Int64
	noEnd    atomic.Bool

	mu       sync.Mutex
	tamper   func(claims map[string]any)
	foreign  *rsa.PrivateKey
	sessions map[string]string // login session cookie value: user name
	sids     map[string]string // authorization request id: its login's sid

	backChannel string       // Config.BackChannelLogoutURI
	client      *http.Client // posts the logout tokens
	sent        atomic.Int64 // logout tokens posted
}

// loginCookie names the provider's login session cookie (RememberLogin).
const loginCookie = "oidctest_login"

// New validates cfg, starts the provider on cfg.Addr and returns it once
// it serves. Close stops it.
func New(cfg Config) (*Provider, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: Config.Addr: %w", err)
	}
	p, err := newProvider(cfg, "http://"+ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.srv = &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln) //nolint:errcheck // http.ErrServerClosed after Close
	return p, nil
}

// check validates the configuration once, naming the field at fault.
func (cfg Config) check() error {
	if cfg.Addr != "" {
		host, _, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return fmt.Errorf("oidctest: Config.Addr %q: %v: write a loopback address such as \"127.0.0.1:8081\"", cfg.Addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("oidctest: Config.Addr %q is not a loopback address: a test provider must not be reachable from the network; write \"127.0.0.1:8081\"", cfg.Addr)
		}
	}
	if len(cfg.Users) == 0 {
		return errors.New("oidctest: Config.Users is empty: give the provider's accounts")
	}
	subjects, names := map[string]bool{}, map[string]bool{}
	for i, u := range cfg.Users {
		switch {
		case u.Subject == "" || u.Username == "":
			return fmt.Errorf("oidctest: Config.Users[%d] has no Subject or no Username: give both", i)
		case subjects[u.Subject]:
			return fmt.Errorf("oidctest: Config.Users[%d]: the Subject %q is taken: subjects are unique", i, u.Subject)
		case names[u.Username]:
			return fmt.Errorf("oidctest: Config.Users[%d]: the Username %q is taken: user names are unique", i, u.Username)
		}
		if _, err := json.Marshal(u.Claims); err != nil {
			return fmt.Errorf("oidctest: Config.Users[%d].Claims: %v: give values that marshal to JSON", i, err)
		}
		subjects[u.Subject], names[u.Username] = true, true
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return errors.New("oidctest: Config.ClientID or ClientSecret is empty: give the client's credentials")
	}
	if len(cfg.RedirectURIs) == 0 {
		return errors.New("oidctest: Config.RedirectURIs is empty: give the absolute URL of the client's callback")
	}
	for _, field := range []struct {
		name string
		uris []string
	}{{"RedirectURIs", cfg.RedirectURIs}, {"PostLogoutRedirectURIs", cfg.PostLogoutRedirectURIs}, {"BackChannelLogoutURI", nonEmpty(cfg.BackChannelLogoutURI)}} {
		for _, v := range field.uris {
			if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Host == "" {
				return fmt.Errorf("oidctest: Config.%s: %q is not an absolute URL: write one such as \"http://localhost:8080/callback\"", field.name, v)
			}
		}
	}
	return nil
}

// Start runs a provider for t with one web client, named after the test,
// whose only redirect URI is redirectURL and whose post-logout redirect
// URIs are postLogoutURLs. Its users are the admin and the plain user of
// this package's constants. It stops when t ends; an error fails t.
func Start(t testing.TB, redirectURL string, postLogoutURLs ...string) *Provider {
	t.Helper()
	const admin = "test-user@127.0.0.1"
	p, err := New(Config{
		Users: []User{
			{Subject: AdminSubject, Username: admin, Password: Password, Name: "Test User", Email: "test-user@example.com",
				Claims: map[string]any{"groups": []string{"staff"}}},
			{Subject: PlainSubject, Username: PlainUsername, Password: Password, Name: "Test User2", Email: "test-user2@example.com"},
		},
		ClientID:               "bulwark-" + strings.ReplaceAll(t.Name(), "/", "-"),
		ClientSecret:           "bulwark-secret",
		RedirectURIs:           []string{redirectURL},
		PostLogoutRedirectURIs: postLogoutURLs,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.admin = admin
	t.Cleanup(func() { p.Close() })
	return p
}

// Close stops the provider and closes its connections.
func (p *Provider) Close() error { return p.srv.Close() }

// AdminUsername is the login name of [Start]'s admin user.
func (p *Provider) AdminUsername() string { return p.admin }

// WithoutEndSession makes the discovery document omit the
// end_session_endpoint, as Google's and some Auth0 tenants' do.
func (p *Provider) WithoutEndSession() { p.noEnd.Store(true) }

// EndSessions returns how many times the end_session endpoint was asked
// to log a user out.
func (p *Provider) EndSessions() int64 { return p.ended.Load() }

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

// Sign signs claims as a JWT with the provider's own key (kid and all), as
// the provider signs its tokens: the JWKS verifies it. Tests use it for
// back-channel logout tokens. An error fails t.
func (p *Provider) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	s, err := p.sign(context.Background(), claims, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newProvider builds the provider of issuer; it does not serve yet.
func newProvider(cfg Config, issuer string) (*Provider, error) {
	p := &Provider{Issuer: issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		remember: cfg.RememberLogin, sessions: map[string]string{}, sids: map[string]string{}, users: users{},
		backChannel: cfg.BackChannelLogoutURI, client: &http.Client{Timeout: 5 * time.Second}}
	for _, u := range cfg.Users {
		p.users[u.Subject] = u
	}
	client := storage.WebClient(cfg.ClientID, cfg.ClientSecret, cfg.RedirectURIs...)
	p.store = storage.NewStorageWithClients(p.users, map[string]*storage.Client{cfg.ClientID: client})
	s := &store{Storage: p.store, users: p.users, postLogout: cfg.PostLogoutRedirectURIs, sid: p.takeSID}
	provider, err := op.NewProvider(&op.Config{
		// The key that encrypts access tokens: a constant, as in
		// zitadel's example (this is why the package is for tests).
		CryptoKey:                sha256.Sum256([]byte("bulwark oidctest")),
		DefaultLogoutRedirectURI: loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
	}, s, op.StaticIssuer(issuer), op.WithAllowInsecure(),
		// zitadel's example's path, which tests know.
		op.WithCustomAuthEndpoint(op.NewEndpoint("auth")))
	if err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
	}
	p.callback = op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	mux.Handle(loginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).Handler(http.HandlerFunc(p.login)))
	mux.HandleFunc(loggedOutPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("signed out successfully"))
	})
	mux.Handle("/", provider)
	p.mux = mux
	return p, nil
}

// The login page's path (zitadel's example clients send the browser to
// /login/username?authRequestID=…) and the default page after logout.
const (
	loginPath     = "/login/username"
	loggedOutPath = "/logged-out"
)

// handler is the provider's mux, wrapped by the counters and the hooks.
func (p *Provider) handler() http.Handler {
	h := p.mux
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/keys":
			p.keys.Add(1)
		case "/end_session":
			p.ended.Add(1)
			p.forget(w, r)
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

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in at the test provider</title></head>
<body><h1>Test provider</h1>
<p>An OpenID Connect provider for tests and demos (bulwark's oidctest): never for production.</p>
{{if .Error}}<p id="error" style="color:red">{{.Error}}</p>{{end}}
<form id="oidctest-login" method="post" action="/login/username">
<input type="hidden" name="id" value="{{.ID}}">
<p><label>User name <input id="username" name="username" autocomplete="username" required></label></p>
<p><label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label></p>
<p><button id="oidctest-submit">Log in</button></p>
</form></body></html>
`))

// login serves the login page of an authorization request (GET, or at
// once when the browser's login session names a user) and checks its
// form (POST). Once the user is known, the browser goes to the provider's
// authorization callback, which answers the client.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	var id, username, password string
	switch r.Method {
	case http.MethodGet:
		id = r.URL.Query().Get("authRequestID")
		u, ok := p.remembered(r)
		if !ok {
			p.loginPage(w, http.StatusOK, id, "")
			return
		}
		username, password = u.Username, u.Password
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		id, username, password = r.PostFormValue("id"), r.PostFormValue("username"), r.PostFormValue("password")
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if err := p.store.CheckUsernamePassword(username, password, id); err != nil {
		p.loginPage(w, http.StatusUnauthorized, id, "Wrong user name or password, or the login request expired.")
		return
	}
	sid := p.loginSession(w, r, username)
	p.mu.Lock()
	p.sids[id] = sid
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	// The issuer's callback with the request id escaped: built here, so
	// written as it is rather than through http.Redirect.
	w.Header().Set("Location", p.callback(r.Context(), id))
	w.WriteHeader(http.StatusFound)
}

func (p *Provider) loginPage(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginTemplate.Execute(w, struct{ ID, Error string }{id, msg})
}

// loginSession returns the sid of the login session a successful login of
// r belongs to: with RememberLogin, the browser's login session (one
// started now for a posted password), else one made for this login alone.
// Every ID token of the login carries it as "sid".
func (p *Provider) loginSession(w http.ResponseWriter, r *http.Request, username string) string {
	if !p.remember {
		return sessionID(rand.Text())
	}
	if r.Method == http.MethodGet {
		if c, err := r.Cookie(loginCookie); err == nil {
			return sessionID(c.Value) // remembered: the same session
		}
	}
	v := rand.Text()
	p.mu.Lock()
	p.sessions[v] = username
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return sessionID(v)
}

// sessionID is the sid of the login session whose cookie value is v: not
// the cookie itself, which the relying parties never see.
func sessionID(v string) string {
	sum := sha256.Sum256([]byte("oidctest sid " + v))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// takeSID returns and forgets the sid of the login that answered the
// authorization request id ("" for none): the ID token of the request's
// code is made once, and a demo that runs for days keeps no entry per
// login.
func (p *Provider) takeSID(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	sid := p.sids[id]
	delete(p.sids, id)
	return sid
}

// LogoutTokensSent returns how many back-channel logout tokens the
// provider posted to Config.BackChannelLogoutURI.
func (p *Provider) LogoutTokensSent() int64 { return p.sent.Load() }

// sendLogout posts a logout token for the login session sid of the user
// named username to the client's back-channel logout URI, as a provider
// does when the session ends. The client's answer is not waited for
// beyond the client's timeout, and a failure is not retried (a provider
// makes one attempt, Back-Channel Logout 1.0 section 2.8).
func (p *Provider) sendLogout(ctx context.Context, username, sid string) {
	u, ok := p.users.byName(username)
	if p.backChannel == "" || !ok {
		return
	}
	now := time.Now()
	token, err := p.sign(ctx, map[string]any{
		"iss": p.Issuer, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": rand.Text(), "sub": u.Subject, "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}, nil)
	if err != nil {
		return
	}
	resp, err := p.client.PostForm(p.backChannel, url.Values{"logout_token": {token}})
	if err != nil {
		return
	}
	resp.Body.Close()
	p.sent.Add(1)
}

// remembered returns the user of r's login session, if it has one.
func (p *Provider) remembered(r *http.Request) (User, bool) {
	c, err := r.Cookie(loginCookie)
	if err != nil || !p.remember {
		return User{}, false
	}
	p.mu.Lock()
	name, ok := p.sessions[c.Value]
	p.mu.Unlock()
	if !ok {
		return User{}, false
	}
	return p.users.byName(name)
}

// forget ends r's login session, if any, and expires its cookie: the
// next authorization request asks for the password again.
func (p *Provider) forget(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		return
	}
	p.mu.Lock()
	username, ok := p.sessions[c.Value]
	delete(p.sessions, c.Value)
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if ok {
		p.sendLogout(r.Context(), username, sessionID(c.Value))
	}
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

// users are the provider's accounts by subject: the example storage's
// user store.
type users map[string]User

func (us users) byName(name string) (User, bool) {
	for _, u := range us {
		if u.Username == name {
			return u, true
		}
	}
	return User{}, false
}

func example(u User) *storage.User {
	return &storage.User{ID: u.Subject, Username: u.Username, Password: u.Password, FirstName: u.Name,
		Email: u.Email, EmailVerified: u.Email != "", PreferredLanguage: language.English}
}

func (us users) GetUserByID(id string) *storage.User {
	if u, ok := us[id]; ok {
		return example(u)
	}
	return nil
}

func (us users) GetUserByUsername(name string) *storage.User {
	if u, ok := us.byName(name); ok {
		return example(u)
	}
	return nil
}

// ExampleClientID names the example storage's service client, which
// this package does not use.
func (users) ExampleClientID() string { return "service" }

// store is the example storage whose tokens carry the user's own name and
// claims, and whose client asks for the scopes' claims in the ID token
// itself, with post-logout redirect URIs.
type store struct {
	*storage.Storage
	users      users
	postLogout []string
	sid        func(authRequestID string) string
}

// GetClientByClientID returns the client asking for the scopes' claims
// in the ID token itself, not only at the userinfo endpoint.
func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return claimsInIDToken{c, s.postLogout}, nil
}

func (s *store) SetUserinfoFromRequest(ctx context.Context, info *zoidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, info, req, scopes); err != nil {
		return err
	}
	s.complete(info, req.GetSubject())
	if ar, ok := req.(interface{ GetID() string }); ok {
		if sid := s.sid(ar.GetID()); sid != "" {
			info.AppendClaims("sid", sid) // the ID token's: the login session's
		}
	}
	return nil
}

func (s *store) SetUserinfoFromToken(ctx context.Context, info *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	s.complete(info, info.Subject)
	return nil
}

// complete sets the user's own name (the example's is first and last
// names) and adds the user's claims.
func (s *store) complete(info *zoidc.UserInfo, subject string) {
	u, ok := s.users[subject]
	if !ok {
		return
	}
	if info.Name != "" {
		info.Name, info.GivenName, info.FamilyName = u.Name, "", ""
	}
	for k, v := range u.Claims {
		info.AppendClaims(k, v)
	}
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

// nonEmpty returns []string{s}, or nil for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
