package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/internal/webauthntest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/passkey"
)

const (
	rpID   = "example.com"
	origin = "https://example.com"
)

// site is an application behind scs, the identity middleware and the mfa
// gate, with the passkey routes a site mounts:
//
//	POST /login?u=ID             a password login (test only)
//	GET  /mfa                    the gate's Begin: answers start.Options
//	POST /mfa                    the gate's Complete: 303 to next, or 403
//	POST /account/passkeys/begin|finish  registration (behind the gate)
//	POST /login/passkey/begin|finish     passwordless (exempt)
//	POST /account/passkeys/delete?id=…   Delete
//	GET  /                       "page for ID"
type site struct {
	t      testing.TB
	sm     *scs.SessionManager
	ids    *identity.Sessions
	pk     *passkey.Passkeys
	gate   *mfa.Middleware
	store  passkey.Store
	clock  *testenv.Clock
	events *seclogtest.Recorder
	h      http.Handler

	mu     sync.Mutex
	users  map[string]identity.User
	posted map[string][]byte // the last body POSTed to each path
}

func newSite(t testing.TB, store passkey.Store, mod func(*passkey.Config)) *site {
	t.Helper()
	log, rec := seclogtest.New(t)
	if store == nil {
		store = &passkey.MemoryStore{}
	}
	st := &site{t: t, sm: scs.New(), store: store, clock: testenv.NewClock(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), events: rec, users: map[string]identity.User{}, posted: map[string][]byte{}}
	for _, id := range []string{"alice", "bob", "carol"} {
		st.users[id] = identity.Basic{UserID: id, Name: strings.ToUpper(id[:1]) + id[1:], IsActive: true}
	}
	lookup := func(_ context.Context, id string) (identity.User, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		if u, ok := st.users[id]; ok {
			return u, nil
		}
		return nil, nil
	}
	var err error
	st.ids = testenv.Must(identity.NewSessions(identity.SessionsConfig{Sessions: st.sm, Lookup: lookup, Logger: log, Now: st.clock.Now}))
	who := testenv.Must(identity.New(identity.Config{Authenticators: []identity.Authenticator{st.ids}, Logger: log}))
	cfg := passkey.Config{
		RPID: rpID, RPDisplayName: "Example", RPOrigins: []string{origin},
		Store: store, Identity: st.ids, Lookup: lookup, Logger: log, Now: st.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	if st.pk, err = passkey.New(cfg); err != nil {
		t.Fatal(err)
	}
	v := st.pk.Verifier()
	st.gate = testenv.Must(mfa.New(mfa.Config{
		Sessions: st.sm, Verifiers: []mfa.Verifier{v}, Required: v.Required,
		Exempt: []string{"/login/passkey/", "/static/", "/e2e/", "/favicon.ico"}, DefaultNext: "/e2e/account", Logger: log, Now: st.clock.Now,
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := st.ids.Login(r, st.users[r.URL.Query().Get("u")]); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "logged in")
	})
	mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
		start, err := st.gate.Begin(w, r)
		if err != nil {
			http.Error(w, "begin: "+err.Error(), http.StatusForbidden)
			return
		}
		w.Write(start.Options)
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		next, err := st.gate.Complete(w, r)
		switch {
		case errors.Is(err, mfa.ErrUnavailable):
			st.gate.WriteUnavailable(w, r)
		case err != nil:
			http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
		default:
			identity.Redirect(w, r, next, http.StatusSeeOther)
		}
	})
	mux.HandleFunc("POST /account/passkeys/begin", st.pk.BeginRegistration)
	mux.HandleFunc("POST /account/passkeys/finish", st.pk.FinishRegistration)
	mux.HandleFunc("POST /account/passkeys/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := st.pk.Delete(r, r.URL.Query().Get("id")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprint(w, "deleted")
	})
	mux.HandleFunc("POST /login/passkey/begin", st.pk.BeginLogin)
	mux.HandleFunc("POST /login/passkey/finish", st.pk.FinishLogin)
	mux.HandleFunc("GET /static/passkey.js", passkey.ServeScript)
	st.pages(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		who := "anonymous"
		if u := identity.FromRequest(r); u != nil {
			who = u.ID()
		}
		fmt.Fprint(w, "page for "+who)
	})
	st.h = st.record(st.sm.LoadAndSave(who.Handler(st.gate.Handler(mux))))
	return st
}

