package testenv

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"
)

// Login returns the login handler of the suite's chain tests: it renews
// the session's token (as a real login must, against session fixation),
// stores user under the session key "user" and answers 303 See Other to
// next. A failure to renew fails t.
func Login(t testing.TB, sessions *scs.SessionManager, user, next string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.RenewToken(r.Context()); err != nil {
			t.Error(err)
		}
		sessions.Put(r.Context(), "user", user)
		seeOther(w, next)
	}
}

// Logout returns the logout handler of the suite's chain tests: it
// destroys the session, calls clear with the ResponseWriter (the test's
// clearsite.Trigger; a failure fails t) and answers 303 See Other to next.
func Logout(t testing.TB, sessions *scs.SessionManager, next string, clear func(http.ResponseWriter) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Destroy(r.Context()); err != nil {
			t.Error(err)
		}
		if err := clear(w); err != nil {
			t.Errorf("Trigger through the chain: %v", err)
		}
		seeOther(w, next)
	}
}

// seeOther answers 303 to next, the test's own target, written as given:
// like identity.Redirect (which testenv cannot import: identity's tests
// import testenv), and unlike http.Redirect, it never cleans the path.
func seeOther(w http.ResponseWriter, next string) {
	w.Header().Set("Location", next)
	w.WriteHeader(http.StatusSeeOther)
}

// TLSServer starts h on a loopback TLS server, closed when t ends, and
// returns it with a client that trusts it, keeps cookies and does not
// follow redirects (so that a test sees each 303 and its headers).
func TLSServer(t testing.TB, h http.Handler) (*httptest.Server, *http.Client) {
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Jar, _ = cookiejar.New(nil)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return srv, client
}
