package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
)

// Logout ends the session here and at the provider, which sends the
// browser back to the post-logout URL; without the provider's endpoint,
// or for a session not logged in through it, only here.
func TestLogout(t *testing.T) {
	for _, tc := range []struct {
		name         string
		opts         []func(*site, *oidc.Config)
		login        bool
		wantProvider bool
		wantPath     string
	}{
		{"at the provider, back to the post-logout URL", []func(*site, *oidc.Config){postLogout}, true, true, "/logged-out"},
		{"at the provider, its own page", nil, true, true, "/logged-out"},
		{"provider without end_session_endpoint", []func(*site, *oidc.Config){postLogout, func(s *site, _ *oidc.Config) { s.op.WithoutEndSession() }}, true, false, "/logged-out"},
		{"not logged in through the provider", []func(*site, *oidc.Config){postLogout}, false, false, "/logged-out"},
		{"nothing configured, not logged in", nil, false, false, "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, tc.opts...)
			b := s.browser()
			if tc.login {
				if _, body, _ := s.loginAs(b, oidctest.PlainUsername, "/"); body == "user= staff=no" {
					t.Fatal("login failed")
				}
			}
			s.rec.Take()
			resp, err := b.PostForm(s.srv.URL+"/logout", nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			at := resp.Request.URL
			if tc.name == "at the provider, its own page" {
				// No post_logout_redirect_uri: the provider's own page.
				if at.Host != mustHost(s.op.Issuer) || string(body) != "signed out successfully" {
					t.Errorf("ended at %s: %q; want the provider's signed-out page", at, body)
				}
			} else if at.Host != mustHost(s.srv.URL) || at.Path != tc.wantPath {
				t.Errorf("ended at %s; want the site's %s", at, tc.wantPath)
			}
			end := b.visitedPath("/end_session")
			if got := s.op.EndSessions() == 1; got != tc.wantProvider {
				t.Errorf("provider told: %v, want %v", got, tc.wantProvider)
			}
			if tc.wantProvider && (end.Query().Get("id_token_hint") == "" || end.Query().Get("client_id") != s.op.ClientID) {
				t.Errorf("end_session request %s: want id_token_hint and client_id", end)
			}
			if ev := s.rec.Named("oidc.logout"); len(ev) != 1 || ev[0].Field("at_provider") != map[bool]string{true: "true", false: "false"}[tc.wantProvider] {
				t.Errorf("oidc.logout events %+v; want one, at_provider=%v", ev, tc.wantProvider)
			}
			if _, body, _ := s.get(b, s.srv.URL+"/"); body != "user= staff=no" {
				t.Errorf("after logout the session says %q; want nobody", body)
			}
		})
	}
}

// A logout link (GET) does nothing: an attacker could embed it.
func TestLogoutGetRefused(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	s.loginAs(b, oidctest.PlainUsername, "/")
	status, _, _ := s.get(b, s.srv.URL+"/logout")
	if status != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout: %d; want 405", status)
	}
	if _, body, _ := s.get(b, s.srv.URL+"/"); body == "user= staff=no" {
		t.Error("GET /logout logged the user out")
	}
}

func postLogout(s *site, c *oidc.Config) { c.PostLogoutRedirectURL = s.srv.URL + "/logged-out" }

func mustHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Host
}

// With Auth0Logout and no end_session_endpoint, Logout sends the browser
// to Auth0's /v2/logout with client_id and returnTo (the in-process
// provider does not serve it: the test reads the redirect).
func TestLogoutAuth0(t *testing.T) {
	s := newSite(t, postLogout, func(s *site, c *oidc.Config) { s.op.WithoutEndSession(); c.Auth0Logout = true })
	b := s.browser()
	s.loginAs(b, oidctest.PlainUsername, "/")
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.PostForm(s.srv.URL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := s.op.Issuer + "/v2/logout?client_id=" + url.QueryEscape(s.op.ClientID) + "&returnTo=" + url.QueryEscape(s.srv.URL+"/logged-out")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("got %d Location %q; want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	b.CheckRedirect = nil
	if _, body, _ := s.get(b, s.srv.URL+"/"); body != "user= staff=no" {
		t.Errorf("after logout the session says %q; want nobody", body)
	}
}
