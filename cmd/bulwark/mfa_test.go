package main

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/chromedp/chromedp"
	ptotp "github.com/pquerna/otp/totp"
)

// carolSecretOf returns the TOTP secret the demo at base printed.
func carolSecretOf(t *testing.T, base string) string {
	t.Helper()
	m := regexp.MustCompile(`carol's TOTP secret: ([A-Z2-7]+)`).FindStringSubmatch(demoOutput[base])
	if m == nil {
		t.Fatalf("the demo did not print carol's TOTP secret: %q", demoOutput[base])
	}
	return m[1]
}

func TestDemoCarolTOTP(t *testing.T) {
	base, _ := startDemo(t)
	secret := carolSecretOf(t, base)
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	c := newClient(t, base)
	if resp := c.login("carol", "carol-password", "/account?tab=2"); resp.StatusCode != 303 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	// Until the code, every page sends to the challenge; a script gets 401/403 JSON.
	resp, _ := c.do("GET", "/account", nil, nil)
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/mfa") {
		t.Fatalf("/account before the code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.do("GET", "/api/me", nil, nil); resp.StatusCode/100 != 4 || !strings.Contains(body, "mfa_required") {
		t.Errorf("/api/me before the code: %d %q", resp.StatusCode, body)
	}
	if resp, _ := c.do("GET", "/mfa", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("GET /mfa: %d", resp.StatusCode)
	}
	// A method carol does not have is refused; the challenge under way
	// stays.
	if resp, body := c.do("GET", "/mfa?method=sms", nil, nil); resp.StatusCode != 403 || !strings.Contains(body, "not one of yours") {
		t.Errorf("GET /mfa?method=sms: %d", resp.StatusCode)
	}
	if resp, body := c.do("POST", "/mfa", url.Values{"code": {"000000"}}, same); resp.StatusCode != 403 || !strings.Contains(body, "Wrong") {
		t.Errorf("wrong code: %d", resp.StatusCode)
	}
	code, err := ptotp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The right code, sent as the answer of another method, is refused
	// unchecked (and so not used up).
	if resp, _ := c.do("POST", "/mfa", url.Values{"code": {code}, "mfa_method": {"passkey"}}, same); resp.StatusCode != 403 {
		t.Errorf("the code as another method's answer: %d", resp.StatusCode)
	}
	resp, _ = c.do("POST", "/mfa", url.Values{"code": {code}}, same)
	// The return path kept is the last page carol asked for (/account,
	// after the login's next); the API request did not replace it.
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/account" {
		t.Fatalf("right code: %d %q, want 303 to the kept page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := c.do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Errorf("/account after the code: %d", resp.StatusCode)
	}

	// The same code again, in a new login, is a replay.
	c2 := newClient(t, base)
	c2.login("carol", "carol-password", "")
	c2.do("GET", "/mfa", nil, nil)
	if resp, body := c2.do("POST", "/mfa", url.Values{"code": {code}}, same); resp.StatusCode != 403 || !strings.Contains(body, "used already") {
		t.Errorf("replayed code: %d", resp.StatusCode)
	}
	// With no other page asked for, the login's next is where the code leads.
	// (The next time step's code: the verifier allows one step of drift,
	// and the current step's code is used already.)
	c3 := newClient(t, base)
	c3.login("carol", "carol-password", "/account?tab=2")
	c3.do("GET", "/mfa", nil, nil)
	code2, _ := ptotp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if resp, _ := c3.do("POST", "/mfa", url.Values{"code": {code2}}, same); resp.Header.Get("Location") != "/account?tab=2" {
		t.Errorf("code after a login with next: %d %q, want /account?tab=2", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Alice is not asked for a second factor.
	a := newClient(t, base)
	a.login("alice", "alice-password", "")
	if resp, _ := a.do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Errorf("alice /account: %d", resp.StatusCode)
	}
}

// TestDemoCarolTOTPInChromium: carol logs in with a real browser, is
// challenged, types a code computed by the test and reaches her account
// page; the same code is refused after a new login.
func TestDemoCarolTOTPInChromium(t *testing.T) {
	ctx := testenv.Browser(t)
	base, _ := startDemo(t)
	secret := carolSecretOf(t, base)
	base = strings.TrimSuffix(base, "/")

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s: %v (at %s)", what, err, loc)
		}
	}
	login := func() {
		step("open /account and land on the login page",
			chromedp.Navigate(base+"/account"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		)
		step("log in",
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "carol"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "carol-password"),
			chromedp.Submit(chromedp.CSS(`input[name=password]`)),
			chromedp.WaitVisible(chromedp.ID("code")),
		)
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, base+"/mfa") {
			t.Fatalf("after the password: at %s, want the challenge", loc)
		}
	}

	login()
	code, err := ptotp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	step("type the code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.ID("account")),
	)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("account")))
	if err != nil || !strings.Contains(text, "Carol") {
		t.Errorf("account page: %q, %v", text, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/account" {
		t.Errorf("after the code: at %s, want %s/account", loc, base)
	}

	// Log out, log in again, replay the same code: refused.
	step("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/login"]`)),
	)
	login()
	step("replay the code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitVisible(chromedp.CSS(`.error`)),
	)
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.error`)))
	if err != nil || !strings.Contains(msg, "used already") {
		t.Errorf("replayed code: %q, %v", msg, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, base+"/mfa") {
		t.Errorf("after the replayed code: at %s, want the challenge", loc)
	}
}

// TestDemoCSPInChromium: the home page's nonced script runs, the script
// without the nonce is blocked, and the browser's report reaches the
// receiver and the staff summary.
func TestDemoCSPInChromium(t *testing.T) {
	ctx := testenv.Browser(t)
	base, _ := startDemo(t)
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("nonced"))); err != nil {
		t.Fatalf("the nonced script did not run: %v", err)
	}
	blocked, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.getElementById("blocked") !== null`))
	if err != nil || blocked {
		t.Errorf("the script without the nonce ran (%v, %v)", blocked, err)
	}
	admin := newClient(t, base)
	admin.login("admin", "admin-password", "")
	// The demo is served over plain HTTP: its policy carries report-uri
	// alone, which Chromium sends at once.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := admin.do("GET", "/admin/csp-reports?format=json", nil, nil)
		if resp.StatusCode == 200 && strings.Contains(body, "script-src") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no script-src report in the summary after 20s: %d %.300s", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
