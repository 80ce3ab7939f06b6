package main

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/sqlstore"
)

// TestDemoSessionsInSQLite: the sessions live in the demo's SQLite file,
// not in the process: a session made by one demo is valid on a second one
// started on the same file, and a logout on the second ends it on the
// first as well.
func TestDemoSessionsInSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	first, _ := startDemo(t, "-db", db)
	second, _ := startDemo(t, "-db", db)

	var session *http.Cookie
	for _, ck := range newClient(t, first).login("alice", "alice-password", "").Cookies() {
		if ck.Name == "bulwark_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("login on the first demo: no session cookie")
	}
	with := func(base string) *client {
		c := newClient(t, base)
		c.c.Jar = nil
		c.c.Transport = cookieTransport{session}
		return c
	}
	if resp, _ := with(second).do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("/account on the second demo with the first one's session: %d, want 200", resp.StatusCode)
	}
	if resp, _ := with(second).do("POST", "/logout", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 303 {
		t.Fatalf("logout on the second demo: %d", resp.StatusCode)
	}
	resp, _ := with(first).do("GET", "/account", nil, nil)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("/account on the first demo after the logout: %d %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// cookieTransport sends one cookie with every request.
type cookieTransport struct{ c *http.Cookie }

func (ct cookieTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.AddCookie(ct.c)
	return http.DefaultTransport.RoundTrip(r)
}

// TestDemoPasswordChangeEndsOtherSessions: alice is logged in twice (A on
// the first demo, B on a second demo on the same database); she changes
// her password in A. A stays logged in; B, on the other instance, is
// logged out at its next request.
func TestDemoPasswordChangeEndsOtherSessions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	first, _ := startDemo(t, "-db", db)
	second, _ := startDemo(t, "-db", db)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	a, b := newClient(t, first), newClient(t, second)
	for name, c := range map[string]*client{"A": a, "B": b} {
		if resp := c.login("alice", "alice-password", ""); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %s: %d", name, resp.StatusCode)
		}
		if resp, _ := c.do("GET", "/api/me", nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("/api/me in %s before the change: %d", name, resp.StatusCode)
		}
	}
	resp, _ := a.do("POST", "/password/change", url.Values{"current": {"alice-password"}, "new": {"alice-new-password"}}, same)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change in A: %d", resp.StatusCode)
	}
	if resp, _ := a.do("GET", "/api/me", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/api/me in A, the session that changed the password: %d, want 200", resp.StatusCode)
	}
	if resp, body := b.do("GET", "/api/me", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/api/me in B after the change in A: %d %q, want 401", resp.StatusCode, body)
	}
}

// TestDemoAdminResetAndLogoutEverywhere: an administrator's reset of
// alice's password (written to the database, as an admin tool would) ends
// every session of hers, on both demos; "log out everywhere" on one demo
// ends her sessions on the other as well.
func TestDemoAdminResetAndLogoutEverywhere(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shared.db")
	first, _ := startDemo(t, "-db", db)
	second, _ := startDemo(t, "-db", db)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	login := func() (*client, *client) {
		a, b := newClient(t, first), newClient(t, second)
		for _, c := range []*client{a, b} {
			if resp := c.login("alice", "alice-password", ""); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", resp.StatusCode)
			}
		}
		return a, b
	}
	loggedOut := func(what string, cs ...*client) {
		t.Helper()
		for i, c := range cs {
			if resp, _ := c.do("GET", "/api/me", nil, nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: /api/me of session %d: %d, want 401", what, i, resp.StatusCode)
			}
		}
	}

	a, b := login()
	if resp, _ := b.do("POST", "/logout/everywhere", url.Values{}, same); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log out everywhere: %d", resp.StatusCode)
	}
	loggedOut("after log out everywhere", a, b)

	a, b = login()
	sdb, err := sqlstore.Open(context.Background(), "sqlite:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	hash, err := hashPassword("reset-by-the-admin", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Writer().Exec(`UPDATE demo_users SET password_hash = ? WHERE id = 'alice'`, hash); err != nil {
		t.Fatal(err)
	}
	loggedOut("after an administrator's reset", a, b)
}
