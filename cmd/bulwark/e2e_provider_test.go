package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

var (
	providerButton = chromedp.CSS(`#provider-login`)
	providerForm   = chromedp.CSS(`#oidctest-login`)
	loggedOut      = chromedp.CSS(`#logged-out`)
)

// TestE2EProviderLoginInChromium logs dave in through the demo provider in
// a real Chromium: the login page's button, the provider's own page, back
// on the staff page asked for; then Log out ends both sessions. The demo
// runs in the test's process (startProviderDemo), so that the test reads
// the provider's counters.
func TestE2EProviderLoginInChromium(t *testing.T) {
	testenv.Chromium(t)
	d := startProviderDemo(t)
	e := &e2e{shots: screenshotDir(t, moduleRoot(t))}
	tab := testenv.BrowserWith(t, testenv.BrowserOptions{Timeout: 2 * time.Minute})
	at := func(want string) {
		t.Helper()
		if loc := location(tab); loc != want {
			t.Fatalf("the browser is at %s, want %s", loc, want)
		}
	}

	step(t, tab, "visit the staff page anonymously", chromedp.Navigate(d.origin+"/admin/"), chromedp.WaitVisible(providerButton))
	at(d.origin + "/login?next=%2Fadmin%2F")
	step(t, tab, "click Log in with the demo provider", chromedp.Click(providerButton), chromedp.WaitVisible(providerForm))
	if loc := location(tab); !strings.HasPrefix(loc, d.provider.Issuer+"/login/username?") {
		t.Fatalf("after the button: at %s, want the provider's login page", loc)
	}
	e.screenshot(t, tab, "provider-login.png")
	step(t, tab, "log in at the provider as dave",
		chromedp.SendKeys(chromedp.CSS(`#username`), "dave"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "dave-password"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(logout),
	)
	at(d.origin + "/admin/")
	text := result(t, tab, "read the page", chromedp.Text(chromedp.CSS(`body`)))
	if !strings.Contains(text, "Only staff see this page.") || !strings.Contains(text, "you are "+d.provider.Issuer+"|dave (staff)") {
		t.Errorf("the staff page does not show dave as staff:\n%s", text)
	}
	e.screenshot(t, tab, "provider-admin.png")

	// The provider keeps its login session: a second login through it
	// asks for no password...
	step(t, tab, "log in through the provider again", chromedp.Navigate(d.origin+"/login/oidc?next=%2Faccount"), chromedp.WaitVisible(accountPage))
	at(d.origin + "/account")

	// ...until Log out ends it with the demo's.
	step(t, tab, "log out", chromedp.Click(logout), chromedp.WaitVisible(loggedOut))
	at(d.origin + "/logged-out")
	if n := d.provider.EndSessions(); n != 1 {
		t.Errorf("the provider's end_session was asked %d times, want 1", n)
	}
	step(t, tab, "visit /account after the logout", chromedp.Navigate(d.origin+"/account"), chromedp.WaitVisible(providerButton))
	at(d.origin + "/login?next=%2Faccount")
	step(t, tab, "log in through the provider after the logout", chromedp.Click(providerButton), chromedp.WaitVisible(providerForm))
	if loc := location(tab); !strings.HasPrefix(loc, d.provider.Issuer+"/login/username?") {
		t.Errorf("after the logout, the provider login went to %s, want its login page (the password asked again)", loc)
	}
}
