package identity

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/seclog"
)

// TestSchemeFromRequest: the handler behind the Middleware reads what
// authenticated its user, a stable name and never the credential; the
// events it logs carry that name as "auth", and the "authenticator" field
// of a refusal is the same name.
func TestSchemeFromRequest(t *testing.T) {
	log, sink := testLogger(t)
	store := newUsers()
	sm := scs.New()
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: store.lookup, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	byToken := func(want string) func(context.Context, string) (User, error) {
		return func(_ context.Context, tok string) (User, error) {
			if tok == want {
				return alice, nil
			}
			return nil, nil
		}
	}
	basic := &BasicAuth{Check: func(_ context.Context, name, pass string) (User, error) {
		if name == "alice" && pass == "pw" {
			return alice, nil
		}
		return nil, nil
	}}
	m, err := New(Config{Logger: log, Authenticators: []Authenticator{
		s, &Bearer{Lookup: byToken("b3arer")}, &Bearer{Keyword: "Token", Lookup: byToken("t0ken")}, basic, apiKey{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Login(r, alice); err != nil {
			t.Error(err)
		}
	})
	mux.Handle("/", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Log(r, seclog.IdentityLogout) // any event: it carries the scheme as "auth"
		w.Write([]byte(SchemeFromRequest(r) + ":"))
		if u := FromRequest(r); u != nil {
			w.Write([]byte(u.ID()))
		}
	})))
	h := sm.LoadAndSave(mux)
	_, cookie := do(t, h, "POST", "/login", "")

	for _, tc := range []struct {
		name, cookie, header, value string
		status                      int
		body, logged                string
	}{
		{"anonymous", "", "", "", 200, ":", ""},
		{"session", cookie, "", "", 200, "session:alice", ""},
		{"bearer", "", "Authorization", "Bearer b3arer", 200, "bearer:alice", ""},
		{"token keyword", "", "Authorization", "token t0ken", 200, "token:alice", ""},
		{"basic", "", "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw")), 200, "basic:alice", ""},
		{"custom", "", "X-Api-Key", "good", 200, "apikey:alice", ""},
		{"refused token", "", "Authorization", "Token b3arer", 401, "", "token"},
		{"refused custom", "", "X-Api-Key", "stolen", 401, "", "apikey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink.Take()
			r := httptest.NewRequest("GET", "/api/me", nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "session", Value: tc.cookie})
			}
			if tc.header != "" {
				r.Header.Set(tc.header, tc.value)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status || tc.body != "" && rec.Body.String() != tc.body {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if tc.status == 200 {
				ev := sink.Named("identity.logout")
				if want, _, _ := strings.Cut(tc.body, ":"); len(ev) != 1 || ev[0].Field("auth") != want {
					t.Errorf("the handler's event %v, want auth %q", ev, want)
				}
			}
			failed := sink.Named("identity.auth_failed")
			if tc.logged == "" && len(failed) != 0 || tc.logged != "" && (len(failed) != 1 || failed[0].Field("authenticator") != tc.logged || failed[0].Field("status") != "401") {
				t.Errorf("identity.auth_failed %v, want authenticator %q status 401", failed, tc.logged)
			}
			if strings.Contains(rec.Body.String(), "t0ken") || strings.Contains(rec.Body.String(), "b3arer") {
				t.Errorf("the credential leaked into %q", rec.Body.String())
			}
		})
	}
}

// TestSchemeContext: a user put in the context without a scheme has none;
// an anonymous context has none, whatever scheme was given.
func TestSchemeContext(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"empty context", ctx, ""},
		{"NewContext", NewContext(ctx, alice), ""},
		{"NewSchemeContext", NewSchemeContext(ctx, alice, SchemeToken), SchemeToken},
		{"inactive user", NewSchemeContext(ctx, bob, SchemeToken), ""},
		{"nil user", NewSchemeContext(ctx, nil, SchemeBearer), ""},
	} {
		if got := SchemeFromContext(tc.ctx); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// badScheme is a custom authenticator whose Scheme is not a token.
type badScheme struct{ apiKey }

func (badScheme) Scheme() string { return "api key" }

// TestAuthenticatorConfigErrors: a keyword, realm or scheme that cannot go
// into a header or a log as is is refused at construction, by the field
// that is wrong.
func TestAuthenticatorConfigErrors(t *testing.T) {
	lookup := func(context.Context, string) (User, error) { return nil, nil }
	check := func(context.Context, string, string) (User, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		auth Authenticator
		want string
	}{
		{"keyword with a space", &Bearer{Keyword: "My Token", Lookup: lookup}, "Bearer.Keyword"},
		{"keyword Basic", &Bearer{Keyword: "basic", Lookup: lookup}, "Bearer.Keyword"},
		{"keyword with a quote", &Bearer{Keyword: `Tok"en`, Lookup: lookup}, "Bearer.Keyword"},
		{"bearer realm with a quote", &Bearer{Realm: `a"b`, Lookup: lookup}, "Bearer.Realm"},
		{"basic realm with a newline", &BasicAuth{Realm: "a\nb", Check: check}, "BasicAuth.Realm"},
		{"custom scheme with a space", badScheme{}, `Scheme() "api key"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Authenticators: []Authenticator{tc.auth}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	if _, err := New(Config{Authenticators: []Authenticator{&Bearer{Keyword: "Token", Lookup: lookup}}}); err != nil {
		t.Errorf("Keyword Token: %v", err)
	}
	// The edges of what a header takes as it is: every tchar of RFC 9110
	// in a keyword, every printable byte but '"' and '\' in a realm.
	for _, ok := range []Authenticator{
		&Bearer{Keyword: "azAZ09!#$%&'*+-.^_`|~", Lookup: lookup},
		&Bearer{Realm: " ~!az", Lookup: lookup},
		&BasicAuth{Realm: " ~", Check: check},
	} {
		if _, err := New(Config{Authenticators: []Authenticator{ok}}); err != nil {
			t.Errorf("%+v refused: %v", ok, err)
		}
	}
	for _, keyword := range []string{"a@", "a[", "a{", "a/", "a:", "a\x7f", "a\x00", "a,b", "a="} {
		if _, err := New(Config{Authenticators: []Authenticator{&Bearer{Keyword: keyword, Lookup: lookup}}}); err == nil {
			t.Errorf("Keyword %q accepted", keyword)
		}
	}
	for _, realm := range []string{"a\x1f", "a\x7f", "a\x00"} {
		if _, err := New(Config{Authenticators: []Authenticator{&BasicAuth{Realm: realm, Check: check}}}); err == nil {
			t.Errorf("Realm %q accepted", realm)
		}
	}
}

// login is a user whose login name is not its id.
type login struct {
	Basic
	name string
}

func (l login) Username() string { return l.name }

// TestUsername: the login name of a Usernamer, else the id; never the
// display name.
func TestUsername(t *testing.T) {
	for _, tc := range []struct {
		u    User
		want string
	}{
		{alice, "alice"},
		{login{Basic{UserID: "42", Name: "Alice"}, "alice"}, "alice"},
		{login{Basic{UserID: "42", Name: "Alice"}, ""}, "42"},
	} {
		if got := Username(tc.u); got != tc.want {
			t.Errorf("Username(%+v) = %q, want %q", tc.u, got, tc.want)
		}
	}
}
