package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
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
	sdb := sqlstoretest.Open(t, "sqlite:"+db)
	hash, err := hashPassword("reset-by-the-admin", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Writer().Exec(`UPDATE demo_users SET password_hash = ? WHERE id = 'alice'`, hash); err != nil {
		t.Fatal(err)
	}
	loggedOut("after an administrator's reset", a, b)
}

// TestDemoLogoutDuringPasswordChange is the reproduction, made
// deterministic: a password change is sent with "Expect: 100-continue",
// so the demo answers "100 Continue" only once its handler reads the body,
// after the session was loaded; then the session is logged out on another
// connection; then the body is sent. The renewal must not bring the
// session back under a new token.
func TestDemoLogoutDuringPasswordChange(t *testing.T) {
	base, _ := startDemo(t)
	alice := newClient(t, base)
	if resp := alice.login("alice", "alice-password", ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	u, _ := url.Parse(base)
	var session string
	for _, c := range alice.c.Jar.Cookies(u) {
		if c.Name == "bulwark_session" {
			session = c.Value
		}
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	body := url.Values{"current": {"alice-password"}, "new": {"alice-new-password"}}.Encode()
	fmt.Fprintf(conn, "POST /password/change HTTP/1.1\r\nHost: %s\r\nCookie: bulwark_session=%s\r\nSec-Fetch-Site: same-origin\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", u.Host, session, len(body))
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("waiting for 100 Continue: %q %v", line, err)
	}
	br.ReadString('\n') // the blank line after the interim response
	other := newClient(t, base)
	other.c.Jar = nil
	other.c.Transport = cookieTransport{&http.Cookie{Name: "bulwark_session", Value: session}}
	if resp, _ := other.do("POST", "/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name != "bulwark_session" || c.MaxAge < 0 || c.Value == "" {
			continue
		}
		after := newClient(t, base)
		after.c.Jar = nil
		after.c.Transport = cookieTransport{c}
		if r, body := after.do("GET", "/api/me", nil, nil); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the password change answered %d with a session cookie that /api/me accepts: %d %q", resp.StatusCode, r.StatusCode, body)
		}
	}
}

// TestDemoSessionStoreIterates: the demo's store lists its live sessions,
// and only those, for scs's Iterate (a provider's back-channel logout
// walks them).
func TestDemoSessionStoreIterates(t *testing.T) {
	ctx := t.Context()
	db, err := openDB(ctx, filepath.Join(t.TempDir(), "iter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := newUserStore(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	store := newSessionStore(ctx, db, time.Hour)
	sm := scs.New()
	sm.Store = store
	now := time.Now()
	for token, expiry := range map[string]time.Time{"live-1": now.Add(time.Hour), "live-2": now.Add(time.Hour), "gone": now.Add(-time.Second)} {
		b, err := sm.Codec.Encode(expiry, map[string]any{"who": token})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CommitCtx(ctx, token, b, expiry); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	if err := sm.Iterate(ctx, func(ctx context.Context) error {
		seen = append(seen, sm.GetString(ctx, "who"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"live-1", "live-2"}) {
		t.Errorf("Iterate saw %v, want the two live sessions", seen)
	}
}
