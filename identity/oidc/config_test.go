package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
)

// A configuration mistake is an error at New that names the field.
func TestNewRefusesConfig(t *testing.T) {
	sessions := mustSessions(t)
	op := oidctest.Start(t, "http://127.0.0.1:1/callback")
	claims := func(context.Context, *oidc.Claims) (identity.User, error) { return nil, nil }
	good := func() oidc.Config {
		return oidc.Config{Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret,
			RedirectURL: "http://127.0.0.1:1/callback", Identity: sessions, Claims: claims}
	}
	if _, err := oidc.New(context.Background(), good()); err != nil {
		t.Fatalf("the good config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*oidc.Config)
		want   string
	}{
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "Config.Issuer is empty"},
		{"no client id", func(c *oidc.Config) { c.ClientID = "" }, "Config.ClientID is empty"},
		{"no client secret", func(c *oidc.Config) { c.ClientSecret = "" }, "Config.ClientSecret is empty"},
		{"no redirect URL", func(c *oidc.Config) { c.RedirectURL = "" }, "Config.RedirectURL is empty"},
		{"relative redirect URL", func(c *oidc.Config) { c.RedirectURL = "/callback" }, "Config.RedirectURL \"/callback\" is not an absolute URL"},
		{"no sessions", func(c *oidc.Config) { c.Identity = nil }, "Config.Identity is nil"},
		{"no claims", func(c *oidc.Config) { c.Claims = nil }, "Config.Claims is nil"},
		{"negative flow TTL", func(c *oidc.Config) { c.FlowTTL = -1 }, "Config.FlowTTL -1ns is negative"},
		{"unsafe default next", func(c *oidc.Config) { c.DefaultNext = "//evil.example/" }, "Config.DefaultNext \"//evil.example/\" is not a safe redirect target"},
		{"start URL on another host", func(c *oidc.Config) { c.StartURL = "https://evil.example/login" }, "Config.StartURL"},
		{"issuer not the discovered one", func(c *oidc.Config) { c.Issuer += "/" }, "discover the provider"},
		{"no provider", func(c *oidc.Config) { c.Issuer = "http://127.0.0.1:1" }, "discover the provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			l, err := oidc.New(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || l != nil {
				t.Errorf("New: %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// Start and Logout on a request whose session was not loaded (no
// LoadAndSave in the chain) are a 500 and session.not_loaded, not scs's
// panic.
func TestWithoutSession(t *testing.T) {
	s := newSite(t)
	for _, h := range []struct {
		name   string
		method string
		serve  http.HandlerFunc
	}{{"Start", http.MethodGet, s.login.Start}, {"Logout", http.MethodPost, s.login.Logout}} {
		s.rec.Take()
		w := httptest.NewRecorder()
		h.serve(w, httptest.NewRequest(h.method, "/x", nil))
		if w.Code != http.StatusInternalServerError || w.Header().Get("Location") != "" {
			t.Errorf("%s: got %d Location %q; want 500 and no redirect", h.name, w.Code, w.Header().Get("Location"))
		}
		if got := s.rec.Names(); len(got) != 1 || got[0] != "session.not_loaded" {
			t.Errorf("%s: events %v; want session.not_loaded", h.name, got)
		}
	}
}

func TestNewRefusesPostLogoutURL(t *testing.T) {
	s := newSite(t)
	_, err := oidc.New(context.Background(), oidc.Config{Issuer: s.op.Issuer, ClientID: s.op.ClientID, ClientSecret: s.op.ClientSecret,
		RedirectURL: s.srv.URL + "/callback", Identity: mustSessions(t), Claims: func(context.Context, *oidc.Claims) (identity.User, error) { return nil, nil },
		PostLogoutRedirectURL: "/logged-out"})
	if err == nil || !strings.Contains(err.Error(), "Config.PostLogoutRedirectURL \"/logged-out\" is not an absolute URL") {
		t.Errorf("New: %v; want the PostLogoutRedirectURL named", err)
	}
}

func mustSessions(t *testing.T) *identity.Sessions {
	s, err := identity.NewSessions(identity.SessionsConfig{Sessions: scs.New(), Lookup: func(context.Context, string) (identity.User, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
