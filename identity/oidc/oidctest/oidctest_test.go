package oidctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
)

var dave = oidctest.User{Subject: "dave-sub", Username: "dave", Password: "dave-password", Name: "Dave", Email: "dave@example.com",
	Claims: map[string]any{"roles": []string{"staff"}}}

// A configuration mistake is an error at New that names the field.
func TestNewRefusesConfig(t *testing.T) {
	good := func() oidctest.Config {
		return oidctest.Config{Users: []oidctest.User{dave}, ClientID: "app", ClientSecret: "secret",
			RedirectURIs: []string{"http://localhost:1/callback"}}
	}
	p, err := oidctest.New(good())
	if err != nil {
		t.Fatalf("the good config: %v", err)
	}
	p.Close()
	for _, tc := range []struct {
		name   string
		change func(*oidctest.Config)
		want   string
	}{
		{"address on the network", func(c *oidctest.Config) { c.Addr = "0.0.0.0:0" }, "Config.Addr \"0.0.0.0:0\" is not a loopback address"},
		{"address without a port", func(c *oidctest.Config) { c.Addr = "127.0.0.1" }, "Config.Addr \"127.0.0.1\""},
		{"no users", func(c *oidctest.Config) { c.Users = nil }, "Config.Users is empty"},
		{"user without subject", func(c *oidctest.Config) { c.Users = []oidctest.User{{Username: "x"}} }, "Config.Users[0] has no Subject"},
		{"subject twice", func(c *oidctest.Config) { c.Users = []oidctest.User{dave, {Subject: dave.Subject, Username: "y"}} }, "Config.Users[1]: the Subject \"dave-sub\" is taken"},
		{"user name twice", func(c *oidctest.Config) { c.Users = []oidctest.User{dave, {Subject: "y", Username: "dave"}} }, "Config.Users[1]: the Username \"dave\" is taken"},
		{"claim not JSON", func(c *oidctest.Config) {
			c.Users = []oidctest.User{{Subject: "y", Username: "y", Claims: map[string]any{"f": func() {}}}}
		}, "Config.Users[0].Claims"},
		{"no client secret", func(c *oidctest.Config) { c.ClientSecret = "" }, "Config.ClientID or ClientSecret is empty"},
		{"no redirect URI", func(c *oidctest.Config) { c.RedirectURIs = nil }, "Config.RedirectURIs is empty"},
		{"relative redirect URI", func(c *oidctest.Config) { c.RedirectURIs = []string{"/callback"} }, "Config.RedirectURIs: \"/callback\" is not an absolute URL"},
		{"relative post-logout URI", func(c *oidctest.Config) { c.PostLogoutRedirectURIs = []string{"/"} }, "Config.PostLogoutRedirectURIs: \"/\" is not an absolute URL"},
		{"relative back-channel logout URI", func(c *oidctest.Config) { c.BackChannelLogoutURI = "/backchannel" }, "Config.BackChannelLogoutURI: \"/backchannel\" is not an absolute URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			p, err := oidctest.New(cfg)
			if err == nil {
				p.Close()
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// rp is a relying party of the provider: its callback records the
// authorization responses.
type rp struct {
	t        *testing.T
	p        *oidctest.Provider
	callback string
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
	client   *http.Client // the browser: cookies, redirects followed
}

func newRP(t *testing.T, remember bool, mods ...func(*oidctest.Config)) *rp {
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "callback")
	}))
	t.Cleanup(cb.Close)
	cfg := oidctest.Config{Users: []oidctest.User{dave}, ClientID: "app", ClientSecret: "secret",
		RedirectURIs: []string{cb.URL + "/callback"}, PostLogoutRedirectURIs: []string{cb.URL + "/logged-out"}, RememberLogin: remember}
	for _, m := range mods {
		m(&cfg)
	}
	p, err := oidctest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	provider, err := gooidc.NewProvider(context.Background(), p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &rp{t: t, p: p, callback: cb.URL + "/callback",
		oauth:    oauth2.Config{ClientID: "app", ClientSecret: "secret", Endpoint: provider.Endpoint(), RedirectURL: cb.URL + "/callback", Scopes: []string{"openid", "profile", "email"}},
		verifier: provider.Verifier(&gooidc.Config{ClientID: "app"}),
		client:   &http.Client{Jar: jar},
	}
}

// authorize sends the browser to the authorization endpoint and returns
// where it stopped: the provider's login page, or the client's callback.
func (c *rp) authorize() *url.URL {
	c.t.Helper()
	resp, err := c.client.Get(c.oauth.AuthCodeURL("state", gooidc.Nonce("nonce")))
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Request.URL
}

// logIn posts the login page's form and returns the callback's URL.
func (c *rp) logIn(page *url.URL, password string) (int, *url.URL) {
	c.t.Helper()
	resp, err := c.client.PostForm(c.p.Issuer+page.Path, url.Values{"username": {"dave"}, "password": {password}, "id": {page.Query().Get("authRequestID")}})
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Request.URL
}

// claims exchanges the code of the callback URL and returns the verified
// ID token's claims.
func (c *rp) claims(at *url.URL) map[string]any {
	c.t.Helper()
	tok, err := c.oauth.Exchange(context.Background(), at.Query().Get("code"))
	if err != nil {
		c.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := c.verifier.Verify(context.Background(), raw)
	if err != nil {
		c.t.Fatalf("verify: %v", err)
	}
	var m map[string]any
	idt.Claims(&m)
	m["raw"] = raw
	return m
}

// A user logs in at the provider's page; the ID token carries the user's
// subject, name, e-mail and claims.
func TestLoginCarriesUserClaims(t *testing.T) {
	c := newRP(t, false)
	page := c.authorize()
	if page.Path != "/login/username" {
		t.Fatalf("authorize: at %s, want the login page", page)
	}
	if status, _ := c.logIn(page, "wrong"); status != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", status)
	}
	status, at := c.logIn(page, dave.Password)
	if status != http.StatusOK || !strings.HasPrefix(at.String(), c.callback+"?") {
		t.Fatalf("login: %d at %s, want the callback", status, at)
	}
	m := c.claims(at)
	roles, _ := m["roles"].([]any)
	if m["sub"] != "dave-sub" || m["name"] != "Dave" || m["email"] != "dave@example.com" || len(roles) != 1 || roles[0] != "staff" {
		t.Errorf("ID token claims %v: want dave's subject, name, e-mail and roles [staff]", m)
	}
}

// With RememberLogin the provider keeps a login session until
// end_session; without it, every authorization asks for the password.
func TestRememberLogin(t *testing.T) {
	for _, remember := range []bool{false, true} {
		t.Run(fmt.Sprintf("RememberLogin=%v", remember), func(t *testing.T) {
			c := newRP(t, remember)
			_, at := c.logIn(c.authorize(), dave.Password)
			raw := c.claims(at)["raw"].(string)
			again := c.authorize()
			if asked := again.Path == "/login/username"; asked == remember {
				t.Fatalf("a second authorization went to %s (login page asked: %v)", again, asked)
			}
			end := c.p.Issuer + "/end_session?" + url.Values{"id_token_hint": {raw}, "client_id": {"app"}, "post_logout_redirect_uri": {strings.TrimSuffix(c.callback, "/callback") + "/logged-out"}}.Encode()
			resp, err := c.client.Get(end)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.Request.URL.Path != "/logged-out" || c.p.EndSessions() != 1 {
				t.Fatalf("end_session: at %s, %d end sessions; want the post-logout URI, 1", resp.Request.URL, c.p.EndSessions())
			}
			if page := c.authorize(); page.Path != "/login/username" {
				t.Errorf("after end_session, an authorization went to %s, want the login page", page)
			}
		})
	}
}

// Every ID token carries the sid of the login session it came from: the
// same for a login the provider remembered, another for another browser.
// When end_session ends a login session, the provider posts a logout
// token naming its sid and subject to the back-channel logout URI, which
// go-oidc's VerifyLogout accepts.
func TestSessionIDAndBackChannelLogout(t *testing.T) {
	tokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens <- r.PostFormValue("logout_token")
	}))
	t.Cleanup(bc.Close)
	withBC := func(c *oidctest.Config) { c.BackChannelLogoutURI = bc.URL + "/backchannel" }
	c := newRP(t, true, withBC)
	_, at := c.logIn(c.authorize(), dave.Password)
	first := c.claims(at)
	sid, _ := first["sid"].(string)
	if len(sid) < 16 {
		t.Fatalf("ID token sid %q, want the login session's", sid)
	}
	if again := c.claims(c.authorize()); again["sid"] != sid {
		t.Errorf("a remembered login's sid %v, want the session's %q", again["sid"], sid)
	}
	jar, _ := cookiejar.New(nil)
	other := *c
	other.client = &http.Client{Jar: jar}
	if _, at := other.logIn(other.authorize(), dave.Password); other.claims(at)["sid"] == sid {
		t.Errorf("another browser's login has the same sid %q", sid)
	}

	resp, err := c.client.Get(c.p.Issuer + "/end_session?" + url.Values{"id_token_hint": {first["raw"].(string)}, "client_id": {"app"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c.p.LogoutTokensSent() != 1 || len(tokens) != 1 {
		t.Fatalf("end_session: %d logout tokens sent, %d received, want 1", c.p.LogoutTokensSent(), len(tokens))
	}
	lt, err := c.verifier.VerifyLogout(context.Background(), <-tokens)
	if err != nil {
		t.Fatalf("the logout token: %v", err)
	}
	if lt.SessionID != sid || lt.Subject != dave.Subject {
		t.Errorf("logout token sid %q sub %q, want %q %q", lt.SessionID, lt.Subject, sid, dave.Subject)
	}
}

// The discovery document names the issuer and the endpoints a relying
// party needs.
func Example() {
	p, err := oidctest.New(oidctest.Config{
		Addr:          "127.0.0.1:0",
		Users:         []oidctest.User{{Subject: "1", Username: "dave", Password: "dave-password", Claims: map[string]any{"roles": []string{"staff"}}}},
		ClientID:      "app",
		ClientSecret:  "secret",
		RedirectURIs:  []string{"http://localhost:8080/login/oidc/callback"},
		RememberLogin: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	var endpoints []string
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"} {
		endpoints = append(endpoints, strings.TrimPrefix(doc[k].(string), p.Issuer))
	}
	fmt.Println(doc["issuer"] == p.Issuer, slices.Contains(doc["code_challenge_methods_supported"].([]any), "S256"))
	fmt.Println(endpoints)
	// Output:
	// true true
	// [/auth /oauth/token /keys /end_session]
}
