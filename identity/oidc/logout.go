package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
)

// idTokenKey is the session key of the raw ID token of the login, sent
// back to the provider as id_token_hint at logout.
const idTokenKey = "bulwark.oidc.id_token"

// endSession finds where [Login.Logout] sends the browser: the provider's
// end_session_endpoint (RP-Initiated Logout 1.0), or with Auth0Logout and
// no such endpoint, Auth0's /v2/logout. "" means the provider has none.
func endSession(p *gooidc.Provider, issuer string, auth0 bool) (endpoint string, isAuth0 bool, err error) {
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", false, err
	}
	if meta.EndSession != "" {
		u, err := url.Parse(meta.EndSession)
		if err != nil || !u.IsAbs() {
			return "", false, fmt.Errorf("the end_session_endpoint %q is not an absolute URL", meta.EndSession)
		}
		return meta.EndSession, false, nil
	}
	if auth0 {
		return strings.TrimSuffix(issuer, "/") + "/v2/logout", true, nil
	}
	return "", false, nil
}

// Logout logs the user of r out here and at the provider: the session is
// destroyed ([identity.Sessions.Logout]), then the browser is sent (303)
// to the provider's end_session_endpoint with the login's ID token as
// id_token_hint, the client id, and Config.PostLogoutRedirectURL as
// post_logout_redirect_uri (RP-Initiated Logout 1.0); with Auth0Logout and
// no such endpoint, to Auth0's /v2/logout with returnTo and client_id.
// The provider sends the browser back to PostLogoutRedirectURL, which
// must be registered there (Auth0: Allowed Logout URLs; Keycloak: Valid
// post logout redirect URIs).
//
// A session not logged in through the provider, or a provider with no
// logout endpoint (Google), is logged out here only, and the browser sent
// to PostLogoutRedirectURL, or to DefaultNext.
//
// Logout answers POST only (405 otherwise): a logout link an attacker can
// embed would log users out at will. Put it behind the application's CSRF
// protection like any other form.
func (l *Login) Logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	hint, err := l.idToken(r.Context())
	if err != nil {
		sessionctx.Refuse(w, r, l.log, err)
		return
	}
	if err := l.sessions.Logout(r); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	target := l.afterLogout
	atProvider := hint != "" && l.endSession != ""
	if atProvider {
		target = l.endSessionURL(hint)
	}
	l.log.Log(r, seclog.OIDCLogout, zap.Bool("at_provider", atProvider))
	w.Header().Set("Cache-Control", "no-store")
	// Every part of target is configuration or discovery, or the ID
	// token the provider signed: no request string.
	identity.Redirect(w, r, target, http.StatusSeeOther)
}

// endSessionURL is the provider's logout URL for a session whose login
// returned the ID token hint.
func (l *Login) endSessionURL(hint string) string {
	u, _ := url.Parse(l.endSession) // checked at New
	q := u.Query()
	if l.auth0 {
		q.Set("client_id", l.clientID)
		if l.postLogout != "" {
			q.Set("returnTo", l.postLogout)
		}
	} else {
		q.Set("id_token_hint", hint)
		q.Set("client_id", l.clientID)
		if l.postLogout != "" {
			q.Set("post_logout_redirect_uri", l.postLogout)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// idToken returns the ID token the session's login kept, or "".
func (l *Login) idToken(ctx context.Context) (string, error) {
	if _, err := l.loadFlows(ctx); err != nil { // checks the session is loaded
		return "", err
	}
	return l.sessions.Manager().GetString(ctx, idTokenKey), nil
}

// checkPostLogout validates Config.PostLogoutRedirectURL.
func checkPostLogout(v string) error {
	if v == "" {
		return nil
	}
	if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return errors.New("oidc: Config.PostLogoutRedirectURL " + fmt.Sprintf("%q", v) + " is not an absolute URL: write the full URL the provider sends the browser to after logout, as registered there, such as \"https://app.example/\"")
	}
	return nil
}
