package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/webauthntest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/seclog"
)

// The wiring of a site: the passkeys, the gate with their verifier, and
// the routes the page's script calls. A mistake in the relying party is
// an error at start-up that says what to write.
func ExampleNew() {
	users := map[string]identity.User{"carol": identity.Basic{UserID: "carol", IsActive: true}}
	lookup := func(_ context.Context, id string) (identity.User, error) { return users[id], nil }
	sm := scs.New()
	sessions, _ := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Lookup: lookup})

	pk, err := passkey.New(passkey.Config{
		RPID: "example.com", RPDisplayName: "Example",
		RPOrigins: []string{"https://example.com"},
		Store:     &passkey.MemoryStore{}, // mfa/passkey/sqlstore in production
		Identity:  sessions,
		Lookup:    lookup, // enables the passwordless login
	})
	if err != nil {
		panic(err)
	}
	gate, err := mfa.New(mfa.Config{
		Sessions: sm, Verifiers: []mfa.Verifier{pk.Verifier()}, Required: pk.Verifier().Required,
		// The passwordless login is public; the static files are served
		// to a pending user too.
		Exempt: []string{"/login/passkey/", "/static/", "/favicon.ico"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/passkey.js", passkey.ServeScript)
	mux.HandleFunc("POST /account/passkeys/begin", pk.BeginRegistration)
	mux.HandleFunc("POST /account/passkeys/finish", pk.FinishRegistration)
	mux.HandleFunc("POST /login/passkey/begin", pk.BeginLogin)
	mux.HandleFunc("POST /login/passkey/finish", pk.FinishLogin)
	_ = gate // the chain: sm.LoadAndSave(identity middleware(gate.Handler(mux)))

	_, err = passkey.New(passkey.Config{
		RPID: "127.0.0.1", RPDisplayName: "Example", RPOrigins: []string{"http://127.0.0.1:8080"},
		Store: &passkey.MemoryStore{}, Identity: sessions,
	})
	fmt.Println(err)
	// Output:
	// passkey: Config.RPID "127.0.0.1" is an IP address, which WebAuthn refuses: write the site's registrable domain, such as "example.com", or "localhost" in development, and serve the pages on it
}

// A registration and a passwordless login, driven as the page's script
// drives them, with the suite's software authenticator in place of the
// browser's.
func ExamplePasskeys_FinishLogin() {
	users := map[string]identity.User{"carol": identity.Basic{UserID: "carol", IsActive: true}}
	lookup := func(_ context.Context, id string) (identity.User, error) { return users[id], nil }
	sm := scs.New()
	log := seclog.Discard()
	sessions, _ := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Lookup: lookup, Logger: log})
	who, _ := identity.New(identity.Config{Authenticators: []identity.Authenticator{sessions}, Logger: log})
	pk, _ := passkey.New(passkey.Config{
		RPID: "example.com", RPDisplayName: "Example", RPOrigins: []string{"https://example.com"},
		Store: &passkey.MemoryStore{}, Identity: sessions, Lookup: lookup, Logger: log,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) { sessions.Login(r, users["carol"]) })
	mux.HandleFunc("POST /account/passkeys/begin", pk.BeginRegistration)
	mux.HandleFunc("POST /account/passkeys/finish", pk.FinishRegistration)
	mux.HandleFunc("POST /login/passkey/begin", pk.BeginLogin)
	mux.HandleFunc("POST /login/passkey/finish", pk.FinishLogin)
	site := sm.LoadAndSave(who.Handler(mux))

	var cookie *http.Cookie
	post := func(path string, body []byte) []byte {
		r := httptest.NewRequest("POST", "https://example.com"+path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		site.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		return w.Body.Bytes()
	}
	device := webauthntest.New()

	post("/login", nil) // carol logs in with her password, then adds a passkey
	cred, _, _ := device.Register(post("/account/passkeys/begin", nil), "https://example.com")
	body, _ := json.Marshal(map[string]any{"name": "phone", "credential": json.RawMessage(cred)})
	var added struct{ Name string }
	json.Unmarshal(post("/account/passkeys/finish", body), &added)
	fmt.Println("registered:", added.Name)

	cookie = nil // another browser: nobody logged in
	assertion, _ := device.Assert(post("/login/passkey/begin", nil), webauthntest.Assertion{Origin: "https://example.com"})
	fmt.Printf("logged in: %s", post("/login/passkey/finish?next=/account", assertion))
	// Output:
	// registered: phone
	// logged in: {"next":"/account"}
}
