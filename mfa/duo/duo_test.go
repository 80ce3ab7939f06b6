package duo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/duo"
	"github.com/bulwark-go/bulwark/mfa/internal/duostandin"
	"github.com/golang-jwt/jwt/v5"
)

const (
	clientID = "DIXXXXXXXXXXXXXXXXXX"
	secret   = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
	callback = "https://app.bulwark.test/mfa/callback"
)

// byID is a Config.Username that names every user by its id, so that the
// protocol tests can call the verifier without a request's user.
func byID(_ context.Context, id string) (string, error) { return id, nil }

func newVerifier(t *testing.T) (*duo.Verifier, *duostandin.Server) {
	t.Helper()
	s := duostandin.New(t, clientID, secret)
	v, err := duo.New(duo.Config{ClientID: clientID, ClientSecret: secret, APIHost: s.Host(), RedirectURI: callback, HTTPClient: s.Client(), Username: byID})
	if err != nil {
		t.Fatal(err)
	}
	return v, s
}

// run begins a challenge for alice, lets the stand-in approve it and
// returns the callback request and the state.
func run(t *testing.T, v *duo.Verifier, s *duostandin.Server) (*http.Request, string) {
	t.Helper()
	state := "state-" + strings.Repeat("s", 40)
	prompt, err := v.Begin(context.Background(), "alice", state)
	if err != nil {
		t.Fatal(err)
	}
	authURL := prompt.Redirect
	if !strings.HasPrefix(authURL, "https://"+s.Host()+"/oauth/v1/authorize?") {
		t.Fatalf("authorization URL %q", authURL)
	}
	cb := s.Approve(t, authURL)
	if !strings.HasPrefix(cb, callback+"?") {
		t.Fatalf("callback %q", cb)
	}
	return httptest.NewRequest("GET", cb, nil), state
}

func TestFlow(t *testing.T) {
	v, s := newVerifier(t)
	if err := v.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, state := run(t, v, s)
	if err := v.Complete(r, "alice", state); err != nil {
		t.Fatalf("Complete = %v", err)
	}
	// The same callback again: the code was exchanged already.
	if err := v.Complete(httptest.NewRequest("GET", r.URL.String(), nil), "alice", state); !errors.Is(err, mfa.ErrInvalid) {
		t.Fatalf("replayed callback = %v, want ErrInvalid", err)
	}
}

