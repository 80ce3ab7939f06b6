package passkey_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/webauthntest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/passkey"
)

// TestNewRefusesMistakes: each configuration mistake is an error that
// names the field and what to write.
func TestNewRefusesMistakes(t *testing.T) {
	st := newSite(t, nil, nil)
	good := func() passkey.Config {
		return passkey.Config{RPID: "example.com", RPDisplayName: "Example", RPOrigins: []string{"https://example.com"}, Store: &passkey.MemoryStore{}, Identity: st.ids}
	}
	for _, tc := range []struct {
		name string
		mod  func(*passkey.Config)
		want string
	}{
		{"no RPID", func(c *passkey.Config) { c.RPID = "" }, "Config.RPID is empty"},
		{"IP RPID", func(c *passkey.Config) { c.RPID = "127.0.0.1" }, "is an IP address"},
		{"URL RPID", func(c *passkey.Config) { c.RPID = "https://example.com" }, "not a host name"},
		{"port RPID", func(c *passkey.Config) { c.RPID = "example.com:443" }, "not a host name"},
		{"no display name", func(c *passkey.Config) { c.RPDisplayName = " " }, "Config.RPDisplayName"},
		{"no origins", func(c *passkey.Config) { c.RPOrigins = nil }, "Config.RPOrigins is empty"},
		{"trailing slash", func(c *passkey.Config) { c.RPOrigins = []string{"https://example.com/"} }, "no path or trailing slash"},
		{"path", func(c *passkey.Config) { c.RPOrigins = []string{"https://example.com/login"} }, "is not an origin"},
		{"no scheme", func(c *passkey.Config) { c.RPOrigins = []string{"example.com"} }, "is not an origin"},
		{"default port", func(c *passkey.Config) { c.RPOrigins = []string{"https://example.com:443"} }, `write "https://example.com"`},
		{"other domain", func(c *passkey.Config) { c.RPOrigins = []string{"https://example.org"} }, "not Config.RPID"},
		{"suffix trick", func(c *passkey.Config) { c.RPOrigins = []string{"https://badexample.com"} }, "not Config.RPID"},
		{"http", func(c *passkey.Config) { c.RPOrigins = []string{"http://example.com"} }, "http for localhost only"},
		{"IP origin", func(c *passkey.Config) {
			c.RPID = "localhost"
			c.RPOrigins = []string{"http://127.0.0.1:8080"}
		}, `"http://localhost:8080"`},
		{"upper case", func(c *passkey.Config) { c.RPOrigins = []string{"https://Example.com"} }, "lower case"},
		{"no store", func(c *passkey.Config) { c.Store = nil }, "Config.Store is nil"},
		{"no sessions", func(c *passkey.Config) { c.Identity = nil }, "Config.Identity is nil"},
		{"negative", func(c *passkey.Config) { c.RecentLogin = -time.Second }, "must not be negative"},
		{"default next", func(c *passkey.Config) { c.DefaultNext = "//evil.example" }, "Config.DefaultNext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mod(&cfg)
			_, err := passkey.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want an error containing %q", err, tc.want)
			}
		})
	}
	for _, cfg := range []passkey.Config{good(), func() passkey.Config {
		c := good()
		c.RPID, c.RPOrigins = "localhost", []string{"http://localhost:8080"}
		return c
	}(), func() passkey.Config {
		c := good()
		c.RPOrigins = []string{"https://example.com", "https://login.example.com:8443"}
		return c
	}()} {
		if _, err := passkey.New(cfg); err != nil {
			t.Errorf("New(%v): %v", cfg.RPOrigins, err)
		}
	}
}

