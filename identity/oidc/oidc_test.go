package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
)

// site is a relying party on httptest logging in through an in-process
// provider.
type site struct {
	t        *testing.T
	srv      *httptest.Server
	op       *oidctest.Provider
	login    *oidc.Login
	sessions *identity.Sessions
	sm       *scs.SessionManager
	rec      *seclogtest.Recorder
	log      *seclog.Logger
	mux      *http.ServeMux // the application's routes
	handler  http.Handler   // what LoadAndSave serves: mux, or the gates before it
	offset   atomic.Int64   // added to the real time: the site's clock
	mu       sync.Mutex
	users    map[string]identity.Basic
	refuse   atomic.Bool // Claims refuses every user
	onReturn func()      // called when the browser comes back to the callback
}

func newSite(t *testing.T, opts ...func(*site, *oidc.Config)) *site {
	t.Helper()
	s := &site{t: t, users: map[string]identity.Basic{}}
	log, rec := seclogtest.New(t)
	s.rec = rec
	s.sm = scs.New()
	sessions, err := identity.NewSessions(identity.SessionsConfig{Sessions: s.sm, Logger: log, Lookup: func(_ context.Context, id string) (identity.User, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if u, ok := s.users[id]; ok {
			return u, nil
		}
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.sessions, s.log = sessions, log
	mux := http.NewServeMux()
	s.mux, s.handler = mux, mux
	s.srv = httptest.NewServer(s.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) })))
	t.Cleanup(s.srv.Close)
	s.op = oidctest.Start(t, s.srv.URL+"/callback", s.srv.URL+"/logged-out")
	cfg := oidc.Config{
		Issuer: s.op.Issuer, ClientID: s.op.ClientID, ClientSecret: s.op.ClientSecret,
		RedirectURL: s.srv.URL + "/callback", Identity: sessions, StartURL: "/login",
		FlowTTL: 3 * time.Hour, // longer than the provider's ID tokens: the tests judge either
		Claims: func(_ context.Context, c *oidc.Claims) (identity.User, error) {
			if s.refuse.Load() {
				return nil, errors.New("this provider's users may not use the site")
			}
			u := identity.Basic{UserID: c.Issuer + "|" + c.Subject, Name: c.Name, IsActive: true, IsStaff: c.Has("staff")}
			s.mu.Lock()
			defer s.mu.Unlock()
			s.users[u.UserID] = u
			return u, nil
		},
		Logger: log,
		Now:    func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) },
	}
	for _, o := range opts {
		o(s, &cfg)
	}
	s.login, err = oidc.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /login", s.login.Start)
	mux.HandleFunc("GET /callback", s.login.Callback)
	mux.HandleFunc("/logout", s.login.Logout)
	mux.HandleFunc("/backchannel", s.login.BackChannel)
	mux.HandleFunc("GET /methods", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Join(sessions.LoginMethods(r.Context()), " "))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u := sessions.UserID(r.Context())
		s.mu.Lock()
		staff := s.users[u].IsStaff
		s.mu.Unlock()
		io.WriteString(w, "user="+u+" staff="+map[bool]string{true: "yes", false: "no"}[staff])
	})
	return s
}

// browser is a cookie-keeping client that follows redirects and records
// the URLs it was sent to.
type browser struct {
	*http.Client
	visited []*url.URL
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{Client: &http.Client{Jar: jar}}
	b.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		b.visited = append(b.visited, r.URL)
		if r.URL.Path == "/callback" && strings.HasPrefix(r.URL.String(), s.srv.URL) && s.onReturn != nil {
			s.onReturn()
		}
		return nil
	}
	return b
}

// visitedPath returns the last URL b was redirected to with path p.
func (b *browser) visitedPath(p string) *url.URL {
	for i := len(b.visited) - 1; i >= 0; i-- {
		if b.visited[i].Path == p {
			return b.visited[i]
		}
	}
	return nil
}

// get fetches u and returns the response's status, body and final URL.
func (s *site) get(b *browser, u string) (int, string, *url.URL) {
	s.t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Request.URL
}

