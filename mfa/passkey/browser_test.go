package passkey_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestChromium runs the ceremonies in headless Chromium with the DevTools
// virtual authenticator (a CTAP2 platform authenticator with resident
// keys and user verification), on http://localhost:PORT with RP ID
// "localhost": alice registers a passkey on her account page and logs in
// with it alone; the finish body the page posted is refused when posted
// again; bob registers one on the same device; alice logs in with her
// password and passes the gate with her passkey; the assertion the page
// posted is refused when posted again, after the success and in a new
// login; and an assertion made by bob's passkey (the page's options
// tampered with) is refused in alice's challenge.
func TestChromium(t *testing.T) {
	ctx := testenv.Browser(t)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	st := newSite(t, nil, func(c *passkey.Config) {
		c.RPID, c.RPOrigins = "localhost", []string{base}
	})
	h = st.h // on the site's clock, which stands still: no ceremony expires

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("[data-passkey-message]")||{}).textContent||""`))
			t.Fatalf("%s: %v (at %s; page says %q; refusals %q)", what, err, loc, msg, st.refused())
		}
	}
	// post sends body to path from the page (the browser's cookies and
	// origin), as ctype, and returns the status.
	post := func(path, ctype string, body []byte) int {
		t.Helper()
		js := `fetch(` + jsString(path) + `, {method: "POST", headers: {"Content-Type": ` + jsString(ctype) + `}, body: ` + jsString(string(body)) + `}).then(r => r.status)`
		code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("post %s from the page: %v", path, err)
		}
		return code
	}

	var authID webauthn.AuthenticatorID
	step("add a virtual authenticator", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
		authID, err = testenv.VirtualAuthenticator()(ctx, tg)
		return err
	}))

	register := func(user string) {
		t.Helper()
		step("register a passkey for "+user,
			chromedp.Navigate(base+"/e2e/pw-login?u="+user+"&next=/e2e/account"),
			chromedp.WaitVisible(chromedp.CSS(`#register`)),
			chromedp.Click(chromedp.CSS(`#register`)),
			chromedp.WaitVisible(chromedp.CSS(`#who[data-user=`+user+`] + #count[data-n="1"]`)),
		)
	}
	register("alice")
	if ev := st.events.Named("passkey.registered"); len(ev) != 1 || ev[0].Field("user") != "alice" || ev[0].Field("user_verified") != "true" {
		t.Fatalf("passkey.registered: %+v", ev)
	}

	// Passwordless: the discoverable passkey, with user verification.
	step("log in with the passkey alone",
		chromedp.Navigate(base+"/e2e/logout"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#who[data-user=alice]`)),
	)
	finish := st.lastPosted("/login/passkey/finish")
	st.events.Take()
	if code := post("/login/passkey/finish", "application/json", finish); code != 400 {
		t.Fatalf("the captured passwordless assertion posted again: %d", code)
	}
	step("begin another passwordless login", chromedp.Navigate(base+"/e2e/login"), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if code := post("/login/passkey/begin", "application/json", []byte("{}")); code != 200 {
		t.Fatalf("begin: %d", code)
	}
	if code := post("/login/passkey/finish", "application/json", finish); code != 400 {
		t.Fatalf("the captured passwordless assertion in a new ceremony: %d", code)
	}
	if got := st.refused(); !slices.Equal(got, []string{"no_ceremony", "wrong_challenge"}) {
		t.Fatalf("refusals of the replayed passwordless assertion: %q", got)
	}

	register("bob")
	creds, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*webauthn.Credential, error) {
		res, err := cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authID})
		return res.Credentials, err
	})
	if err != nil || len(creds) != 2 {
		t.Fatalf("the authenticator holds %d credentials (%v), want alice's and bob's", len(creds), err)
	}
	bobs, err := st.store.List(t.Context(), "bob")
	if err != nil || len(bobs) != 1 {
		t.Fatalf("bob's passkeys: %v, %v", bobs, err)
	}

	// The second factor: password, then the gate's challenge page.
	step("pass the second factor with the passkey",
		chromedp.Navigate(base+"/e2e/pw-login?u=alice&next=/e2e/mfa"),
		chromedp.WaitVisible(chromedp.CSS(`#use`)),
		chromedp.Click(chromedp.CSS(`#use`)),
		chromedp.WaitVisible(chromedp.CSS(`#who[data-user=alice]`)),
	)
	if ev := st.events.Named("mfa.success"); len(ev) != 1 || ev[0].Field("mfa_method") != "passkey" {
		t.Fatalf("mfa.success: %+v", st.events.All())
	}
	captured := st.lastPosted("/mfa")
	if !strings.HasPrefix(string(captured), passkey.Field+"=") {
		t.Fatalf("the page posted %q", captured)
	}
	st.events.Take()
	if code := post("/mfa", "application/x-www-form-urlencoded", captured); code != 403 {
		t.Fatalf("the captured assertion posted again: %d", code)
	}
	if len(st.events.Named("mfa.state_mismatch")) != 1 {
		t.Fatalf("replay after success: %v", st.events.Names())
	}
	st.clock.Add(time.Minute) // a new login time: the verdict of the last one does not carry over
	step("a new login, a new challenge",
		chromedp.Navigate(base+"/e2e/pw-login?u=alice&next=/e2e/mfa"),
		chromedp.WaitVisible(chromedp.CSS(`#use`)),
	)
	if code := post("/mfa", "application/x-www-form-urlencoded", captured); code != 403 {
		t.Fatalf("the captured assertion in a new login: %d", code)
	}
	if got := st.refused(); !slices.Equal(got, []string{"wrong_challenge"}) {
		t.Fatalf("refusals of the replayed assertion: %q", got)
	}

	// Bob's passkey in alice's challenge: the page's options name bob's
	// credential, the authenticator signs with it, the server refuses.
	bobID := base64.RawURLEncoding.EncodeToString(bobs[0].ID)
	js := `(async () => {
		const form = document.querySelector("#mfa");
		const opts = JSON.parse(form.dataset.options);
		opts.publicKey.allowCredentials = [{type: "public-key", id: ` + jsString(bobID) + `}];
		const cred = await window.bulwarkPasskey.assert(opts);
		const r = await fetch("/mfa", {method: "POST", body: new URLSearchParams({passkey_credential: JSON.stringify(cred)})});
		return r.status;
	})()`
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil || code != 403 {
		t.Fatalf("bob's passkey in alice's challenge: %d, %v", code, err)
	}
	if got := st.refused(); !slices.Equal(got, []string{"wrong_user"}) {
		t.Fatalf("refusals of bob's passkey: %q", got)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/").then(r => r.text())`, chromedp.EvalAwaitPromise)); !strings.Contains(got, "mfa_required") {
		t.Fatalf("after bob's passkey, alice's page: %q", got)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b.WriteString(`\u`)
			const hex = "0123456789abcdef"
			b.WriteByte(hex[r>>12&15])
			b.WriteByte(hex[r>>8&15])
			b.WriteByte(hex[r>>4&15])
			b.WriteByte(hex[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