// TestRegister: a logged-in user registers a passkey; the options ask for
// a discoverable credential, UV preferred, and exclude the user's
// passkeys; the passkey is listed, and its event logged.
func TestRegister(t *testing.T) {
	st := newSite(t, nil, nil)
	alice := st.browser()
	alice.login("alice")
	a := webauthntest.New()
	opts := alice.beginRegistration()
	var o struct {
		PublicKey struct {
			RP                     struct{ ID, Name string }
			User                   struct{ ID, Name, DisplayName string }
			AuthenticatorSelection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey bool   `json:"requireResidentKey"`
				UserVerification   string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			ExcludeCredentials []struct{ ID string } `json:"excludeCredentials"`
			Attestation        string                `json:"attestation"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	sel := o.PublicKey.AuthenticatorSelection
	if o.PublicKey.RP.ID != rpID || o.PublicKey.User.Name != "alice" || sel.ResidentKey != "required" || !sel.RequireResidentKey || sel.UserVerification != "preferred" || o.PublicKey.Attestation != "none" {
		t.Fatalf("creation options: %s", opts)
	}
	if n := len(o.PublicKey.User.ID); n != 86 { // 64 bytes, base64url
		t.Fatalf("user.id %q: %d characters, want 86 (64 random bytes)", o.PublicKey.User.ID, n)
	}
	cred, c, err := a.Register(opts, origin)
	if err != nil {
		t.Fatal(err)
	}
	if w := alice.finishRegistration(" laptop\n", cred); w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"laptop"`) {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	ev := st.events.Named("passkey.registered")
	if len(ev) != 1 || ev[0].Field("user") != "alice" || ev[0].Field("user_verified") != "true" {
		t.Fatalf("passkey.registered: %+v", ev)
	}
	list, err := st.store.List(t.Context(), "alice")
	if err != nil || len(list) != 1 || !bytes.Equal(list[0].ID, c.ID) || list[0].Name != "laptop" || list[0].SignCount != 1 ||
		!slices.Equal(list[0].Transports, []string{"internal", "hybrid"}) || list[0].CreatedAt != st.clock.Now() {
		t.Fatalf("stored: %+v, %v", list, err)
	}
	// The same authenticator is excluded the second time.
	opts = alice.beginRegistration()
	if err := json.Unmarshal(opts, &o); err != nil || len(o.PublicKey.ExcludeCredentials) != 1 {
		t.Fatalf("excludeCredentials: %s", opts)
	}
	if _, _, err := a.Register(opts, origin); err != webauthntest.ErrExcluded {
		t.Fatalf("second registration on the same authenticator: %v", err)
	}
}

// TestRegisterRefusals: each refused registration has its reason, and
// stores nothing.
func TestRegisterRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(st *site, b *browser) int // returns the status
		status int
		reason string
	}{
		{"stale login", func(st *site, b *browser) int {
			st.clock.Add(passkey.DefaultRecentLogin + time.Second)
			return b.do("POST", "/account/passkeys/begin", nil).Code
		}, 403, "login_not_recent"},
		{"anonymous", func(st *site, _ *browser) int {
			return st.browser().do("POST", "/account/passkeys/begin", nil).Code
		}, 403, "not_logged_in"},
		{"wrong origin", func(st *site, b *browser) int {
			cred, _, _ := webauthntest.New().Register(b.beginRegistration(), "https://evil.example")
			return b.finishRegistration("x", cred).Code
		}, 400, "wrong_origin"},
		{"replayed finish", func(st *site, b *browser) int {
			cred, c, _ := webauthntest.New().Register(b.beginRegistration(), origin)
			b.finishRegistration("x", cred)
			st.store.Delete(st.t.Context(), "alice", c.ID) // count only what the replay stores
			st.events.Take()
			return b.finishRegistration("x", cred).Code
		}, 400, "no_ceremony"},
		{"expired", func(st *site, b *browser) int {
			opts := b.beginRegistration()
			st.clock.Add(passkey.DefaultChallengeTTL + time.Second)
			cred, _, _ := webauthntest.New().Register(opts, origin)
			return b.finishRegistration("x", cred).Code
		}, 400, "expired"},
		{"another ceremony's challenge", func(st *site, b *browser) int {
			old := b.beginRegistration()
			b.beginRegistration()
			cred, _, _ := webauthntest.New().Register(old, origin)
			return b.finishRegistration("x", cred).Code
		}, 400, "wrong_challenge"},
		{"another user's session", func(st *site, b *browser) int {
			opts := b.beginRegistration()
			b.login("bob") // a new login of another user clears the session
			cred, _, _ := webauthntest.New().Register(opts, origin)
			return b.finishRegistration("x", cred).Code
		}, 400, "no_ceremony"},
		{"malformed", func(st *site, b *browser) int {
			b.beginRegistration()
			return b.do("POST", "/account/passkeys/finish", []byte(`{"credential":{"id":1}}`)).Code
		}, 400, "malformed"},
		{"not JSON", func(st *site, b *browser) int {
			b.beginRegistration()
			return b.do("POST", "/account/passkeys/finish", []byte(`credential=x`), "application/x-www-form-urlencoded").Code
		}, 415, "not_json"},
		{"oversize", func(st *site, b *browser) int {
			b.beginRegistration()
			return b.do("POST", "/account/passkeys/finish", bytes.Repeat([]byte(" "), passkey.MaxBodyBytes+1)).Code
		}, 413, "oversize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newSite(t, nil, nil)
			b := st.browser()
			b.login("alice")
			st.events.Take()
			if got := tc.run(st, b); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if got := st.refused(); !slices.Equal(got, []string{tc.reason}) {
				t.Fatalf("refusals %q, want [%s]", got, tc.reason)
			}
			if list, _ := st.store.List(t.Context(), "alice"); len(list) != 0 {
				t.Fatalf("stored %d passkeys", len(list))
			}
		})
	}
}

