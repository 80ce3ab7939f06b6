package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestPublicOrigin(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 1, 1), Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://localhost:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9}, "http://localhost:9"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}, "http://192.0.2.1:8080"},
	} {
		if got := publicOrigin(tc.addr); got != tc.want {
			t.Errorf("publicOrigin(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// A request that names the demo by another loopback name is sent to the
// same path and query on localhost; every other request is served.
func TestCanonicalHost(t *testing.T) {
	h := canonicalHost("http://localhost:8080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served")
	}))
	for _, tc := range []struct {
		method, host, target string
		wantLocation         string // "" for served
	}{
		{"GET", "localhost:8080", "/account", ""},
		{"GET", "127.0.0.1:8080", "/account?next=%2Fadmin%2F", "http://localhost:8080/account?next=%2Fadmin%2F"},
		{"POST", "127.0.0.1:8080", "/login", "http://localhost:8080/login"},
		{"GET", "[::1]:8080", "/", "http://localhost:8080/"},
		{"GET", "127.0.0.2:8080", "/x", "http://localhost:8080/x"},
		{"GET", "LOCALHOST:8080", "/x", "http://localhost:8080/x"},
		{"GET", "localhost.:8080", "/x", "http://localhost:8080/x"},
		{"GET", "127.0.0.1:8080", "//evil.example/", "http://localhost:8080/"},
		{"GET", "127.0.0.1:8080", "/a/../b", "http://localhost:8080/"},
		{"GET", "127.0.0.1:8081", "/", ""},    // another port: not the demo
		{"GET", "192.0.2.1:8080", "/", ""},    // the machine's address on the network
		{"GET", "demo.example:8080", "/", ""}, // a name of the network
		{"GET", "127.0.0.1", "/", ""},         // no port: not the demo's
	} {
		r := httptest.NewRequest(tc.method, "http://x"+tc.target, nil)
		r.Host = tc.host
		r.RequestURI = tc.target
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if tc.wantLocation == "" {
			if w.Code != 200 || w.Body.String() != "served" {
				t.Errorf("%s %s%s: %d %q, want it served", tc.method, tc.host, tc.target, w.Code, w.Header().Get("Location"))
			}
			continue
		}
		if w.Code != http.StatusTemporaryRedirect || w.Header().Get("Location") != tc.wantLocation {
			t.Errorf("%s %s%s: %d %q, want 307 to %q", tc.method, tc.host, tc.target, w.Code, w.Header().Get("Location"), tc.wantLocation)
		}
	}
}

// A provider user's account is made at the first login with no password,
// and its staff flag follows the role claim at every login; an account
// disabled here stays disabled.
func TestFederatedLogin(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		users, err := newUserStore(ctx, db, passwordIterations)
		if err != nil {
			t.Fatal(err)
		}
		login := func(name string, roles ...string) *account {
			t.Helper()
			u, err := users.federatedLogin(ctx, &oidc.Claims{Issuer: "http://127.0.0.1:8081", Subject: "dave", Name: name, Roles: roles})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := u.(*account)
			if a == nil {
				t.Fatalf("federatedLogin returned %T", u)
			}
			return a
		}
		a := login("Dave", "staff")
		if a.UserID != "http://127.0.0.1:8081|dave" || a.Name != "Dave" || !a.IsStaff || !a.IsActive || a.IsSuperuser || !a.federated() {
			t.Errorf("first login: %+v, want an active staff account keyed on issuer and subject", a.Basic)
		}
		if a := login("Dave D."); a.IsStaff || a.Name != "Dave D." {
			t.Errorf("a login without the role: %+v, want staff taken away and the new name", a.Basic)
		}
		if u, err := users.authenticate(ctx, a.UserID, ""); u != nil || err != nil {
			t.Errorf("a password login to the provider user's account: %v, %v; want none", u, err)
		}
		sqlstoretest.Exec(t, db.Writer(), db.Q(sqldb.Portable(`UPDATE demo_users SET is_active = ? WHERE id = ?`)), false, a.UserID)
		if a := login("Dave", "staff"); a.IsActive {
			t.Error("an account disabled here was made active again by a provider login")
		}
	})
}

// providerDemo is the demo built in the test's process with its provider,
// served at http://localhost:PORT, as runDemo serves it.
type providerDemo struct {
	origin   string
	provider *oidctest.Provider
	rec      *seclogtest.Recorder
}

func startProviderDemo(t *testing.T) *providerDemo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &providerDemo{origin: publicOrigin(ln.Addr())}
	if d.provider, err = startProvider("127.0.0.1:0", d.origin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.provider.Close() })
	sec, rec := seclogtest.New(t)
	d.rec = rec
	h, _, err := newDemoHandler(t.Context(), sec, sqlstoretest.SQLite(t), demoConfig{idle: time.Hour, origin: d.origin, provider: d.provider})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(canonicalHost(d.origin, h))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

