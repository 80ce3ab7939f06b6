package bulwark_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

var bob = identity.Basic{UserID: "bob", IsActive: true}

func lookupBob(context.Context, string) (identity.User, error) { return bob, nil }

// TestNewMistakes holds every mistake of a chain that New refuses: the
// ones the chain used to accept silently (a 500 on every request, a login
// loop, a panic in scs, a gate that never asks) and every contradiction
// between a slot and the chain's shared settings. Each error names the
// slot and the field, and says what to write.
func TestNewMistakes(t *testing.T) {
	sm := scs.New()
	other := scs.New()
	rs := testenv.Must(identity.NewResponder(identity.ResponderConfig{}))
	idsOther := testenv.Must(identity.NewSessions(identity.SessionsConfig{Sessions: other, Lookup: lookupBob, Logger: seclog.Discard()}))
	idsSame := testenv.Must(identity.NewSessions(identity.SessionsConfig{Sessions: sm, Lookup: lookupBob, Logger: seclog.Discard()}))
	who := &bulwark.IdentityConfig{Lookup: lookupBob}
	store := passwordexpiry.NewMemoryStore()
	withSSLProxy := bulwark.SecureOptions()
	withSSLProxy.SSLProxyHeaders = map[string]string{"X-Forwarded-Proto": "https"}
	withCSP := bulwark.SecureOptions()
	withCSP.ContentSecurityPolicy = "default-src 'self'"
	withReferrer := bulwark.SecureOptions()
	withReferrer.ReferrerPolicy = "no-referrer"
	var typedNil *csp.Middleware
	mark := bulwark.MiddlewareFunc(func(next http.Handler) http.Handler { return next })

	for _, tc := range []struct {
		name  string
		cfg   bulwark.Config
		slot  bulwark.Slot
		field string
		says  string // part of the message: what to write
	}{
		// The chain never checked its slots.
		{"sessionexpiry without sessions (was a 500 on every request)",
			bulwark.Config{SessionExpiry: &sessionexpiry.Config{}},
			bulwark.SlotSessionExpiry, "Sessions", "set Config.Sessions to your *scs.SessionManager"},
		{"loginrequired without identity (was a login loop)",
			bulwark.Config{Sessions: sm, LoginRequired: &loginrequired.Config{}},
			bulwark.SlotLoginRequired, "Identity", "set Config.Identity"},
		{"session login without sessions (was a panic in scs)",
			bulwark.Config{Identity: who},
			bulwark.SlotIdentity, "Sessions", "set Config.Sessions"},
		{"session login on another manager (was a panic in scs)",
			bulwark.Config{Sessions: sm, Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{idsOther}}},
			bulwark.SlotIdentity, "Identity.Authenticators[0]", "build it on Config.Sessions"},
		{"mfa without identity (no one was ever asked)",
			bulwark.Config{Sessions: sm, MFA: &mfa.Config{Verifiers: []mfa.Verifier{codeVerifier{}}}},
			bulwark.SlotMFA, "Identity", "set Config.Identity"},
		{"mfa without sessions",
			bulwark.Config{Custom: map[bulwark.Slot]bulwark.Middleware{bulwark.SlotIdentity: mark}, MFA: &mfa.Config{Verifiers: []mfa.Verifier{codeVerifier{}}}},
			bulwark.SlotMFA, "Sessions", "set Config.Sessions"},
		{"passwordexpiry without identity (no one was ever sent to change)",
			bulwark.Config{PasswordExpiry: &passwordexpiry.Config{Store: store}},
			bulwark.SlotPasswordExpiry, "Identity", "set Config.Identity"},
		{"profiling's default Authorize without identity (nothing was ever profiled)",
			bulwark.Config{Profiling: &profiling.Config{}},
			bulwark.SlotProfiling, "Identity", "or give Config.Profiling an Authorize of its own"},

		// The identity slot itself.
		{"identity with no way to find a user",
			bulwark.Config{Sessions: sm, Identity: &bulwark.IdentityConfig{}},
			bulwark.SlotIdentity, "Identity.Lookup", "give Lookup"},
		{"identity with two session logins",
			bulwark.Config{Sessions: sm, Identity: &bulwark.IdentityConfig{Lookup: lookupBob, Authenticators: []identity.Authenticator{idsSame}}},
			bulwark.SlotIdentity, "Identity.Authenticators[0]", "give either Identity.Lookup or one *identity.Sessions"},
		{"identity with a nil authenticator",
			bulwark.Config{Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{(*identity.Bearer)(nil)}}},
			bulwark.SlotIdentity, "Identity.Authenticators[0]", "remove it"},
		{"identity Revoke without Lookup",
			bulwark.Config{Sessions: sm, Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{idsSame}, Revoke: func(context.Context, string) error { return nil }}},
			bulwark.SlotIdentity, "Identity.Revoke", "give Identity.Lookup too"},

		// A slot's own setting contradicts the chain's.
		{"login URL /signin in a slot, /login in the chain",
			bulwark.Config{Sessions: sm, Identity: who, LoginRequired: &loginrequired.Config{LoginURL: "/signin"}},
			bulwark.SlotLoginRequired, "LoginRequired.LoginURL", `set Config.LoginURL to "/signin" and leave Config.LoginRequired.LoginURL empty`},
		{"login URL of sessionexpiry differs from the chain's",
			bulwark.Config{Sessions: sm, LoginURL: "/signin", SessionExpiry: &sessionexpiry.Config{LoginURL: "/login"}},
			bulwark.SlotSessionExpiry, "SessionExpiry.LoginURL", `set Config.LoginURL to "/login"`},
		{"logout URL of mfa differs from the chain's",
			bulwark.Config{Sessions: sm, Identity: who, MFA: &mfa.Config{Verifiers: []mfa.Verifier{codeVerifier{}}, LogoutURL: "/signout"}},
			bulwark.SlotMFA, "MFA.LogoutURL", `set Config.LogoutURL to "/signout" and leave Config.MFA.LogoutURL empty`},
		{"logout URL of the login gate differs from the chain's",
			bulwark.Config{Sessions: sm, Identity: who, LogoutURL: "/bye", LoginRequired: &loginrequired.Config{LogoutURL: "/logout"}},
			bulwark.SlotLoginRequired, "LoginRequired.LogoutURL", `set Config.LogoutURL to "/logout"`},
		{"a slot's manager is not the chain's",
			bulwark.Config{Sessions: sm, SessionExpiry: &sessionexpiry.Config{Sessions: other}},
			bulwark.SlotSessionExpiry, "SessionExpiry.Sessions", "leave Config.SessionExpiry.Sessions nil"},
		{"a slot has a manager, the chain none",
			bulwark.Config{Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{&identity.Bearer{}}}, PasswordExpiry: &passwordexpiry.Config{Store: store, Sessions: sm}},
			bulwark.SlotPasswordExpiry, "PasswordExpiry.Sessions", "set Config.Sessions to it"},
		{"a slot's responder is not the chain's",
			bulwark.Config{Sessions: sm, Identity: who, MFA: &mfa.Config{Verifiers: []mfa.Verifier{codeVerifier{}}, Responder: rs}},
			bulwark.SlotMFA, "MFA.Responder", "set Config.Responder to it and leave Config.MFA.Responder nil"},
		{"passwordexpiry's session login is not the chain's",
			bulwark.Config{Sessions: sm, Identity: who, PasswordExpiry: &passwordexpiry.Config{Store: store, Identity: idsSame}},
			bulwark.SlotPasswordExpiry, "PasswordExpiry.Identity", "leave it nil"},
		{"Secure sets Content-Security-Policy beside the CSP slot",
			bulwark.Config{Secure: withCSP, CSP: &csp.Config{}},
			bulwark.SlotSecure, "Secure.ContentSecurityPolicy", "write the policy in Config.CSP"},
		{"Secure sets Referrer-Policy beside the Referrer slot",
			bulwark.Config{Secure: withReferrer, Referrer: &referrer.Config{}},
			bulwark.SlotSecure, "Secure.ReferrerPolicy", "write the policy in Config.Referrer"},
		{"Secure believes X-Forwarded-Proto from anyone",
			bulwark.Config{Secure: withSSLProxy},
			bulwark.SlotSecure, "Secure.SSLProxyHeaders", "seclog.Config.TrustedProxies"},

		// The chain's own settings.
		{"a public route that is not a pattern",
			bulwark.Config{Public: []string{"/static/", "/users/{id"}},
			"", "Public[1]", "write a net/http.ServeMux pattern"},
		{"a public route listed twice",
			bulwark.Config{Public: []string{"/static/", "/static/"}},
			"", "Public[1]", "list it once"},

		// Custom slots.
		{"a slot set twice",
			bulwark.Config{CSP: &csp.Config{}, Custom: map[bulwark.Slot]bulwark.Middleware{bulwark.SlotCSP: mark}},
			bulwark.SlotCSP, "CSP", "leave Config.CSP nil"},
		{"a custom session manager",
			bulwark.Config{Custom: map[bulwark.Slot]bulwark.Middleware{bulwark.SlotSessions: mark}},
			bulwark.SlotSessions, "Custom[SlotSessions]", "set Config.Sessions"},
		{"a custom slot that does not exist",
			bulwark.Config{Custom: map[bulwark.Slot]bulwark.Middleware{"Csrf": mark, bulwark.SlotReferrer: typedNil}},
			"", `Custom["Csrf"]`, "use one of the Slot constants"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = seclog.Discard()
			c, err := bulwark.New(tc.cfg)
			var ce *bulwark.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New = %v, %v; want a *ConfigError", c, err)
			}
			msg := err.Error()
			if ce.Slot != tc.slot || ce.Field != tc.field || !strings.Contains(msg, tc.says) || !strings.Contains(msg, "Config."+tc.field+": ") {
				t.Errorf("error %#v\n%s\nwant slot %q, field %q, saying %q", ce, msg, tc.slot, tc.field, tc.says)
			}
		})
	}
}