// TestRegisterAfterNewLogin: a user whose login is old logs in again and
// may register.
func TestRegisterAfterNewLogin(t *testing.T) {
	st := newSite(t, nil, nil)
	alice := st.browser()
	alice.login("alice")
	st.clock.Add(time.Hour)
	if w := alice.do("POST", "/account/passkeys/begin", nil); w.Code != 403 || !strings.Contains(w.Body.String(), "login_not_recent") {
		t.Fatalf("an hour after login: %d %s", w.Code, w.Body)
	}
	alice.login("alice")
	alice.register(webauthntest.New())
}

// TestPasswordlessLogin: a passkey with user verification logs its owner
// in (methods hwk and mfa: the gate asks nothing more), renews the
// session token and answers the judged next.
func TestPasswordlessLogin(t *testing.T) {
	st := newSite(t, nil, nil)
	a, _ := st.withPasskey()

	b := st.browser()
	b.do("GET", "/", nil)
	before := b.cookie
	opts := b.beginLogin()
	var o struct {
		PublicKey struct {
			RPID             string            `json:"rpId"`
			UserVerification string            `json:"userVerification"`
			AllowCredentials []json.RawMessage `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.RPID != rpID || o.PublicKey.UserVerification != "required" || len(o.PublicKey.AllowCredentials) != 0 {
		t.Fatalf("request options: %s", opts)
	}
	as := assertOK(t, a, opts)
	st.events.Take()
	w := b.do("POST", "/login/passkey/finish?next=/account%3Ftab%3D1", as)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"next":"/account?tab=1"}` {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	if before != nil && b.cookie.Value == before.Value {
		t.Fatal("the session token was not renewed")
	}
	if got := b.page(); got != "page for alice" {
		t.Fatalf("after a passkey login: %q (the gate must not ask again)", got)
	}
	ev := st.events.Named("passkey.login")
	if len(ev) != 1 || ev[0].Field("login_user") != "alice" {
		t.Fatalf("passkey.login: %+v", st.events.All())
	}
	if l := st.events.Named("identity.login"); len(l) != 1 || !strings.Contains(l[0].Field("login_methods"), "hwk") || !strings.Contains(l[0].Field("login_methods"), "mfa") {
		t.Fatalf("identity.login: %+v", l)
	}
	// An unsafe next is replaced by the default.
	c := st.browser()
	as = assertOK(t, a, c.beginLogin())
	if w := c.do("POST", "/login/passkey/finish?next=//evil.example/", as); strings.TrimSpace(w.Body.String()) != `{"next":"/"}` {
		t.Fatalf("unsafe next: %d %s", w.Code, w.Body)
	}
}

// TestPasswordlessRefusals: each refusal of the passwordless login has a
// table row: its status, its reason, and nobody logged in.
func TestPasswordlessRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(st *site, b *browser, a *webauthntest.Authenticator) int
		status int
		reason string
	}{
		{"wrong origin", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: "https://evil.example"})
		}, 400, "wrong_origin"},
		{"origin without its port", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin + ":8443"})
		}, 400, "wrong_origin"},
		{"wrong RP", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, RPID: "evil.example"})
		}, 400, "wrong_rp"},
		{"replayed assertion", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			first := st.browser()
			as := assertOK(st.t, a, first.beginLogin())
			if w := first.do("POST", "/login/passkey/finish", as); w.Code != 200 {
				st.t.Fatalf("first use: %d %s", w.Code, w.Body)
			}
			b.beginLogin() // a ceremony of its own, another challenge
			st.events.Take()
			return b.do("POST", "/login/passkey/finish", as).Code
		}, 400, "wrong_challenge"},
		{"replayed in the same session", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			as := assertOK(st.t, a, b.beginLogin())
			b.do("POST", "/login/passkey/finish", as)
			st.events.Take()
			b.st.mu.Lock()
			b.st.users["alice"] = identity.Basic{UserID: "alice"} // logs the first use out, so the page shows who the replay made
			b.st.mu.Unlock()
			return b.do("POST", "/login/passkey/finish", as).Code
		}, 400, "no_ceremony"},
		{"expired", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			opts := b.beginLogin()
			st.clock.Add(passkey.DefaultChallengeTTL + time.Second)
			return b.do("POST", "/login/passkey/finish", assertOK(st.t, a, opts)).Code
		}, 400, "expired"},
		{"unknown credential", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			other := webauthntest.New() // registered on the client side only: never finished
			other.Register(b.st.registrationOptions(), origin)
			return b.finish(other, webauthntest.Assertion{Origin: origin})
		}, 400, "unknown_credential"},
		{"bad signature", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, BadSignature: true})
		}, 400, "bad_signature"},
		{"user not verified", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, NoUserVerification: true})
		}, 400, "uv_missing"},
		{"another user's handle", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			bob := st.browser()
			bob.login("bob")
			bob.register(webauthntest.New())
			h, _, _ := st.store.Handle(st.t.Context(), "bob")
			return b.finish(a, webauthntest.Assertion{Origin: origin, UserHandle: h}) // alice's passkey, bob's handle
		}, 400, "wrong_user"},
		{"no user handle", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, NoUserHandle: true})
		}, 400, "no_user_handle"},
		{"counter regression", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, SignCount: ptr(uint32(1))}) // stored: 1
		}, 400, "clone_suspected"},
		{"backup eligibility changed", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			return b.finish(a, webauthntest.Assertion{Origin: origin, BackupEligible: ptr(true)})
		}, 400, "backup_eligibility_changed"},
		{"inactive user", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			st.mu.Lock()
			st.users["alice"] = identity.Basic{UserID: "alice"}
			st.mu.Unlock()
			return b.finish(a, webauthntest.Assertion{Origin: origin})
		}, 400, "inactive_user"},
		{"no ceremony", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			opts := st.browser().beginLogin() // another browser's ceremony
			return b.do("POST", "/login/passkey/finish", assertOK(st.t, a, opts)).Code
		}, 400, "no_ceremony"},
		{"malformed JSON", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			b.beginLogin()
			return b.do("POST", "/login/passkey/finish", []byte(`{"id":`)).Code
		}, 400, "malformed"},
		{"oversize body", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			b.beginLogin()
			return b.do("POST", "/login/passkey/finish", bytes.Repeat([]byte("a"), passkey.MaxBodyBytes+1)).Code
		}, 413, "oversize"},
		{"not JSON", func(st *site, b *browser, a *webauthntest.Authenticator) int {
			b.beginLogin()
			return b.do("POST", "/login/passkey/finish", []byte("{}"), "text/plain").Code
		}, 415, "not_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newSite(t, nil, nil)
			a, _ := st.withPasskey()
			b := st.browser()
			st.events.Take()
			if got := tc.run(st, b, a); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if got := st.refused(); !slices.Equal(got, []string{tc.reason}) {
				t.Fatalf("refusals %q, want [%s]", got, tc.reason)
			}
			if got := b.page(); got != "page for anonymous" {
				t.Fatalf("after a refusal: %q", got)
			}
		})
	}
}

