package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
)

// demoHandler builds the demo's handler in the test's process, so that
// requests can come from any client address.
func demoHandler(t *testing.T) http.Handler {
	t.Helper()
	sec, _ := seclogtest.New(t)
	h, _, err := newDemoHandler(t.Context(), sec, sqlstoretest.SQLite(t), demoConfig{idle: time.Hour, origin: "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// postLogin posts the login form from the client at remote (host:port)
// with cookies, and returns the response.
func postLogin(h http.Handler, remote, user, password string, cookies []*http.Cookie) *http.Response {
	form := url.Values{"username": {user}, "password": {password}}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remote
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// TestDemoParallelWrongLoginsAreNotAllHashed: 60 wrong passwords for admin
// sent at once from one client cost at most the client's free tries in
// password hashes; the others are refused before any hash.
func TestDemoParallelWrongLoginsAreNotAllHashed(t *testing.T) {
	h := demoHandler(t)
	before := passwordChecks.Load()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 60 {
		wg.Go(func() {
			resp := postLogin(h, "203.0.113.7:40000", "admin", "guess", nil)
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if hashed := passwordChecks.Load() - before; hashed > 5 {
		t.Errorf("60 parallel wrong logins hashed %d passwords (answers %v); want at most 5", hashed, codes)
	}
	if codes[http.StatusTooManyRequests] < 55 {
		t.Errorf("answers %v; want at least 55 × 429", codes)
	}
}

// TestDemoJunkFloodCostsNoHashesAndOwnerGetsIn: a flood of wrong passwords
// for alice from 100 clients is answered mostly without hashing, and alice,
// from the browser she logged in with before, logs in during the flood at
// the cost of one hash.
func TestDemoJunkFloodCostsNoHashesAndOwnerGetsIn(t *testing.T) {
	h := demoHandler(t)
	first := postLogin(h, "198.51.100.20:1000", "alice", "alice-password", nil)
	if first.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's first login: %d", first.StatusCode)
	}
	device := first.Cookies()
	before := passwordChecks.Load()
	var wg sync.WaitGroup
	for c := range 100 {
		wg.Go(func() {
			for range 10 {
				postLogin(h, "203.0.113."+strconv.Itoa(c)+":2000", "alice", "junk", nil)
			}
		})
	}
	wg.Wait()
	flood := passwordChecks.Load() - before
	if flood > 100 {
		t.Errorf("1,000 junk logins from 100 clients hashed %d passwords; want at most 100 (the account's budget for unknown clients)", flood)
	}
	before = passwordChecks.Load()
	resp := postLogin(h, "198.51.100.20:1001", "alice", "alice-password", device)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("alice's login during the flood, from her browser: %d, want 303", resp.StatusCode)
	}
	if n := passwordChecks.Load() - before; n != 1 {
		t.Errorf("alice's login hashed %d passwords, want 1", n)
	}
}

var nonceRE = regexp.MustCompile(`<code id="nonce">([^<]+)</code>`)

// withoutNonce returns the page with its CSP nonce replaced by "NONCE".
func withoutNonce(page string) string {
	if m := nonceRE.FindStringSubmatch(page); m != nil {
		return strings.ReplaceAll(page, m[1], "NONCE")
	}
	return page
}

// TestDemoUnknownAndKnownUserAnswerAlike: a wrong password for alice and
// any password for a user that does not exist get the same answer at the
// same cost (one hash each), and the same refusal once throttled.
func TestDemoUnknownAndKnownUserAnswerAlike(t *testing.T) {
	h := demoHandler(t)
	answer := func(remote, user string) (int, string, string, int64) {
		before := passwordChecks.Load()
		resp := postLogin(h, remote, user, "wrong-password", nil)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, withoutNonce(string(b)), resp.Header.Get("Retry-After"), passwordChecks.Load() - before
	}
	for i := range 7 {
		ks, kb, kr, kh := answer("192.0.2.10:1", "alice")
		us, ub, ur, uh := answer("192.0.2.11:1", "nobody")
		if ks != us || kb != ub || kr != ur || kh != uh {
			t.Fatalf("attempt %d: known user %d Retry-After %q, %d hashes; unknown user %d Retry-After %q, %d hashes; bodies equal: %v",
				i+1, ks, kr, kh, us, ur, uh, kb == ub)
		}
		if i == 6 && (ks != http.StatusTooManyRequests || kr == "" || kh != 0) {
			t.Errorf("attempt 7: %d, Retry-After %q, %d hashes; want 429 with Retry-After and no hash", ks, kr, kh)
		}
	}
}