// TestNewSlotError: a slot whose own constructor refuses its Config is a
// *ConfigError naming the slot, wrapping the package's error; and New
// leaves the session manager as it was (sessionexpiry is built last).
func TestNewSlotError(t *testing.T) {
	sm := scs.New()
	store := sm.Store
	_, err := bulwark.New(bulwark.Config{
		Logger:        seclog.Discard(),
		Sessions:      sm,
		SessionExpiry: &sessionexpiry.Config{},
		CSP:           &csp.Config{NonceBytes: 4},
	})
	var ce *bulwark.ConfigError
	if !errors.As(err, &ce) || ce.Slot != bulwark.SlotCSP || ce.Err == nil || !strings.HasPrefix(err.Error(), "bulwark: CSP slot: csp: ") {
		t.Fatalf("New = %v; want the CSP slot's own error", err)
	}
	if sm.Store != store {
		t.Error("a failed New changed the session manager's store")
	}
}

// TestSharedSettings: the slots that set none get the chain's logger,
// responder, login URL and public routes.
func TestSharedSettings(t *testing.T) {
	sec, events := seclogtest.New(t)
	rs := testenv.Must(identity.NewResponder(identity.ResponderConfig{APIPatterns: []string{"/api/"}}))
	sm := scs.New()
	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:        sec,
		Responder:     rs,
		LoginURL:      "/signin",
		Public:        []string{"/{$}", "GET /health"},
		Sessions:      sm,
		Identity:      &bulwark.IdentityConfig{Lookup: lookupBob},
		LoginRequired: &loginrequired.Config{}, // no Logger, Responder, LoginURL, Exempt of its own
	}))
	if chain.Logger() != sec || chain.Responder() != rs || chain.Sessions() != sm || chain.SessionAuth() == nil || chain.LoginRequired() == nil {
		t.Fatal("accessors do not return the chain's parts")
	}
	h := chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	for _, tc := range []struct {
		target   string
		status   int
		location string
	}{
		{"/", 200, ""},
		{"/health", 200, ""},
		{"/signin", 200, ""}, // the chain's login page is reachable
		{"/logout", 200, ""}, // and its logout route (default)
		{"/account", 303, "/signin?next=%2Faccount"},
		{"/api/me", 403, ""}, // the chain's responder: an API route
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
			t.Errorf("GET %s: %d %q; want %d %q", tc.target, rec.Code, rec.Header().Get("Location"), tc.status, tc.location)
		}
	}
	if names := events.Names(); len(names) != 2 || names[0] != seclog.LoginRequiredRedirect.Name {
		t.Errorf("events in the chain's logger: %v; want two %s", names, seclog.LoginRequiredRedirect.Name)
	}

	// No logger anywhere is seclog.Default(), never silence.
	if c := testenv.Must(bulwark.New(bulwark.Config{})); c.Logger() != seclog.Default() {
		t.Error("a chain without a Logger does not log to seclog.Default()")
	}
}

