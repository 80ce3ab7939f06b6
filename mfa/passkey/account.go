package passkey

import (
	"embed"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// ErrNotFound is returned by [Passkeys.Delete] for a passkey the user
// does not have (unknown, or another user's).
var ErrNotFound = errors.New("passkey: no such passkey of this user")

// EncodedID returns the credential id as base64url without padding, the
// form the account page shows and [Passkeys.Delete] takes.
func (c Credential) EncodedID() string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// List returns the passkeys of the logged-in user of r, oldest first, for
// an account page. A request without a logged-in session gets an error.
func (p *Passkeys) List(r *http.Request) ([]Credential, error) {
	u, err := p.sessionUser(r)
	if err != nil {
		return nil, err
	}
	return p.store.List(r.Context(), u.ID())
}

// Delete removes the passkey whose [Credential.EncodedID] is id from the
// logged-in user of r, and logs passkey.deleted. It returns [ErrNotFound]
// when the user has no such passkey (another user's is never removed),
// and another error when there is no logged-in session or the store
// cannot answer. The account page calls it from its own POST handler,
// behind the site's CSRF protection.
func (p *Passkeys) Delete(r *http.Request, id string) error {
	u, err := p.sessionUser(r)
	if err != nil {
		return err
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) == 0 {
		return ErrNotFound
	}
	ok, err := p.store.Delete(r.Context(), u.ID(), raw)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrNotFound
	}
	p.log.Log(r, seclog.PasskeyDeleted, zap.String("credential", id), seclog.String("owner", u.ID()))
	return nil
}

//go:embed passkey.js
var script embed.FS

var scriptBytes = func() []byte {
	b, _ := script.ReadFile("passkey.js") // embedded: never fails
	return b
}()

// ServeScript serves passkey.js, the page's side of the ceremonies (a
// static file, so that a strict CSP with no inline script allows it):
// mount it on a GET route and load it with <script src=… defer>. It wires
// the elements that carry its data attributes (see the package
// documentation): registration, passwordless login, and the second
// factor's challenge form.
func ServeScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(scriptBytes)
}