func TestStateChecks(t *testing.T) {
	v, s := newVerifier(t)
	r, state := run(t, v, s)
	code := r.URL.Query().Get("duo_code")
	for name, target := range map[string]string{
		"forged state":   "/cb?duo_code=" + code + "&state=forged",
		"missing state":  "/cb?duo_code=" + code,
		"repeated state": "/cb?duo_code=" + code + "&state=" + state + "&state=" + state,
		"empty state":    "/cb?duo_code=" + code + "&state=",
		"state prefix":   "/cb?duo_code=" + code + "&state=" + state[:len(state)-1],
	} {
		if err := v.Complete(httptest.NewRequest("GET", target, nil), "alice", state); !errors.Is(err, mfa.ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
	}
	if s.Exchanges != 0 {
		t.Errorf("the code was exchanged %d times despite a bad state", s.Exchanges)
	}
	for name, target := range map[string]string{
		"no code":      "/cb?state=" + state,
		"two codes":    "/cb?state=" + state + "&duo_code=a&duo_code=b",
		"unknown code": "/cb?state=" + state + "&duo_code=nope",
		"huge code":    "/cb?state=" + state + "&duo_code=" + strings.Repeat("c", 600),
	} {
		if err := v.Complete(httptest.NewRequest("GET", target, nil), "alice", state); !errors.Is(err, mfa.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// The code still works with the right state (it was never spent).
	if err := v.Complete(r, "alice", state); err != nil {
		t.Errorf("good callback after the bad ones: %v", err)
	}
	// Another user's session cannot use alice's callback.
	r2, state2 := run(t, v, s)
	if err := v.Complete(r2, "bob", state2); !errors.Is(err, mfa.ErrInvalid) {
		t.Errorf("alice's callback for bob: %v, want ErrInvalid", err)
	}
}

func TestIDTokenChecks(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(jwt.MapClaims)
		sign  func(jwt.MapClaims) string
	}{
		{"expired", func(m jwt.MapClaims) { m["exp"] = time.Now().Add(-time.Hour).Unix() }, nil},
		{"no exp", func(m jwt.MapClaims) { delete(m, "exp") }, nil},
		{"issued in the future", func(m jwt.MapClaims) { m["iat"] = time.Now().Add(time.Hour).Unix() }, nil},
		{"wrong audience", func(m jwt.MapClaims) { m["aud"] = "DIYYYYYYYYYYYYYYYYYY" }, nil},
		{"wrong issuer", func(m jwt.MapClaims) { m["iss"] = "https://evil.example/oauth/v1/token" }, nil},
		{"another user", func(m jwt.MapClaims) { m["preferred_username"] = "mallory" }, nil},
		{"no user", func(m jwt.MapClaims) { delete(m, "preferred_username") }, nil},
		{"wrong nonce", func(m jwt.MapClaims) { m["nonce"] = "0000" }, nil},
		{"no nonce", func(m jwt.MapClaims) { delete(m, "nonce") }, nil},
		{"other key", nil, func(m jwt.MapClaims) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, m).SignedString([]byte("another-secret-another-secret-another-se"))
			return s
		}},
		{"HS256", nil, func(m jwt.MapClaims) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(secret))
			return s
		}},
		{"alg none", nil, func(m jwt.MapClaims) string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, m).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}},
		{"garbage", nil, func(jwt.MapClaims) string { return "not.a.jwt" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, s := newVerifier(t)
			s.Set(func(s *duostandin.Server) { s.Spoil, s.SignWith = c.spoil, c.sign })
			r, state := run(t, v, s)
			if err := v.Complete(r, "alice", state); !errors.Is(err, mfa.ErrInvalid) {
				t.Fatalf("Complete = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestProviderDown: a failing health check or token endpoint is an error
// that is none of the refusals (the gate applies its fail mode, or 503).
func TestProviderDown(t *testing.T) {
	v, s := newVerifier(t)
	for _, h := range []string{"FAIL", "500"} {
		s.Set(func(s *duostandin.Server) { s.Health = h })
		if err := v.Health(context.Background()); err == nil {
			t.Errorf("health %s: nil error", h)
		}
	}
	s.Set(func(s *duostandin.Server) { s.Health = "OK" })
	r, state := run(t, v, s)
	s.Set(func(s *duostandin.Server) { s.TokenStatus = 502 })
	err := v.Complete(r, "alice", state)
	if err == nil {
		t.Fatal("token endpoint down: nil error")
	}
	for _, refusal := range []error{mfa.ErrInvalid, mfa.ErrReplay, mfa.ErrLocked, mfa.ErrNotEnrolled, mfa.ErrState} {
		if errors.Is(err, refusal) {
			t.Fatalf("an outage reads as %v", refusal)
		}
	}
	// Wrong credentials: the health check fails.
	bad, err := duo.New(duo.Config{ClientID: clientID, ClientSecret: strings.Repeat("x", 40), APIHost: s.Host(), RedirectURI: callback, HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Health(context.Background()); err == nil {
		t.Error("health with a wrong secret: nil error")
	}
	// Nobody listening.
	gone, _ := duo.New(duo.Config{ClientID: clientID, ClientSecret: secret, APIHost: "127.0.0.1:1", RedirectURI: callback})
	if err := gone.Health(context.Background()); err == nil {
		t.Error("health with nobody listening: nil error")
	}
}

func TestNewErrors(t *testing.T) {
	ok := duo.Config{ClientID: clientID, ClientSecret: secret, APIHost: "api-x.duosecurity.com", RedirectURI: callback}
	for _, c := range []struct {
		name string
		mod  func(*duo.Config)
		want string
	}{
		{"short client id", func(c *duo.Config) { c.ClientID = "DI" }, "ClientID"},
		{"short secret", func(c *duo.Config) { c.ClientSecret = "x" }, "ClientSecret"},
		{"no host", func(c *duo.Config) { c.APIHost = "" }, "APIHost"},
		{"host with scheme", func(c *duo.Config) { c.APIHost = "https://api-x.duosecurity.com" }, "APIHost"},
		{"http redirect", func(c *duo.Config) { c.RedirectURI = "http://app.example/cb" }, "RedirectURI"},
		{"relative redirect", func(c *duo.Config) { c.RedirectURI = "/mfa/callback" }, "RedirectURI"},
		{"leeway", func(c *duo.Config) { c.Leeway = time.Hour }, "Leeway"},
	} {
		cfg := ok
		c.mod(&cfg)
		if _, err := duo.New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if _, err := duo.New(ok); err != nil {
		t.Error(err)
	}
}

func TestUsername(t *testing.T) {
	s := duostandin.New(t, clientID, secret)
	v, err := duo.New(duo.Config{ClientID: clientID, ClientSecret: secret, APIHost: s.Host(), RedirectURI: callback, HTTPClient: s.Client(),
		Username: func(_ context.Context, id string) (string, error) {
			if id == "nobody" {
				return "", nil
			}
			return id + "@corp", nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	r, state := run(t, v, s)
	if err := v.Complete(r, "alice", state); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Begin(context.Background(), "nobody", "state"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("Begin(nobody) = %v", err)
	}
}

// member is an application's user whose id is a number and whose login
// name is not: Django's User with its pk and username.
type member struct {
	identity.Basic
	login string
}

func (m member) Username() string { return m.login }

// TestDefaultUsername: without Config.Username, Duo is sent the request's
// user's name (its Username, else its id), as django-duo-universal-auth
// sends request.user.username; never the numeric id, and never the name of
// another user than the one the gate asks about.
func TestDefaultUsername(t *testing.T) {
	s := duostandin.New(t, clientID, secret)
	v, err := duo.New(duo.Config{ClientID: clientID, ClientSecret: secret, APIHost: s.Host(), RedirectURI: callback, HTTPClient: s.Client()})
	if err != nil {
		t.Fatal(err)
	}
	alice := member{identity.Basic{UserID: "42", Name: "Alice Liddell", IsActive: true}, "alice"}
	bob := identity.Basic{UserID: "bob", Name: "Bob", IsActive: true}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		id   string
		want string // the duo_uname sent; "" for an error
	}{
		{"a user with a login name", identity.NewContext(context.Background(), alice), "42", "alice"},
		{"a user whose id is its name", identity.NewContext(context.Background(), bob), "bob", "bob"},
		{"no user in the context", context.Background(), "42", ""},
		{"another user in the context", identity.NewContext(context.Background(), bob), "42", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := "state-" + strings.Repeat("d", 40)
			prompt, err := v.Begin(tc.ctx, tc.id, state)
			authURL := prompt.Redirect
			if tc.want == "" {
				if err == nil || errors.Is(err, mfa.ErrNotEnrolled) {
					t.Fatalf("Begin = %v, want an error that is not ErrNotEnrolled", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(authURL)
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(u.Query().Get("request"), claims); err != nil {
				t.Fatal(err)
			}
			if claims["duo_uname"] != tc.want {
				t.Errorf("duo_uname %v, want %q", claims["duo_uname"], tc.want)
			}
			cb := httptest.NewRequest("GET", s.Approve(t, authURL), nil).WithContext(tc.ctx)
			if err := v.Complete(cb, tc.id, state); err != nil {
				t.Errorf("Complete = %v", err)
			}
		})
	}
}
