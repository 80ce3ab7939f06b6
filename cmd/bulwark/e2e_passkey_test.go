package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

var (
	codeField      = chromedp.CSS(`#code`)
	passkeyRows    = chromedp.CSS(`#passkeys tr.passkey`)
	usePasskeyLink = chromedp.CSS(`#use-passkey`)
	passkeyButton  = chromedp.ID("use-my-passkey")
)

// TestE2EPasskeyInChromium: in a real Chromium with the DevTools virtual
// authenticator, carol logs in with her password and TOTP code, adds a
// passkey on her account page, logs out, logs in with her password,
// chooses "Use passkey instead", and lands on the page she asked for; then
// she logs in with the passkey alone ("Log in with a passkey", user
// verification) and is asked for no second factor. The demo runs in the
// test's process (startPasskeyDemo), so that the test knows carol's TOTP
// secret and reads the security events.
func TestE2EPasskeyInChromium(t *testing.T) {
	testenv.Chromium(t)
	d := startPasskeyDemo(t, sqlstoretest.SQLite(t))
	e := &e2e{shots: screenshotDir(t, moduleRoot(t))}
	tab := testenv.BrowserWith(t, testenv.BrowserOptions{Timeout: 2 * time.Minute})
	at := func(want string) {
		t.Helper()
		if loc := location(tab); loc != d.origin+want {
			t.Fatalf("the browser is at %s, want %s%s", loc, d.origin, want)
		}
	}
	result(t, tab, "add a virtual authenticator", testenv.VirtualAuthenticator())

	step(t, tab, "visit /account anonymously", chromedp.Navigate(d.origin+"/account"))
	e.login(t, tab, "carol", "carol-password", codeField)
	code, err := ptotp.GenerateCode(d.secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	step(t, tab, "type the TOTP code", chromedp.SendKeys(codeField, code), chromedp.Click(chromedp.ID("verify")), chromedp.WaitVisible(accountPage))
	at("/account")
	step(t, tab, "add a passkey named laptop",
		chromedp.SendKeys(chromedp.ID("pk-name"), "laptop"),
		chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(passkeyRows),
	)
	if rows := result(t, tab, "read the passkeys", chromedp.Text(chromedp.ID("passkeys"))); !strings.Contains(rows, "laptop") || !strings.Contains(rows, "never") {
		t.Errorf("carol's passkeys after adding one:\n%s", rows)
	}
	e.screenshot(t, tab, "passkey-account.png")
	if ev := d.rec.Named("passkey.registered"); len(ev) != 1 || ev[0].Field("user") != "carol" {
		t.Fatalf("passkey.registered: %+v", ev)
	}

	step(t, tab, "log out", chromedp.Click(logout), chromedp.WaitVisible(loginLink))
	d.rec.Take()
	step(t, tab, "visit the page asked for anonymously", chromedp.Navigate(d.origin+"/account?via=passkey"), chromedp.WaitVisible(loginForm))
	e.login(t, tab, "carol", "carol-password", usePasskeyLink)
	step(t, tab, "choose the passkey instead of TOTP", chromedp.Click(usePasskeyLink), chromedp.WaitVisible(passkeyButton))
	e.screenshot(t, tab, "passkey-challenge.png")
	step(t, tab, "use the passkey", chromedp.Click(passkeyButton), chromedp.WaitVisible(accountPage))
	at("/account?via=passkey")
	if ev := d.rec.Named("mfa.success"); len(ev) != 1 || ev[0].Field("mfa_method") != "passkey" {
		t.Fatalf("mfa.success: %+v (events %q)", ev, d.rec.Names())
	}
	if rows := result(t, tab, "read the passkeys", chromedp.Text(chromedp.ID("passkeys"))); strings.Contains(rows, "never") {
		t.Errorf("the passkey's last use is not shown after the login:\n%s", rows)
	}

	// The passwordless login: the passkey alone, with user verification,
	// is both factors.
	step(t, tab, "log out", chromedp.Click(logout), chromedp.WaitVisible(loginLink))
	d.rec.Take()
	step(t, tab, "open the login page with next", chromedp.Navigate(d.origin+"/login?next=%2Faccount%3Fvia%3Dpasswordless"), chromedp.WaitVisible(chromedp.ID("passkey-login")))
	step(t, tab, "log in with a passkey", chromedp.Click(chromedp.ID("passkey-login")), chromedp.WaitVisible(accountPage))
	at("/account?via=passwordless")
	names := d.rec.Names()
	if !slices.Contains(names, "passkey.login") || slices.Contains(names, "mfa.challenge") || slices.Contains(names, "mfa.success") {
		t.Errorf("the passwordless login's events: %q, want passkey.login and no second factor", names)
	}
}