// stamped is a user whose credential stamp is read from a counter that
// the password change increments.
type stamped struct {
	identity.Basic
	stamp *atomic.Int64
}

func (u stamped) CredentialStamp() string { return string(rune('a' + u.stamp.Load())) }

// TestWiring: the cross-links New makes between slots. Each case fails
// without its link.
func TestWiring(t *testing.T) {
	t.Run("an expired session's refusal clears the site", func(t *testing.T) {
		clk := testenv.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
		sm := scs.New()
		chain := testenv.Must(bulwark.New(bulwark.Config{
			Logger:        seclog.Discard(),
			Sessions:      sm,
			SessionExpiry: &sessionexpiry.Config{Idle: 10 * time.Minute, Now: clk.Now},
			Identity:      &bulwark.IdentityConfig{Lookup: lookupBob, Now: clk.Now},
			ClearSite:     &clearsite.Config{},
		}))
		h := chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				chain.SessionAuth().Login(r, bob)
			}
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
		cookie := rec.Result().Cookies()
		clk.Add(11 * time.Minute)
		r := httptest.NewRequest("GET", "https://example.com/account", nil)
		r.AddCookie(cookie[0])
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusSeeOther || rec.Header().Get(clearsite.HeaderName) != chain.ClearSite().Value() {
			t.Errorf("expired: %d, Clear-Site-Data %q; want 303 with %q", rec.Code, rec.Header().Get(clearsite.HeaderName), chain.ClearSite().Value())
		}
	})

	t.Run("nocache marks a logged-in user's responses", func(t *testing.T) {
		chain := testenv.Must(bulwark.New(bulwark.Config{
			Logger:   seclog.Discard(),
			Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{&identity.Bearer{Lookup: func(context.Context, string) (identity.User, error) { return bob, nil }}}},
			NoCache:  &nocache.Config{Exempt: []string{"/static/"}},
		}))
		h := chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("body{}")) }))
		for _, token := range []string{"", "t0ken"} {
			r := httptest.NewRequest("GET", "/static/app.css", nil)
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if marked := rec.Header().Get("Cache-Control") == nocache.CacheControl; marked != (token != "") {
				t.Errorf("token %q: Cache-Control %q", token, rec.Header().Get("Cache-Control"))
			}
		}
	})

	t.Run("passwordexpiry's Changed keeps the changing session", func(t *testing.T) {
		var stamp atomic.Int64
		carol := stamped{identity.Basic{UserID: "carol", IsActive: true}, &stamp}
		store := passwordexpiry.NewMemoryStore()
		chain := testenv.Must(bulwark.New(bulwark.Config{
			Logger:         seclog.Discard(),
			Sessions:       scs.New(),
			Identity:       &bulwark.IdentityConfig{Lookup: func(context.Context, string) (identity.User, error) { return carol, nil }},
			LoginRequired:  &loginrequired.Config{},
			PasswordExpiry: &passwordexpiry.Config{Store: store},
		}))
		h := chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/login":
				chain.SessionAuth().Login(r, carol)
			case "/password/change":
				stamp.Add(1) // the new password: the user's other sessions end
				if err := chain.PasswordExpiry().Changed(r, "carol"); err != nil {
					t.Error(err)
				}
			}
			w.Write([]byte("ok"))
		}))
		var cookie *http.Cookie
		do := func(method, path string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, path, nil)
			if cookie != nil {
				r.AddCookie(cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			cookie = testenv.KeepCookie(cookie, chain.Sessions().Cookie.Name, rec)
			return rec
		}
		do("POST", "/login")
		if rec := do("POST", "/password/change"); rec.Code != 200 {
			t.Fatalf("change: %d", rec.Code)
		}
		if rec := do("GET", "/account"); rec.Code != 200 {
			t.Errorf("after the change, the changing session got %d %q: it was logged out", rec.Code, rec.Header().Get("Location"))
		}
	})
}