// loginAs starts a login at the site with next and logs in at the
// provider's page as username; it returns the site's last answer.
func (s *site) loginAs(b *browser, username, next string) (int, string, *url.URL) {
	s.t.Helper()
	status, body, at := s.get(b, s.srv.URL+"/login?next="+url.QueryEscape(next))
	if status != http.StatusOK || at.Path != "/login/username" {
		s.t.Fatalf("start: %d at %s, want the provider's login page: %s", status, at, body)
	}
	resp, err := b.PostForm(s.op.Issuer+"/login/username", url.Values{
		"username": {username}, "password": {oidctest.Password}, "id": {at.Query().Get("authRequestID")},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page), resp.Request.URL
}

func (s *site) sessionCookie(b *browser) string {
	u, _ := url.Parse(s.srv.URL)
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == s.sm.Cookie.Name {
			return c.Value
		}
	}
	return ""
}

func TestLogin(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		name, username, next, wantPath, wantStaff string
		subject                                   string
	}{
		{"staff by group, next kept", "", "/reports?q=1", "/reports", "yes", oidctest.AdminSubject},
		{"plain user", oidctest.PlainUsername, "/account", "/account", "no", oidctest.PlainSubject},
		{"next to another host refused", oidctest.PlainUsername, "//evil.example/", "/", "no", oidctest.PlainSubject},
		{"next with a backslash refused", oidctest.PlainUsername, `/\evil.example`, "/", "no", oidctest.PlainSubject},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.t = t
			b := s.browser()
			s.get(b, s.srv.URL+"/") // a pre-login session
			username := tc.username
			if username == "" {
				username = s.op.AdminUsername()
			}
			status, body, at := s.loginAs(b, username, tc.next)
			want := "user=" + s.op.Issuer + "|" + tc.subject + " staff=" + tc.wantStaff
			if status != http.StatusOK || at.Path != tc.wantPath || body != want {
				t.Fatalf("got %d at %s: %q; want 200 at %s: %q", status, at, body, tc.wantPath, want)
			}
			start := b.visitedPath("/auth")
			if q := start.Query(); q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
				t.Errorf("authorization request %s: want S256 PKCE, a nonce and a state", start)
			}
			if names := s.rec.Names(); !contains(names, "identity.login") || !contains(names, "oidc.login") {
				t.Errorf("events %v: want identity.login and oidc.login", names)
			}
		})
	}
}

// The session token changes at login (session fixation), as with a
// password login.
func TestLoginRenewsSession(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	var before string // the pre-login session's token, which holds the flow
	s.onReturn = func() { before = s.sessionCookie(b) }
	s.loginAs(b, oidctest.PlainUsername, "/")
	after := s.sessionCookie(b)
	if before == "" || after == "" || before == after {
		t.Fatalf("session cookie before %q, after %q: want a new token at login", before, after)
	}
}