// fetch fetches u with c (following redirects) and returns the status, the
// body and the final URL.
func fetch(t *testing.T, c *http.Client, u string) (int, string, *url.URL) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// loginAtProvider starts the provider login at the demo with next and
// logs in at the provider's page as dave; it returns the demo's last
// answer.
func (d *providerDemo) loginAtProvider(t *testing.T, c *http.Client, next string) (int, string, *url.URL) {
	t.Helper()
	status, body, at := fetch(t, c, d.origin+"/login/oidc?next="+url.QueryEscape(next))
	if status != 200 || !strings.HasPrefix(at.String(), d.provider.Issuer+"/login/username?") {
		t.Fatalf("start: %d at %s, want the provider's login page: %s", status, at, body)
	}
	resp, err := c.PostForm(d.provider.Issuer+"/login/username", url.Values{"username": {"dave"}, "password": {"dave-password"}, "id": {at.Query().Get("authRequestID")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// dave logs in through the provider, is staff by its role claim, keeps
// "next", and logs out here and at the provider; the provider's
// back-channel logout ends his sessions.
func TestProviderLoginAndLogout(t *testing.T) {
	d := startProviderDemo(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}

	status, body, at := fetch(t, c, d.origin+"/login?next=%2Fadmin%2F")
	if status != 200 || !strings.Contains(body, `href="/login/oidc?next=%2fadmin%2f"`) {
		t.Fatalf("the login page (%d at %s) has no provider button keeping next:\n%s", status, at, body)
	}
	status, body, at = d.loginAtProvider(t, c, "/admin/")
	if status != 200 || at.String() != d.origin+"/admin/" || !strings.Contains(body, "Only staff see this page.") {
		t.Fatalf("after the provider login: %d at %s, want the staff page", status, at)
	}
	if _, body, _ := fetch(t, c, d.origin+"/api/me"); !strings.Contains(body, `"id":"`+d.provider.Issuer+`|dave"`) || !strings.Contains(body, `"staff":true`) {
		t.Errorf("/api/me after the provider login: %s", body)
	}

	resp, err := c.PostForm(d.origin+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if at := resp.Request.URL; at.String() != d.origin+"/logged-out" || d.provider.EndSessions() != 1 {
		t.Fatalf("logout: at %s with %d end sessions at the provider, want %s/logged-out and 1", at, d.provider.EndSessions(), d.origin)
	}
	if _, body, _ := fetch(t, c, d.origin+"/logged-out"); !strings.Contains(body, `id="logged-out"`) {
		t.Errorf("the logged-out page does not say so:\n%s", body)
	}
	if _, _, at := fetch(t, c, d.origin+"/account"); at.Path != "/login" {
		t.Errorf("after logout /account went to %s, want the login page", at)
	}
	var atProvider bool
	for _, e := range d.rec.Named("oidc.logout") {
		atProvider = atProvider || e.Field("at_provider") == "true"
	}
	if !atProvider {
		t.Error("no oidc.logout event with at_provider=true")
	}

	// The provider ends dave's sessions over the back channel.
	d.loginAtProvider(t, c, "/account")
	token := d.provider.Sign(t, map[string]any{
		"iss": d.provider.Issuer, "aud": d.provider.ClientID, "sub": "dave", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		"jti": "logout-1", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	resp, err = http.PostForm(d.origin+"/login/oidc/backchannel", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("back-channel logout: %d, want 200", resp.StatusCode)
	}
	if _, _, at := fetch(t, c, d.origin+"/account"); at.Path != "/login" {
		t.Errorf("after the back-channel logout /account went to %s, want the login page", at)
	}
}

// dave is logged in on two browsers, each its own session at the
// provider. Logging out at the provider on one (its end_session, as
// another application of the provider would send him there) makes the
// provider post a logout token naming that session's sid: the demo ends
// that browser's session and only that one.
func TestProviderLogoutEndsOneBrowser(t *testing.T) {
	d := startProviderDemo(t)
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 10 * time.Second}
	}
	a, b := browser(), browser()
	for _, c := range []*http.Client{a, b} {
		if status, _, at := d.loginAtProvider(t, c, "/account"); status != 200 || at.Path != "/account" {
			t.Fatalf("login: %d at %s", status, at)
		}
	}
	d.rec.Take()
	if status, _, _ := fetch(t, a, d.provider.Issuer+"/end_session"); status != 200 {
		t.Fatalf("end_session at the provider: %d", status)
	}
	if d.provider.LogoutTokensSent() != 1 {
		t.Fatalf("%d logout tokens sent, want 1", d.provider.LogoutTokensSent())
	}
	ev := d.rec.Named("oidc.backchannel_logout")
	if len(ev) != 1 || ev[0].Field("ended") != "1" {
		t.Fatalf("oidc.backchannel_logout events %+v, want one that ended 1 session", d.rec.All())
	}
	if _, _, at := fetch(t, a, d.origin+"/account"); at.Path != "/login" {
		t.Errorf("the browser logged out at the provider: /account went to %s, want the login page", at)
	}
	if _, _, at := fetch(t, b, d.origin+"/account"); at.Path != "/account" {
		t.Errorf("the other browser: /account went to %s, want it still logged in", at)
	}
}

// A password user's logout stays local: home, and the provider is not
// asked.
func TestPasswordLogoutStaysLocal(t *testing.T) {
	d := startProviderDemo(t)
	c := newClient(t, d.origin)
	if resp := c.login("alice", "alice-password", ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's login: %d", resp.StatusCode)
	}
	resp, _ := c.do("POST", "/logout", url.Values{}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || d.provider.EndSessions() != 0 {
		t.Errorf("alice's logout: %d to %q, %d end sessions; want 303 to / and none", resp.StatusCode, resp.Header.Get("Location"), d.provider.EndSessions())
	}
}

// -provider-addr 0 turns the provider off: no dave at start, no button,
// no provider routes.
func TestProviderOff(t *testing.T) {
	base, _ := startDemo(t, "-provider-addr", "0")
	if out := demoOutput[base]; strings.Contains(out, "dave") || strings.Contains(out, "demo provider") {
		t.Errorf("with the provider off, the demo printed:\n%s", out)
	}
	c := newClient(t, base)
	if _, body := c.do("GET", "/login", nil, nil); strings.Contains(body, "provider-login") {
		t.Error("with the provider off, the login page has the provider's button")
	}
	if resp, _ := c.do("GET", "/login/oidc", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
		t.Errorf("with the provider off, /login/oidc: %d %q, want the login gate's redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(demoOutput[base], "alice / alice-password") {
		t.Errorf("the demo did not print its accounts:\n%s", demoOutput[base])
	}
}
