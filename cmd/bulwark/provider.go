package main

import (
	"context"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
	"github.com/bulwark-go/bulwark/seclog"
)

// The demo's login through an identity provider: an OpenID Connect
// provider (identity/oidc/oidctest) runs in the demo's process on its own
// loopback port, and the login page offers "Log in with the demo
// provider" (identity/oidc). Its user dave exists only at the provider.

// The demo's routes of the provider login.
const (
	oidcStartPath       = "/login/oidc"
	oidcCallbackPath    = "/login/oidc/callback"
	oidcBackChannelPath = "/login/oidc/backchannel"
	loggedOutPath       = "/logged-out"
)

// oidcPublic are the routes of the provider login that anyone may reach
// (bulwark.Config.Public): the flow begins before the login, the
// provider's back-channel request carries no session, and the page after
// the logout at the provider shows to a logged-out browser.
var oidcPublic = []string{"GET " + oidcStartPath, "GET " + oidcCallbackPath, "POST " + oidcBackChannelPath, "GET " + loggedOutPath}

// providerUsers are the demo provider's accounts: a contract, as
// demoAccounts are. dave is staff by the provider's role claim, not by
// anything stored here.
var providerUsers = []oidctest.User{{
	Subject: "dave", Username: "dave", Password: "dave-password", Name: "Dave", Email: "dave@example.com",
	Claims: map[string]any{"roles": []string{"staff"}},
}}

// demoClientID and demoClientSecret are the demo's credentials at its
// provider (a constant secret: both ends are this process).
const (
	demoClientID     = "bulwark-demo"
	demoClientSecret = "bulwark-demo-secret"
)

// startProvider starts the demo provider on addr (a loopback address) for
// the demo served at origin. It keeps a login session, as real providers
// do, so that the logout at the provider is seen: after it, the provider
// asks for the password again.
func startProvider(addr, origin string) (*oidctest.Provider, error) {
	return oidctest.New(oidctest.Config{
		Addr:                   addr,
		Users:                  providerUsers,
		ClientID:               demoClientID,
		ClientSecret:           demoClientSecret,
		RedirectURIs:           []string{origin + oidcCallbackPath},
		PostLogoutRedirectURIs: []string{origin + loggedOutPath},
		RememberLogin:          true,
		BackChannelLogoutURI:   origin + oidcBackChannelPath,
	})
}

// newProviderLogin is the demo's client of provider p: accounts made at
// the first login (userStore.federatedLogin), the logout at the provider
// back to the demo's logged-out page, and the back-channel logout, which
// ends the sessions here of the provider session the token names (its sid,
// or every one of the user's for a token with only a sub): identity/oidc's
// default, on the demo's session store, which can list its sessions.
func newProviderLogin(ctx context.Context, p *oidctest.Provider, origin string, sessions *identity.Sessions, users *userStore, sec *seclog.Logger) (*oidc.Login, error) {
	return oidc.New(ctx, oidc.Config{
		Issuer:                p.Issuer,
		ClientID:              p.ClientID,
		ClientSecret:          p.ClientSecret,
		RedirectURL:           origin + oidcCallbackPath,
		Identity:              sessions,
		Claims:                users.federatedLogin,
		DefaultNext:           "/account",
		StartURL:              oidcStartPath,
		PostLogoutRedirectURL: origin + loggedOutPath,
		HTTPClient:            &http.Client{Timeout: 10 * time.Second},
		Logger:                sec,
	})
}

// providerRoutes adds the provider login's routes to mux.
func (s *site) providerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+oidcStartPath, s.oidc.Start)
	mux.HandleFunc("GET "+oidcCallbackPath, s.oidc.Callback)
	mux.HandleFunc("POST "+oidcBackChannelPath, s.oidc.BackChannel)
	mux.HandleFunc("GET "+loggedOutPath, func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "logged-out", page{Title: "Logged out"})
	})
}

// logoutAtProvider logs a user of the provider out here and at the
// provider (oidc.Login.Logout, with Clear-Site-Data as local does), and
// anyone else with local.
func (s *site) logoutAtProvider(local http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a, ok := identity.FromRequest(r).(*account); !ok || s.oidc == nil || !a.federated() {
			local(w, r)
			return
		}
		_ = clearsite.Trigger(w)
		s.oidc.Logout(w, r)
	}
}

var _ = template.Must(templates.New("logged-out").Parse(`{{template "top" .}}
{{if .User}}<p>You are still logged in as <b>{{.User.DisplayName}}</b>.</p>{{else}}
<p id="logged-out">You are logged out, here and at the demo provider.</p>{{end}}
<div class="note"><p><b>identity/oidc</b> ended your session here, then sent your browser to the provider's
<code>end_session_endpoint</code> with the ID token of your login as <code>id_token_hint</code> (RP-initiated logout);
the provider ended its own session and sent you back here (<code>post_logout_redirect_uri</code>). Its next login asks
for your password again.</p></div>
{{template "bottom" .}}`))

// publicOrigin is the demo's origin for a listener at addr: a loopback or
// unspecified address (every interface) is served as
// http://localhost:PORT, a name WebAuthn accepts as a relying party ID
// (an IP is not one) and whose cookies are not the provider's, which is
// on 127.0.0.1. Any other address is served under its own IP.
func publicOrigin(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() && !tcp.IP.IsUnspecified() {
		return "http://" + addr.String()
	}
	return "http://localhost:" + strconv.Itoa(tcp.Port)
}

// canonicalHost redirects a request that names the demo by another
// loopback name (127.0.0.1:8080, [::1]:8080 for http://localhost:8080)
// to the same path and query at origin, keeping the method (307): the
// demo's cookies, passkeys and provider callback are origin's. Other
// hosts (the machine's own address when the demo listens on every
// interface) are served as they are.
func canonicalHost(origin string, next http.Handler) http.Handler {
	u, err := url.Parse(origin)
	if err != nil || u.Hostname() != "localhost" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, err := net.SplitHostPort(r.Host)
		if err != nil || port != u.Port() || r.Host == u.Host || !loopbackName(host) {
			next.ServeHTTP(w, r)
			return
		}
		// The request's path and query after the origin built here: the
		// authority cannot change. A target SafeNext refuses (dot
		// segments, backslashes) goes home instead.
		target := r.URL.RequestURI()
		if !identity.SafeNext(target, nil, true) {
			target = "/"
		}
		identity.Redirect(w, r, origin+target, http.StatusTemporaryRedirect)
	})
}

// loopbackName reports whether host is a loopback IP or a spelling of
// localhost.
func loopbackName(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return strings.EqualFold(strings.TrimSuffix(host, "."), "localhost")
}