// registrationOptions registers nothing: it answers creation options of a
// throwaway user, for an authenticator to make a credential the site
// never stored.
func (st *site) registrationOptions() []byte {
	b := st.browser()
	b.login("carol")
	return b.beginRegistration()
}

// finish runs a passwordless login with a and answers the finish status.
func (b *browser) finish(a *webauthntest.Authenticator, as webauthntest.Assertion) int {
	b.st.t.Helper()
	raw, err := a.Assert(b.beginLogin(), as)
	if err != nil {
		b.st.t.Fatal(err)
	}
	return b.do("POST", "/login/passkey/finish", raw).Code
}

// TestCloneSuspected: a counter that does not grow refuses the login,
// flags the passkey (refused from then on, even with a good counter) and
// logs an Error event; a synced passkey, whose counter stays 0, keeps
// working.
func TestCloneSuspected(t *testing.T) {
	st := newSite(t, nil, nil)
	a, c := st.withPasskey()
	b := st.browser()
	if code := b.finish(a, webauthntest.Assertion{Origin: origin}); code != 200 { // counter 2
		t.Fatalf("first login: %d", code)
	}
	st.events.Take()
	if code := st.browser().finish(a, webauthntest.Assertion{Origin: origin, SignCount: ptr(uint32(2))}); code != 400 {
		t.Fatalf("a counter that did not grow: %d", code)
	}
	ev := st.events.Named("passkey.clone_suspected")
	if len(ev) != 1 || ev[0].Level.String() != "error" || ev[0].Field("owner") != "alice" || ev[0].Field("stored_count") != "2" || ev[0].Field("sign_count") != "2" {
		t.Fatalf("passkey.clone_suspected: %+v", st.events.All())
	}
	got, _, _ := st.store.Get(t.Context(), c.ID)
	if !got.CloneWarning || got.SignCount != 2 {
		t.Fatalf("stored after the regression: %+v", got)
	}
	st.events.Take()
	if code := st.browser().finish(a, webauthntest.Assertion{Origin: origin, SignCount: ptr(uint32(10))}); code != 400 {
		t.Fatalf("a flagged passkey: %d", code)
	}
	if r := st.refused(); !slices.Equal(r, []string{"clone_suspected"}) {
		t.Fatalf("flagged passkey: %q", r)
	}
	// Flagging never lowers alice to her password alone: she is still
	// asked, and cannot pass with the flagged passkey.
	if req, _ := st.pk.Verifier().Required(t.Context(), identity.Basic{UserID: "alice", IsActive: true}); !req {
		t.Fatal("Required: false with only a flagged passkey")
	}
	if ok, _ := mfa.AnyEnrolled(st.pk.Verifier())(t.Context(), identity.Basic{UserID: "alice", IsActive: true}); !ok {
		t.Fatal("mfa.AnyEnrolled: false with only a flagged passkey")
	}
	if ok, err := st.pk.Verifier().Enrolled(t.Context(), "carol"); ok || err != nil {
		t.Fatalf("Enrolled(carol, who has no passkey) = %v, %v", ok, err)
	}

	// A synced passkey: 0 forever, and never suspected.
	synced := &webauthntest.Authenticator{UserVerification: true, BackupEligible: true, BackupState: true}
	bob := st.browser()
	bob.login("bob")
	bob.register(synced)
	for i := range 3 {
		if code := st.browser().finish(synced, webauthntest.Assertion{Origin: origin}); code != 200 {
			t.Fatalf("synced passkey, login %d: %d (%q)", i, code, st.refused())
		}
	}
	if ev := st.events.Named("passkey.clone_suspected"); len(ev) != 0 {
		t.Fatalf("a synced passkey was suspected: %+v", ev)
	}
}

