package passwordexpiry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/seclog"
)

// A user flagged at account creation is sent to the change page until the
// change handler calls Changed; the change page, logout and static files
// stay reachable. In an application, give Config.Sessions the
// *scs.SessionManager so that the verdict is cached in the session.
func Example() {
	store := passwordexpiry.NewMemoryStore()
	gate, err := passwordexpiry.New(passwordexpiry.Config{
		Store:     store,
		ChangeURL: "/password/change", // exempt automatically, as /login and /logout
		Exempt:    []string{"/static/"},
		Logger:    seclog.Discard(),
	})
	if err != nil {
		panic(err)
	}

	// The account was created with a password chosen by someone else.
	_ = store.Require(context.Background(), "alice", passwordexpiry.FirstLogin, time.Now())

	mux := http.NewServeMux()
	mux.HandleFunc("POST /password/change", func(w http.ResponseWriter, r *http.Request) {
		u := identity.FromRequest(r)
		// … check the old password, save the new one, then:
		if err := gate.Changed(r, u.ID()); err != nil {
			http.Error(w, "your new password could not be saved", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "changed")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") })
	h := gate.Handler(mux) // in the bulwark chain: after identity and loginrequired

	alice := identity.Basic{UserID: "alice", IsActive: true}
	send := func(method, target string, hdr ...string) {
		r := httptest.NewRequest(method, target, nil)
		if len(hdr) == 2 {
			r.Header.Set(hdr[0], hdr[1])
		}
		r = r.WithContext(identity.NewContext(r.Context(), alice))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(method, target, "→", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	send("GET", "/account")
	send("GET", "/api/me", "Accept", "application/json")
	send("GET", "/static/app.css")
	send("POST", "/password/change")
	send("GET", "/account")
	// Output:
	// GET /account → 303 /password/change?next=%2Faccount See Other
	//
	// GET /api/me → 403  {"error":"password_change_required","reason":"first_login","location":"/password/change?next=%2Fapi%2Fme"}
	//
	// GET /static/app.css → 200  page
	// POST /password/change → 200  changed
	// GET /account → 200  page
}