// TestCustomSlot: another library's middleware in a slot runs at the
// slot's place and counts as the slot for the checks.
func TestCustomSlot(t *testing.T) {
	var trail []string
	own := func(name string) bulwark.MiddlewareFunc {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				trail = append(trail, name)
				next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), bob)))
			})
		}
	}
	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:        seclog.Discard(),
		LoginRequired: &loginrequired.Config{},
		Custom: map[bulwark.Slot]bulwark.Middleware{
			bulwark.SlotIdentity: own("my identity"),
			bulwark.SlotCSP:      own("my csp"),
		},
	}))
	if chain.Identity() != nil || chain.CSP() != nil {
		t.Error("a custom slot's accessor is not nil")
	}
	rec := httptest.NewRecorder()
	chain.Then(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { trail = append(trail, "app") })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/account", nil))
	if rec.Code != 200 || strings.Join(trail, ", ") != "my identity, my csp, app" {
		t.Errorf("%d, trail %v", rec.Code, trail)
	}
}

// TestBearerChallengeReachesTheResponder: with a bearer authenticator in
// the Identity slot and no Responder of its own, an API request without a
// token is a 401 that names the scheme, not a 403. A credential refused in
// the Identity slot follows the same rule, through the same Responder: 401
// with the first challenge, 403 when no authenticator has one (never a
// 401 without WWW-Authenticate).
func TestBearerChallengeReachesTheResponder(t *testing.T) {
	noToken := func(context.Context, string) (identity.User, error) { return nil, nil }
	for _, tc := range []struct {
		name   string
		auth   []identity.Authenticator
		apiKey string // a refused X-Api-Key, or none
		status int
		header string
	}{
		{"no bearer", nil, "", http.StatusForbidden, ""},
		{"bearer", []identity.Authenticator{&identity.Bearer{Lookup: noToken}}, "", http.StatusUnauthorized, `Bearer realm="api"`},
		{"custom refuses, no challenge", []identity.Authenticator{headerKey{}}, "stolen", http.StatusForbidden, ""},
		{"custom refuses, then token", []identity.Authenticator{headerKey{}, &identity.Bearer{Keyword: "Token", Lookup: noToken}}, "stolen", http.StatusUnauthorized, `Token realm="api"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chain := testenv.Must(bulwark.New(bulwark.Config{
				Logger:        seclog.Discard(),
				Sessions:      scs.New(),
				Identity:      &bulwark.IdentityConfig{Lookup: noToken, Authenticators: tc.auth},
				LoginRequired: &loginrequired.Config{},
			}))
			h := chain.Then(http.NotFoundHandler())
			r := httptest.NewRequest("GET", "/api/me", nil)
			r.Header.Set("Accept", "application/json")
			if tc.apiKey != "" {
				r.Header.Set("X-Api-Key", tc.apiKey)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status || rec.Header().Get("WWW-Authenticate") != tc.header {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tc.status, tc.header)
			}
		})
	}
}

// headerKey is a custom authenticator without a challenge: X-Api-Key
// "good" is bob, any other key is refused.
type headerKey struct{}

func (headerKey) Scheme() string { return "apikey" }

func (headerKey) Authenticate(r *http.Request) (identity.User, error) {
	switch r.Header.Get("X-Api-Key") {
	case "":
		return nil, nil
	case "good":
		return identity.Basic{UserID: "bob", IsActive: true}, nil
	}
	return nil, identity.ErrInvalidCredentials
}