// TestConcurrentAssertion: one assertion posted twice at once, in the
// same session, logs in once at most.
func TestConcurrentAssertion(t *testing.T) {
	for _, counter := range []bool{true, false} {
		st := newSite(t, nil, nil)
		alice := st.browser()
		alice.login("alice")
		a := &webauthntest.Authenticator{UserVerification: true, Counter: counter}
		alice.register(a)
		b := st.browser()
		as := assertOK(t, a, b.beginLogin())
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Go(func() {
				c := &browser{st: st, cookie: b.cookie}
				codes[i] = c.do("POST", "/login/passkey/finish", as).Code
			})
		}
		wg.Wait()
		if n := countOf(codes, http.StatusOK); n != 1 {
			t.Fatalf("counter %v: %d of %d concurrent posts passed (%v)", counter, n, len(codes), codes)
		}
	}
}

func countOf(codes []int, code int) int {
	n := 0
	for _, c := range codes {
		if c == code {
			n++
		}
	}
	return n
}

// TestPasswordlessDisabled: without Lookup the passwordless endpoints are
// not there.
func TestPasswordlessDisabled(t *testing.T) {
	st := newSite(t, nil, func(c *passkey.Config) { c.Lookup = nil })
	b := st.browser()
	for _, path := range []string{"/login/passkey/begin", "/login/passkey/finish"} {
		if w := b.do("POST", path, []byte("{}")); w.Code != 404 {
			t.Fatalf("%s: %d", path, w.Code)
		}
	}
}

