package main

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	pksql "github.com/bulwark-go/bulwark/mfa/passkey/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb"
	ptotp "github.com/pquerna/otp/totp"
)

// passkeyDemo is the demo built in the test's process on db, served at
// http://localhost:PORT (its origin, the passkeys' one), with the passkey
// store on the same database for the test to look into.
type passkeyDemo struct {
	origin string
	secret string // carol's TOTP secret
	store  *pksql.Store
	rec    *seclogtest.Recorder
}

func startPasskeyDemo(t *testing.T, db *sqldb.DB) *passkeyDemo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &passkeyDemo{origin: publicOrigin(ln.Addr())}
	sec, rec := seclogtest.New(t)
	d.rec = rec
	h, secret, err := newDemoHandler(t.Context(), sec, db, demoConfig{idle: time.Hour, origin: d.origin})
	if err != nil {
		t.Fatal(err)
	}
	d.secret = secret
	if d.store, err = pksql.New(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(canonicalHost(d.origin, h))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return d
}

// addPasskey stores a passkey of user named name, as a registration
// would (the public key is not checked until an assertion is), and
// returns its encoded id.
func (d *passkeyDemo) addPasskey(t *testing.T, user, name string) string {
	t.Helper()
	handle := make([]byte, passkey.HandleLen)
	id := make([]byte, 16)
	rand.Read(handle)
	rand.Read(id)
	if _, err := d.store.CreateHandle(t.Context(), user, handle); err != nil {
		t.Fatal(err)
	}
	c := passkey.Credential{ID: id, UserID: user, PublicKey: []byte{0xa5, 1, 2}, AttestationType: "none",
		AAGUID: make([]byte, 16), Transports: []string{"internal"}, Name: name, CreatedAt: time.Now()}
	if err := d.store.Add(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return c.EncodedID()
}

// carolIn logs carol in with her password and TOTP code.
func (d *passkeyDemo) carolIn(t *testing.T) *client {
	t.Helper()
	c := newClient(t, d.origin)
	c.login("carol", "carol-password", "")
	if resp, _ := c.do("GET", "/mfa", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("carol's challenge: %d", resp.StatusCode)
	}
	code, err := ptotp.GenerateCode(d.secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := c.do("POST", "/mfa", url.Values{"code": {code}, "mfa_method": {"totp"}}, nil); resp.StatusCode != 303 {
		t.Fatalf("carol's code: %d %s", resp.StatusCode, body)
	}
	return c
}

// postJSON posts body as JSON from the demo's own pages.
func (c *client) postJSON(path, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDemoPasskeyRoutes: the script, the passwordless login's begin
// (public, user verification required) and the registration's begin
// (behind the login: for carol, with the RP ID and origin of the demo,
// excluding the passkey she has), on SQLite and on PostgreSQL.
func TestDemoPasskeyRoutes(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		d := startPasskeyDemo(t, db)
		anon := newClient(t, d.origin)
		resp, body := anon.do("GET", passkeyScriptPath, nil, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(body, "data-passkey-register") {
			t.Errorf("GET %s: %d %q", passkeyScriptPath, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, body = anon.postJSON(passkeyLoginBegin, "{}")
		if resp.StatusCode != 200 || !strings.Contains(body, `"userVerification":"required"`) || !strings.Contains(body, `"rpId":"localhost"`) {
			t.Errorf("anonymous passwordless begin: %d %s", resp.StatusCode, body)
		}
		if resp, body := anon.postJSON(passkeyBeginPath, "{}"); resp.StatusCode == 200 || strings.Contains(body, "publicKey") {
			t.Errorf("anonymous registration begin: %d %s", resp.StatusCode, body)
		}
		_, body = anon.do("GET", "/login", nil, nil)
		for _, want := range []string{`id="passkey-login"`, `data-begin="/login/passkey/begin"`, `src="/static/passkey.js" nonce="`} {
			if !strings.Contains(body, want) {
				t.Errorf("the login page lacks %s", want)
			}
		}
		if _, body := anon.do("GET", "/login?next=%2Fadmin%2F%3Fa%3D1%26b%3D2", nil, nil); !strings.Contains(body, `data-finish="/login/passkey/finish?next=%2Fadmin%2F%3Fa%3D1%26b%3D2"`) {
			t.Errorf("the login page's passwordless finish does not keep next, escaped")
		}

		id := d.addPasskey(t, "carol", "old phone")
		carol := d.carolIn(t)
		resp, body = carol.postJSON(passkeyBeginPath, "{}")
		if resp.StatusCode != 200 || !strings.Contains(body, `"id":"localhost"`) || !strings.Contains(body, `"excludeCredentials":[{"type":"public-key","id":"`+id+`"`) {
			t.Errorf("carol's registration begin: %d %s", resp.StatusCode, body)
		}
	})
}

// TestDemoPasskeyOfferedToItsUsers: the challenge page offers "Use
// passkey instead" only to a user who has a passkey; a user whose only
// factor is a passkey (alice, once she has one) is asked for it.
func TestDemoPasskeyOfferedToItsUsers(t *testing.T) {
	d := startPasskeyDemo(t, sqlstoretest.SQLite(t))
	carol := newClient(t, d.origin)
	carol.login("carol", "carol-password", "")
	_, body := carol.do("GET", "/mfa", nil, nil)
	if !strings.Contains(body, `id="code"`) || strings.Contains(body, `id="use-passkey"`) {
		t.Errorf("carol without a passkey: the code form alone, want no passkey link:\n%s", body)
	}
	if resp, body := carol.do("GET", "/mfa?method=passkey", nil, nil); resp.StatusCode != 403 || !strings.Contains(body, "not one of yours") {
		t.Errorf("carol asks for a passkey she does not have: %d", resp.StatusCode)
	}

	id := d.addPasskey(t, "carol", "laptop")
	carol = newClient(t, d.origin)
	carol.login("carol", "carol-password", "/account?tab=2")
	_, body = carol.do("GET", "/mfa", nil, nil)
	if !strings.Contains(body, `id="code"`) || !strings.Contains(body, `<a id="use-passkey" href="/mfa?method=passkey">Use passkey instead</a>`) {
		t.Errorf("carol with a passkey: want the code form first and the passkey offered:\n%s", body)
	}
	resp, body := carol.do("GET", "/mfa?method=passkey", nil, nil)
	if resp.StatusCode != 200 || strings.Contains(body, `id="code"`) || !strings.Contains(body, `data-passkey-mfa data-options="{&#34;publicKey&#34;:`) ||
		!strings.Contains(body, id) || !strings.Contains(body, `<input type="hidden" name="mfa_method" value="passkey">`) ||
		!strings.Contains(body, `id="use-totp"`) || !strings.Contains(body, `src="/static/passkey.js" nonce="`) {
		t.Errorf("carol chooses the passkey: %d\n%s", resp.StatusCode, body)
	}
	// A refused assertion: the page offers to begin again.
	resp, body = carol.do("POST", "/mfa", url.Values{"mfa_method": {"passkey"}, passkey.Field: {`{"id":"x"}`}}, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "Your passkey was refused.") || !strings.Contains(body, `href="/mfa?method=passkey"`) {
		t.Errorf("a malformed assertion: %d\n%s", resp.StatusCode, body)
	}
	if ev := d.rec.Named("passkey.refused"); len(ev) != 1 || ev[0].Field("reason") != "malformed" {
		t.Errorf("passkey.refused: %+v", ev)
	}

	alice := newClient(t, d.origin)
	alice.login("alice", "alice-password", "")
	if resp, _ := alice.do("GET", "/account", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("alice without a passkey: /account %d", resp.StatusCode)
	}
	d.addPasskey(t, "alice", "key")
	alice = newClient(t, d.origin)
	alice.login("alice", "alice-password", "")
	if resp, _ := alice.do("GET", "/account", nil, nil); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/mfa") {
		t.Fatalf("alice with a passkey: /account %d %q, want the challenge", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := alice.do("GET", "/mfa", nil, nil); !strings.Contains(body, `data-passkey-mfa`) || strings.Contains(body, `id="code"`) || strings.Contains(body, `id="use-totp"`) {
		t.Errorf("alice's challenge: want the passkey alone:\n%s", body)
	}
}

// TestDemoPasskeyAccountAndDelete: the account page lists carol's
// passkeys with a warning on a flagged one; deleting needs her session
// (anonymous: the login gate; cross-site: refused) and removes only her
// own.
func TestDemoPasskeyAccountAndDelete(t *testing.T) {
	d := startPasskeyDemo(t, sqlstoretest.SQLite(t))
	mine := d.addPasskey(t, "carol", "laptop <1>")
	flagged := d.addPasskey(t, "carol", "old key")
	raw, _ := base64.RawURLEncoding.DecodeString(flagged)
	if err := d.store.FlagClone(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	alices := d.addPasskey(t, "alice", "alice's")

	carol := d.carolIn(t)
	_, body := carol.do("GET", "/account", nil, nil)
	for _, want := range []string{"laptop &lt;1&gt;", "old key <b class=\"error clone-warning\">", `value="` + mine + `"`, "never", `id="add-passkey" data-passkey-register`, `data-name-input="#pk-name"`} {
		if !strings.Contains(body, want) {
			t.Errorf("carol's account page lacks %q:\n%s", want, body)
		}
	}
	if strings.Count(body, "clone-warning") != 1 || strings.Contains(body, alices) {
		t.Errorf("carol's account page: one warning, none of alice's passkeys:\n%s", body)
	}

	anon := newClient(t, d.origin)
	if resp, _ := anon.do("POST", passkeyDeletePath, url.Values{"id": {mine}}, nil); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("anonymous delete: %d %q, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := carol.do("POST", passkeyDeletePath, url.Values{"id": {mine}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != 403 {
		t.Errorf("cross-site delete: %d, want 403", resp.StatusCode)
	}
	if resp, _ := carol.do("POST", passkeyDeletePath, url.Values{"id": {alices}}, nil); resp.StatusCode != 404 {
		t.Errorf("carol deletes alice's passkey: %d, want 404", resp.StatusCode)
	}
	if resp, _ := carol.do("POST", passkeyDeletePath, url.Values{"id": {mine}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/account" {
		t.Errorf("carol deletes hers: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	left := map[string]int{}
	for _, u := range []string{"carol", "alice"} {
		list, err := d.store.List(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		left[u] = len(list)
	}
	if left["carol"] != 1 || left["alice"] != 1 {
		t.Errorf("passkeys left: %v, want carol's flagged one and alice's", left)
	}
	if ev := d.rec.Named("passkey.deleted"); len(ev) != 1 || ev[0].Field("credential") != mine {
		t.Errorf("passkey.deleted: %+v", ev)
	}
}

// TestDemoOnPostgres: with -db a postgres:// URL, the demo keeps every
// store there, the passkeys' too, and prints the URL without its password;
// its banner says where carol adds a passkey.
func TestDemoOnPostgres(t *testing.T) {
	dsn := sqlstoretest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startDemo(t, "-db", dsn)
	if pw, ok := u.User.Password(); ok && strings.Contains(demoOutput[base], pw) {
		t.Errorf("the demo printed the database's password:\n%s", demoOutput[base])
	}
	if want := "passkeys: carol can add one on her account page (" + strings.TrimSuffix(base, "/") + "/account) and use it instead of TOTP"; !strings.Contains(demoOutput[base], want) {
		t.Errorf("the demo's banner lacks %q:\n%s", want, demoOutput[base])
	}
	if !strings.Contains(demoOutput[base], "(database postgres") {
		t.Errorf("the demo does not say it serves from PostgreSQL:\n%s", demoOutput[base])
	}
	alice := newClient(t, base)
	alice.login("alice", "alice-password", "")
	if resp, body := alice.postJSON(passkeyBeginPath, "{}"); resp.StatusCode != 200 || !strings.Contains(body, `"publicKey"`) {
		t.Fatalf("alice's registration begin: %d %s", resp.StatusCode, body)
	}
	db := sqlstoretest.Open(t, dsn)
	if n := sqlstoretest.Count(t, db, "bulwark_passkey_user"); n != 1 {
		t.Errorf("PostgreSQL holds %d passkey users, want alice's handle", n)
	}
	if n := sqlstoretest.Count(t, db, "demo_sessions"); n != 1 {
		t.Errorf("PostgreSQL holds %d sessions, want alice's", n)
	}
}

// TestDemoPasskeysOnlyOnLocalhost: served on another host (-addr on a
// network address), where browsers offer no WebAuthn over http, the demo
// runs without passkeys rather than failing to start.
func TestDemoPasskeysOnlyOnLocalhost(t *testing.T) {
	sec, _ := seclogtest.New(t)
	h, _, err := newDemoHandler(t.Context(), sec, sqlstoretest.SQLite(t), demoConfig{idle: time.Hour, origin: "http://192.0.2.10:8080"})
	if err != nil {
		t.Fatalf("the demo on a network address: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	anon := newClient(t, srv.URL)
	if _, body := anon.do("GET", "/login", nil, nil); strings.Contains(body, "passkey") {
		t.Errorf("the login page offers passkeys:\n%s", body)
	}
	if resp, _ := anon.do("GET", passkeyScriptPath, nil, nil); resp.StatusCode != 404 {
		t.Errorf("GET %s: %d, want 404", passkeyScriptPath, resp.StatusCode)
	}
	if resp, body := anon.postJSON(passkeyLoginBegin, "{}"); resp.StatusCode == 200 {
		t.Errorf("anonymous passwordless begin: %d %s", resp.StatusCode, body)
	}
	carol := newClient(t, srv.URL)
	carol.login("carol", "carol-password", "")
	if _, body := carol.do("GET", "/mfa", nil, nil); !strings.Contains(body, `id="code"`) || strings.Contains(body, `use-passkey`) || strings.Contains(body, `data-passkey`) {
		t.Errorf("carol's challenge: want the code alone:\n%s", body)
	}
}