// Each refusal ends in the refusal page, an oidc.refused event with its
// reason, and nobody logged in.
func TestRefusals(t *testing.T) {
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		arrange    func(s *site)
		run        func(s *site, b *browser) (int, string)
		wantStatus int
		wantReason string
	}{{
		name: "access_denied from the provider",
		run: func(s *site, b *browser) (int, string) {
			// Start a flow, then come back as the provider does when
			// the user declines: error=access_denied with the state.
			b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := b.Get(s.srv.URL + "/login")
			if err != nil {
				s.t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			b.CheckRedirect = nil
			status, body, _ := s.get(b, s.srv.URL+"/callback?error=access_denied&error_description=declined&state="+url.QueryEscape(loc.Query().Get("state")))
			return status, body
		},
		wantStatus: http.StatusForbidden, wantReason: "provider_error",
	}, {
		name: "unknown state",
		run: func(s *site, b *browser) (int, string) {
			status, body, _ := s.get(b, s.srv.URL+"/callback?code=abc&state=forged")
			return status, body
		},
		wantStatus: http.StatusBadRequest, wantReason: "unknown_state",
	}, {
		name: "replayed state",
		run: func(s *site, b *browser) (int, string) {
			// Another browser logs in; its callback is replayed, first
			// by itself, then by this browser: the state is spent.
			other := s.browser()
			s.loginAs(other, oidctest.PlainUsername, "/")
			replay := other.visitedPath("/callback")
			if status, _, _ := s.get(other, replay.String()); status != http.StatusBadRequest {
				s.t.Errorf("replay in the browser that logged in: %d, want 400", status)
			}
			s.rec.Take()
			status, body, _ := s.get(b, replay.String())
			return status, body
		},
		wantStatus: http.StatusBadRequest, wantReason: "unknown_state",
	}, {
		name: "flow expired",
		arrange: func(s *site) {
			s.onReturn = func() { s.offset.Store(int64(3*time.Hour + time.Second)) }
		},
		wantStatus: http.StatusBadRequest, wantReason: "flow_expired",
	}, {
		name: "wrong nonce",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { c["nonce"] = "another-login" })
		},
		wantStatus: http.StatusForbidden, wantReason: "wrong_nonce",
	}, {
		name: "expired token",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })
		},
		wantStatus: http.StatusForbidden, wantReason: "expired_token",
	}, {
		name: "expired token by the site's clock",
		arrange: func(s *site) {
			// The provider's tokens live an hour; the site's clock is
			// two hours on when the browser comes back (the flow lives
			// three).
			s.onReturn = func() { s.offset.Store(int64(2 * time.Hour)) }
		},
		wantStatus: http.StatusForbidden, wantReason: "expired_token",
	}, {
		name: "wrong audience",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { c["aud"] = []string{"another-client"}; c["azp"] = "another-client" })
		},
		wantStatus: http.StatusForbidden, wantReason: "wrong_audience",
	}, {
		name: "second audience without azp",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { c["aud"] = []string{s.op.ClientID, "another-client"}; delete(c, "azp") })
		},
		wantStatus: http.StatusForbidden, wantReason: "wrong_audience",
	}, {
		name: "wrong issuer",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { c["iss"] = "https://evil.example" })
		},
		wantStatus: http.StatusForbidden, wantReason: "wrong_issuer",
	}, {
		name: "unknown kid",
		arrange: func(s *site) {
			s.op.SignWithForeignKey(foreign)
		},
		wantStatus: http.StatusForbidden, wantReason: "bad_signature",
	}, {
		name: "user refused by the application",
		arrange: func(s *site) {
			s.refuse.Store(true)
		},
		wantStatus: http.StatusForbidden, wantReason: "user_refused",
	}, {
		name: "nonce removed",
		arrange: func(s *site) {
			s.op.Tamper(func(c map[string]any) { delete(c, "nonce") })
		},
		wantStatus: http.StatusForbidden, wantReason: "wrong_nonce",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t)
			if tc.arrange != nil {
				tc.arrange(s)
			}
			b := s.browser()
			s.get(b, s.srv.URL+"/")
			s.rec.Take()
			var status int
			var body string
			if tc.run != nil {
				status, body = tc.run(s, b)
			} else {
				status, body, _ = s.loginAs(b, oidctest.PlainUsername, "/account")
			}
			if status != tc.wantStatus || !strings.Contains(body, "Login refused") {
				t.Errorf("got %d %q; want %d and the refusal page", status, body, tc.wantStatus)
			}
			ev := s.rec.Named("oidc.refused")
			if len(ev) != 1 || ev[0].Field("reason") != tc.wantReason {
				t.Fatalf("oidc.refused events %+v; want one with reason %s", ev, tc.wantReason)
			}
			if contains(s.rec.Names(), "identity.login") {
				t.Error("identity.login logged on a refused login")
			}
			s.op.Tamper(nil)
			s.onReturn = nil
			s.offset.Store(0)
			if _, body, _ := s.get(b, s.srv.URL+"/"); body != "user= staff=no" {
				t.Errorf("after the refusal the session says %q; want nobody logged in", body)
			}
		})
	}
}

// N logins cost one JWKS request: the key set caches the provider's keys,
// and fetches them again only for an unknown kid.
func TestKeysFetchedOnce(t *testing.T) {
	s := newSite(t)
	const n = 5
	for range n {
		b := s.browser()
		if status, body, _ := s.loginAs(b, oidctest.PlainUsername, "/"); status != http.StatusOK || !strings.HasPrefix(body, "user="+s.op.Issuer) {
			t.Fatalf("login: %d %q", status, body)
		}
	}
	if got := s.op.KeyRequests(); got != 1 {
		t.Errorf("%d logins made %d JWKS requests; want 1", n, got)
	}
	// A token signed by a key the set does not hold costs one more
	// request (the rotation check: at most one per KeyRefetchInterval,
	// see TestUnknownKeysCannotHammerTheProvider), and is refused.
	s.offset.Add(int64(oidc.KeyRefetchInterval + time.Second))
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.op.SignWithForeignKey(foreign)
	s.loginAs(s.browser(), oidctest.PlainUsername, "/")
	if got := s.op.KeyRequests(); got != 2 {
		t.Errorf("after a token with an unknown kid: %d JWKS requests; want 2", got)
	}
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