// browser is one browser's cookie jar on the site.
type browser struct {
	st     *site
	cookie *http.Cookie
}

func (st *site) browser() *browser { return &browser{st: st} }

// do sends a request with the browser's cookie, and keeps the cookie the
// response sets. A body is sent as JSON unless ctype says otherwise.
func (b *browser) do(method, target string, body []byte, ctype ...string) *httptest.ResponseRecorder {
	b.st.t.Helper()
	r := httptest.NewRequest(method, origin+target, bytes.NewReader(body))
	switch {
	case len(ctype) > 0:
		r.Header.Set("Content-Type", ctype[0])
	case body != nil:
		r.Header.Set("Content-Type", "application/json")
	}
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	w := httptest.NewRecorder()
	b.st.h.ServeHTTP(w, r)
	b.cookie = testenv.KeepCookie(b.cookie, b.st.sm.Cookie.Name, w)
	return w
}

// login logs the browser in as id with a password.
func (b *browser) login(id string) {
	b.st.t.Helper()
	if w := b.do("POST", "/login?u="+url.QueryEscape(id), nil); w.Code != 200 {
		b.st.t.Fatalf("login %s: %d %s", id, w.Code, w.Body)
	}
}

// beginRegistration answers the creation options.
func (b *browser) beginRegistration() []byte {
	b.st.t.Helper()
	w := b.do("POST", "/account/passkeys/begin", nil)
	if w.Code != 200 {
		b.st.t.Fatalf("begin registration: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// finishRegistration posts the credential under name.
func (b *browser) finishRegistration(name string, cred []byte) *httptest.ResponseRecorder {
	body, _ := json.Marshal(map[string]any{"name": name, "credential": json.RawMessage(cred)})
	return b.do("POST", "/account/passkeys/finish", body)
}

// register registers a passkey of a on the browser's (logged-in) user.
func (b *browser) register(a *webauthntest.Authenticator) *webauthntest.Credential {
	b.st.t.Helper()
	cred, c, err := a.Register(b.beginRegistration(), origin)
	if err != nil {
		b.st.t.Fatal(err)
	}
	if w := b.finishRegistration("laptop", cred); w.Code != 200 {
		b.st.t.Fatalf("finish registration: %d %s", w.Code, w.Body)
	}
	return c
}

// beginLogin answers a passwordless login's options.
func (b *browser) beginLogin() []byte {
	b.st.t.Helper()
	w := b.do("POST", "/login/passkey/begin", nil)
	if w.Code != 200 {
		b.st.t.Fatalf("begin login: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// mfaOptions begins the gate's challenge and answers its options.
func (b *browser) mfaOptions() []byte {
	b.st.t.Helper()
	w := b.do("GET", "/mfa", nil)
	if w.Code != 200 {
		b.st.t.Fatalf("GET /mfa: %d %s", w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// postMFA posts an assertion as the challenge page's form does.
func (b *browser) postMFA(assertion []byte) *httptest.ResponseRecorder {
	form := url.Values{passkey.Field: {string(assertion)}}.Encode()
	return b.do("POST", "/mfa", []byte(form), "application/x-www-form-urlencoded")
}

// page answers "page for ID" when the gate lets the browser through.
func (b *browser) page() string {
	w := b.do("GET", "/", nil)
	if w.Code != 200 {
		return fmt.Sprintf("%d %s", w.Code, w.Header().Get("Location"))
	}
	return w.Body.String()
}

// refused returns the reasons of the passkey.refused events since the
// last call.
func (st *site) refused() []string {
	var out []string
	for _, e := range st.events.Take() {
		if e.Name == "passkey.refused" {
			out = append(out, e.Field("reason"))
		}
	}
	return out
}

func must[T any](t testing.TB, v T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// assertOK answers options with a's faithful assertion from origin.
func assertOK(t testing.TB, a *webauthntest.Authenticator, options []byte) []byte {
	t.Helper()
	raw, err := a.Assert(options, webauthntest.Assertion{Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// record keeps the body of every POST, as the page sent it, for tests
// that post it again (a captured assertion).
func (st *site) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 2*passkey.MaxBodyBytes))
			st.mu.Lock()
			st.posted[r.URL.Path] = body
			st.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	})
}

// lastPosted returns the last body POSTed to path.
func (st *site) lastPosted(path string) []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.posted[path]
}

// The pages of the browser tests (exempt from the gate), with the markup
// the package documents and its script.
var (
	accountPage = template.Must(template.New("account").Parse(`<!doctype html><title>account</title>
<script src="/static/passkey.js" defer></script>
<p id="who" data-user="{{.User}}">{{.User}}</p><p id="count" data-n="{{.Count}}">passkeys: {{.Count}}</p>
<input id="pk-name" value="test key">
<button id="register" data-passkey-register data-begin="/account/passkeys/begin" data-finish="/account/passkeys/finish" data-name-input="#pk-name">Add a passkey</button>
<p data-passkey-message></p>`))
	loginPage = template.Must(template.New("login").Parse(`<!doctype html><title>login</title>
<script src="/static/passkey.js" defer></script>
<button id="login" data-passkey-login data-begin="/login/passkey/begin" data-finish="/login/passkey/finish?next=/e2e/account">Log in with a passkey</button>
<p data-passkey-message></p>`))
	mfaPage = template.Must(template.New("mfa").Parse(`<!doctype html><title>mfa</title>
<script src="/static/passkey.js" defer></script>
<form id="mfa" method="post" action="/mfa" data-passkey-mfa data-options="{{.}}">
<input type="hidden" name="passkey_credential"><button id="use">Use my passkey</button></form>
<p data-passkey-message></p>`))
)

// pageCSP is the policy of the test pages: no inline script, and Trusted
// Types, so that a passkey.js that wrote HTML or ran inline code would
// fail the browser test.
const pageCSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; require-trusted-types-for 'script'"

func (st *site) pages(mux *http.ServeMux) {
	page := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", pageCSP)
			h(w, r)
		})
	}
	mux.HandleFunc("GET /e2e/pw-login", func(w http.ResponseWriter, r *http.Request) {
		if err := st.ids.Login(r, st.users[r.URL.Query().Get("u")]); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		next := r.URL.Query().Get("next")
		if !identity.SafeNext(next, nil, false) {
			next = "/"
		}
		identity.Redirect(w, r, next, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /e2e/logout", func(w http.ResponseWriter, r *http.Request) {
		st.ids.Logout(r)
		identity.Redirect(w, r, "/e2e/login", http.StatusSeeOther)
	})
	page("GET /e2e/account", func(w http.ResponseWriter, r *http.Request) {
		list, err := st.pk.List(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		accountPage.Execute(w, map[string]any{"User": identity.FromRequest(r).ID(), "Count": len(list)})
	})
	page("GET /e2e/login", func(w http.ResponseWriter, r *http.Request) { loginPage.Execute(w, nil) })
	page("GET /e2e/mfa", func(w http.ResponseWriter, r *http.Request) {
		start, err := st.gate.Begin(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		mfaPage.Execute(w, string(start.Options))
	})
}

// withPasskey registers a passkey of a new authenticator (a security key:
// UV, a counter) for alice, who logs in with her password in a browser of
// her own, and returns the authenticator and its credential.
func (st *site) withPasskey() (*webauthntest.Authenticator, *webauthntest.Credential) {
	st.t.Helper()
	alice := st.browser()
	alice.login("alice")
	a := webauthntest.New()
	return a, alice.register(a)
}
