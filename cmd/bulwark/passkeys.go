package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	pksql "github.com/bulwark-go/bulwark/mfa/passkey/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
	"go.uber.org/zap"
)

// The demo's passkeys (mfa/passkey): a logged-in user adds one on the
// account page, and then may use it instead of TOTP at the second factor
// (carol), or log in with it alone ("Log in with a passkey", user
// verification required: a passkey that verified its user is both
// factors, and the gate asks nothing more).

// The demo's routes of the passkeys.
const (
	passkeyScriptPath  = "/static/passkey.js"
	passkeyBeginPath   = "/account/passkeys/begin"
	passkeyFinishPath  = "/account/passkeys/finish"
	passkeyDeletePath  = "/account/passkeys/delete"
	passkeyLoginBegin  = "/login/passkey/begin"
	passkeyLoginFinish = "/login/passkey/finish"
)

// The demo's relying party: its name as authenticators show it, and its
// RP ID, the host of the demo's origin (publicOrigin).
const (
	passkeyRPName       = "bulwark demo"
	passkeyRPIDLoopback = "localhost"
)

// passkeyPublic are the passkey routes anyone may reach
// (bulwark.Config.Public): the passwordless login begins before any login,
// as the login form does. The script is under the public /static/.
var passkeyPublic = []string{"POST " + passkeyLoginBegin, "POST " + passkeyLoginFinish}

// newPasskeys is the demo's passkeys, kept in the demo's database
// (mfa/passkey/sqlstore, on SQLite or PostgreSQL) for the RP ID
// "localhost" and the demo's one origin (publicOrigin: the demo is served
// as http://localhost:PORT, the only http origin browsers allow WebAuthn
// on). Lookup enables the passwordless login. It returns nil, and no
// error, when the demo is served on another host (-addr on a network
// address): browsers offer no passkeys to such a page, and the demo runs
// without them.
func newPasskeys(ctx context.Context, db *sqldb.DB, origin string, ids *identity.Sessions, users *userStore, sec *seclog.Logger) (*passkey.Passkeys, error) {
	if !passkeysAt(origin) {
		return nil, nil
	}
	store, err := pksql.New(ctx, db)
	if err != nil {
		return nil, err
	}
	return passkey.New(passkey.Config{
		RPID:          passkeyRPIDLoopback, // the host of origin
		RPDisplayName: passkeyRPName,
		RPOrigins:     []string{origin},
		Store:         store,
		Identity:      ids,
		Lookup:        users.lookup,
		DefaultNext:   "/account",
		Logger:        sec,
	})
}

// passkeysAt reports whether the demo served at origin can offer
// passkeys: on http, browsers allow WebAuthn for localhost only.
func passkeysAt(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Hostname() == passkeyRPIDLoopback
}

// passkeyRoutes mounts the script, the registration and deletion of the
// account page (behind the login and the gate, like /account) and the
// passwordless login (public).
func (s *site) passkeyRoutes(mux *http.ServeMux) {
	if s.pk == nil {
		return
	}
	mux.HandleFunc("GET "+passkeyScriptPath, passkey.ServeScript)
	mux.HandleFunc("POST "+passkeyBeginPath, s.pk.BeginRegistration)
	mux.HandleFunc("POST "+passkeyFinishPath, s.pk.FinishRegistration)
	mux.HandleFunc("POST "+passkeyDeletePath, s.deletePasskey)
	mux.HandleFunc("POST "+passkeyLoginBegin, s.pk.BeginLogin)
	mux.HandleFunc("POST "+passkeyLoginFinish, s.pk.FinishLogin)
}

// accountData is the account page's data: the login time and the user's
// passkeys.
type accountData struct {
	Since    string
	Passkeys []passkey.Credential
	// PasskeysErr is set when the passkeys could not be listed.
	PasskeysErr bool
}

func (s *site) account(w http.ResponseWriter, r *http.Request) {
	data := accountData{Since: s.ids.LoginTime(r.Context()).Format(time.RFC3339)}
	if s.pk != nil {
		list, err := s.pk.List(r)
		if err != nil {
			s.sec.Zap().Error("demo: list passkeys", zap.Error(err))
			data.PasskeysErr = true
		}
		data.Passkeys = list
	}
	s.render(w, r, http.StatusOK, "account", page{Title: "Your account", Data: data})
}

// deletePasskey removes one of the user's passkeys (form field "id", its
// Credential.EncodedID) and goes back to the account page. The chain's
// CrossOrigin slot refused a cross-site post before it got here; the
// session's user is the only owner it can remove from.
func (s *site) deletePasskey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	switch err := s.pk.Delete(r, r.PostForm.Get("id")); {
	case errors.Is(err, passkey.ErrNotFound):
		http.Error(w, "No such passkey of yours.", http.StatusNotFound)
	case err != nil:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	default:
		identity.Redirect(w, r, "/account", http.StatusSeeOther)
	}
}

// passkeyFinishURL is where the login page's passwordless login posts its
// assertion: next rides in the query, and FinishLogin answers it only
// when identity.SafeNext accepts it (a path on this site).
func passkeyFinishURL(next string) string {
	if next == "" {
		return passkeyLoginFinish
	}
	return passkeyLoginFinish + "?next=" + url.QueryEscape(next)
}
