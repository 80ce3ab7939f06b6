package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// account is an application's user whose sessions end when its password
// or its session epoch changes.
type account struct {
	identity.Basic
	passwordHash string
	epoch        int
}

func (a account) CredentialStamp() string { return fmt.Sprintf("%s$%d", a.passwordHash, a.epoch) }

// A password change in one session ends the user's other sessions: the
// session that made it goes on (Reauthenticate), the other is logged out
// at its next request, on whichever instance it arrives.
func ExampleCredentialStamper() {
	var mu sync.Mutex
	alice := account{identity.Basic{UserID: "alice", IsActive: true}, "hash-1", 0}
	lookup := func(ctx context.Context, id string) (identity.User, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != alice.UserID {
			return nil, nil
		}
		return alice, nil // read from the database on every request
	}
	sessions := scs.New()
	ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: sessions, Lookup: lookup, Logger: seclog.Discard()})
	if err != nil {
		panic(err)
	}
	who, err := identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: seclog.Discard()})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, _ := lookup(r.Context(), "alice") // … after checking the password …
		if err := ids.Login(r, u); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		alice.passwordHash = "hash-2" // the new password is saved
		mu.Unlock()
		if err := ids.Reauthenticate(r); err != nil { // keep this session
			http.Error(w, "could not keep the session", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if u := identity.FromRequest(r); u != nil {
			fmt.Fprint(w, u.ID())
			return
		}
		fmt.Fprint(w, "anonymous")
	})
	site := sessions.LoadAndSave(who.Handler(mux))
	send := func(method, path string, c *http.Cookie) (string, *http.Cookie) {
		r := httptest.NewRequest(method, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, r)
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			c = cs[0]
		}
		return rec.Body.String(), c
	}

	_, laptop := send("POST", "/login", nil)
	_, phone := send("POST", "/login", nil)
	_, laptop = send("POST", "/password", laptop)
	onLaptop, _ := send("GET", "/", laptop)
	onPhone, _ := send("GET", "/", phone)
	fmt.Println("laptop:", onLaptop)
	fmt.Println("phone:", onPhone)
	// Output:
	// laptop: alice
	// phone: anonymous
}
