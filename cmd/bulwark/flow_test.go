package main

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/nocache"
)

// client is a browser-like client of the demo: it keeps cookies and does
// not follow redirects.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: strings.TrimSuffix(base, "/"), c: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *client) do(method, path string, form url.Values, headers map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) login(user, password, next string) *http.Response {
	c.t.Helper()
	resp, _ := c.do("POST", "/login", url.Values{"username": {user}, "password": {password}, "next": {next}}, nil)
	return resp
}

func TestDemoLoginFlow(t *testing.T) {
	base, _ := startDemo(t)
	anon := newClient(t, base)

	// Anonymous: pages send to the login page, the API answers 401 JSON.
	resp, _ := anon.do("GET", "/account", nil, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next=%2Faccount" {
		t.Errorf("anonymous /account: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := anon.do("GET", "/api/me", nil, nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(body, `"error":"login_required"`) {
		t.Errorf("anonymous /api/me: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}

	// A wrong password stays on the login page.
	if resp := anon.login("alice", "wrong", "/account"); resp.StatusCode != 200 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	if resp := anon.login("nobody", "x", ""); resp.StatusCode != 200 {
		t.Errorf("unknown user: %d", resp.StatusCode)
	}

	// Alice logs in and is sent to next.
	alice := newClient(t, base)
	if resp := alice.login("alice", "alice-password", "/account?tab=1"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/account?tab=1" {
		t.Fatalf("alice login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := alice.do("GET", "/account", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "Alice") {
		t.Errorf("alice /account: %d", resp.StatusCode)
	}
	resp, body = alice.do("GET", "/api/me", nil, nil)
	var me map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &me) != nil || me["id"] != "alice" || me["staff"] != false {
		t.Errorf("alice /api/me: %d %q", resp.StatusCode, body)
	}
	if resp, _ := alice.do("GET", "/admin/", nil, nil); resp.StatusCode != 403 {
		t.Errorf("alice /admin/: %d, want 403", resp.StatusCode)
	}
	// A cross-site form post is refused (CSRF).
	if resp, _ := alice.do("POST", "/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 403 {
		t.Errorf("cross-site logout: %d, want 403", resp.StatusCode)
	}
	// Logout ends the session.
	if resp, _ := alice.do("POST", "/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Errorf("logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := alice.do("GET", "/account", nil, nil); resp.StatusCode != 303 {
		t.Errorf("/account after logout: %d", resp.StatusCode)
	}

	// The staff account reaches the staff page.
	admin := newClient(t, base)
	if resp := admin.login("admin", "admin-password", ""); resp.Header.Get("Location") != "/account" {
		t.Errorf("admin login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := admin.do("GET", "/admin/", nil, nil); resp.StatusCode != 200 {
		t.Errorf("admin /admin/: %d", resp.StatusCode)
	}
}

// TestDemoOpenRedirect logs in once per row of the shared open-redirect
// corpus, with the row as next, and checks that the login never sends the
// browser off the site (the corpus README's end-to-end use).
func TestDemoOpenRedirect(t *testing.T) {
	dir := testenv.Testdata(t, "open-redirect")
	f, err := os.Open(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base, _ := startDemo(t)
	site, _ := url.Parse(base)
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		next, err := strconv.Unquote(`"` + fields[0] + `"`)
		if err != nil {
			t.Fatal(err)
		}
		// The corpus's site is bulwark.test; ours is localhost:port.
		next = strings.ReplaceAll(next, "bulwark.test", site.Host)
		resp := newClient(t, base).login("alice", "alice-password", next)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != 303 {
			t.Errorf("next %q: status %d", next, resp.StatusCode)
			continue
		}
		target, err := site.Parse(loc)
		if err != nil || target.Host != site.Host || strings.ContainsAny(loc, "\x00\r\n\t") ||
			strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) || strings.HasPrefix(loc, `\`) {
			t.Errorf("next %q: Location %q leaves the site", next, loc)
		}
		if fields[1] == "unsafe" && loc != "/account" {
			t.Errorf("unsafe next %q followed: %q", next, loc)
		}
	}
}

func TestDemoExpiredPassword(t *testing.T) {
	base, _ := startDemo(t)
	c := newClient(t, base)
	resp := c.login("expired", "expired-password", "/account")
	if resp.StatusCode != 303 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	// Every page but the change page sends to the change page.
	resp, _ = c.do("GET", "/account", nil, nil)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/password/change") {
		t.Errorf("/account: %d %q, want 303 to /password/change", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := c.do("GET", "/api/me", nil, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "password_change_required") {
		t.Errorf("/api/me: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.do("GET", "/password/change", nil, nil); resp.StatusCode != 200 {
		t.Errorf("change page: %d", resp.StatusCode)
	}
	// A too-short new password is refused; a good one frees the user at once.
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if resp, body := c.do("POST", "/password/change", url.Values{"current": {"expired-password"}, "new": {"short"}}, same); resp.StatusCode != 200 || !strings.Contains(body, "12 characters") {
		t.Errorf("short password: %d", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/password/change", url.Values{"current": {"expired-password"}, "new": {"a-much-longer-password"}}, same)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/account" {
		t.Fatalf("change: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Errorf("/account after the change: %d, want 200", resp.StatusCode)
	}
	// The new password works, the old one does not.
	if resp := newClient(t, base).login("expired", "expired-password", ""); resp.StatusCode != 200 {
		t.Errorf("old password still logs in: %d", resp.StatusCode)
	}
	if resp := newClient(t, base).login("expired", "a-much-longer-password", ""); resp.StatusCode != 303 {
		t.Errorf("new password: %d", resp.StatusCode)
	}
}

func TestDemoIdleExpiry(t *testing.T) {
	base, stderr := startDemo(t, "-idle", "1s")
	c := newClient(t, base)
	if resp := c.login("alice", "alice-password", ""); resp.StatusCode != 303 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("/account: %d", resp.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond) // past the idle timeout
	resp, _ := c.do("GET", "/account", nil, nil)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("/account after the idle timeout: %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.Contains(stderr.String(), `"event":"sessionexpiry.expired"`) {
		t.Error("no sessionexpiry.expired event")
	}
	// The session is gone: logging in again works.
	if resp := c.login("alice", "alice-password", ""); resp.StatusCode != 303 {
		t.Errorf("login again: %d", resp.StatusCode)
	}
}

func TestDemoHeaders(t *testing.T) {
	base, _ := startDemo(t)
	c := newClient(t, base)
	resp, _ := c.do("GET", "/", nil, nil)
	if got := resp.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("Referrer-Policy %q", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "'nonce-") || !strings.Contains(csp, "report-uri /csp-report") {
		t.Errorf("home page CSP %q: want a nonce and the report path", csp)
	}
	// A page with a nonce is no-store; a static file, without one, stays cacheable.
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("home page with a nonce: Cache-Control %q", got)
	}
	resp, _ = c.do("GET", "/static/app.css", nil, nil)
	if got := resp.Header.Get("Cache-Control"); strings.Contains(got, "no-store") {
		t.Errorf("anonymous static file marked no-store: %q", got)
	}
	c.login("alice", "alice-password", "")
	resp, _ = c.do("GET", "/account", nil, nil)
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("/account Cache-Control %q, want no-store", got)
	}
	// AJAX only: a navigation is refused, an XHR passes.
	if resp, _ := c.do("GET", "/ajax/ping", nil, map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}); resp.StatusCode != 403 {
		t.Errorf("/ajax/ping as a navigation: %d, want 403", resp.StatusCode)
	}
	if resp, body := c.do("GET", "/ajax/ping", nil, map[string]string{"X-Requested-With": "XMLHttpRequest"}); resp.StatusCode != 200 || !strings.Contains(body, "pong") {
		t.Errorf("/ajax/ping as XHR: %d %q", resp.StatusCode, body)
	}
	// A script of another origin, with alice's cookie (issue #14, item 6).
	if resp, body := c.do("GET", "/ajax/ping", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Origin": "https://evil.example"}); resp.StatusCode != 403 {
		t.Errorf("/ajax/ping from another origin: %d %q, want 403", resp.StatusCode, body)
	}
	// Logout clears the site's data in the browser.
	resp, _ = c.do("POST", "/logout", url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if got := resp.Header.Get("Clear-Site-Data"); got != `"cookies", "storage"` {
		t.Errorf("logout Clear-Site-Data %q", got)
	}
}

// TestDemoWhatBulwarkDid checks each page's "what bulwark did here" box
// against the response's real headers: the policies with this response's
// nonce, the report-only rollout, who set Cache-Control, and no session
// token on display.
func TestDemoWhatBulwarkDid(t *testing.T) {
	base, _ := startDemo(t)
	c := newClient(t, base)
	shows := func(page, body, name, value, by string) {
		t.Helper()
		row := "<tr><td><code>" + name + "</code></td><td><code>" + html.EscapeString(value) + "</code></td><td>" + by
		if value == "" || !strings.Contains(body, row) {
			t.Errorf("%s: the box has no row %q", page, row)
		}
	}
	resp, body := c.do("GET", "/", nil, nil)
	enforced, rollout := resp.Header.Get("Content-Security-Policy"), resp.Header.Get("Content-Security-Policy-Report-Only")
	shows("/", body, "Content-Security-Policy", enforced, "csp")
	shows("/", body, "Content-Security-Policy-Report-Only", rollout, "csp")
	shows("/", body, "Referrer-Policy", resp.Header.Get("Referrer-Policy"), "referrer")
	shows("/", body, "Cache-Control", resp.Header.Get("Cache-Control"), "csp")
	shows("/", body, "X-Frame-Options", resp.Header.Get("X-Frame-Options"), "unrolled/secure")
	m := regexp.MustCompile(`<code id="nonce">([^<]+)</code>`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(enforced, "'nonce-"+m[1]+"'") || !strings.Contains(rollout, "'nonce-"+m[1]+"'") {
		t.Errorf("the nonce shown (%q) is not the one of the policies %q and %q", m, enforced, rollout)
	}
	if !strings.Contains(rollout, "require-trusted-types-for 'script'") || strings.Contains(enforced, "require-trusted-types") {
		t.Errorf("report-only rollout: enforced %q, report-only %q", enforced, rollout)
	}

	resp = c.login("alice", "alice-password", "")
	var token string
	for _, ck := range resp.Cookies() {
		if ck.Name == "bulwark_session" {
			token = ck.Value
		}
	}
	resp, body = c.do("GET", "/account", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/account: %d", resp.StatusCode)
	}
	shows("/account", body, "Cache-Control", nocache.CacheControl, "nocache")
	if token == "" || strings.Contains(body, token) {
		t.Errorf("/account: session token %q missing from the login or shown on the page", token)
	}
	if !strings.Contains(body, "this session ends after 30m0s without a request") {
		t.Error("/account: the box does not give the idle timeout")
	}
}