// TestListDelete: the account page lists and deletes the user's own
// passkeys only.
func TestListDelete(t *testing.T) {
	st := newSite(t, nil, nil)
	alice, bob := st.browser(), st.browser()
	alice.login("alice")
	bob.login("bob")
	c := alice.register(webauthntest.New())
	bob.register(webauthntest.New())
	id := passkey.Credential{ID: c.ID}.EncodedID()
	if w := bob.do("POST", "/account/passkeys/delete?id="+id, nil); w.Code != 404 {
		t.Fatalf("bob deletes alice's passkey: %d", w.Code)
	}
	st.events.Take()
	if w := alice.do("POST", "/account/passkeys/delete?id="+id, nil); w.Code != 200 {
		t.Fatalf("alice deletes hers: %d %s", w.Code, w.Body)
	}
	if ev := st.events.Named("passkey.deleted"); len(ev) != 1 || ev[0].Field("credential") != id {
		t.Fatalf("passkey.deleted: %+v", st.events.All())
	}
	for who, want := range map[string]int{"alice": 0, "bob": 1} {
		if list, err := st.store.List(t.Context(), who); err != nil || len(list) != want {
			t.Fatalf("%s has %d passkeys (%v), want %d", who, len(list), err, want)
		}
	}
}

// TestScript: the page's script is served as JavaScript, with nosniff.
func TestScript(t *testing.T) {
	st := newSite(t, nil, nil)
	w := st.browser().do("GET", "/static/passkey.js", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(w.Body.String(), "navigator.credentials.get") {
		t.Fatalf("script: %d %v", w.Code, w.Header())
	}
}

// TestWithoutLoadAndSave: a handler mounted before scs's LoadAndSave (a
// chain in the wrong order) answers 500 and logs the suite's one event
// for it, session.not_loaded with the fix, as every gate does; never a
// store error, never scs's panic.
func TestWithoutLoadAndSave(t *testing.T) {
	st := newSite(t, &passkey.MemoryStore{}, nil)
	for name, h := range map[string]http.HandlerFunc{
		"BeginRegistration": st.pk.BeginRegistration,
		"BeginLogin":        st.pk.BeginLogin,
	} {
		st.events.Take()
		r := httptest.NewRequest("POST", "/x", strings.NewReader("{}"))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h(w, r)
		if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "session_not_loaded") {
			t.Errorf("%s: %d %q, want 500 session_not_loaded", name, w.Code, w.Body)
		}
		if names := st.events.Names(); !slices.Equal(names, []string{"session.not_loaded"}) {
			t.Errorf("%s: events %v, want session.not_loaded", name, names)
		}
	}
}
