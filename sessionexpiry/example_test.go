package sessionexpiry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// Sessions end after 8 hours from login, or 15 minutes without a request;
// the expiry page is the shared responder's: a navigation is sent to log
// in again, with "next".
func Example() {
	sec := seclog.Discard()
	sessions := scs.New()
	sessions.Lifetime = 9 * time.Hour // longer than Absolute: sessionexpiry ends them, and logs it
	sessions.Cookie.Secure = true

	now := time.Now() // a clock the example can move
	clock := func() time.Time { return now }

	expiry, err := sessionexpiry.New(sessionexpiry.Config{
		Sessions: sessions,
		Absolute: 8 * time.Hour,
		Idle:     15 * time.Minute,
		OnExpire: func(w http.ResponseWriter, r *http.Request) {
			// With package clearsite: clearSite.Send(w, r)
			w.Header().Set("Clear-Site-Data", `"cookies", "storage"`)
		},
		Logger: sec,
		Now:    clock,
	})
	if err != nil {
		panic(err)
	}
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sessions,
		Lookup: func(ctx context.Context, id string) (identity.User, error) {
			return identity.Basic{UserID: id, IsActive: true}, nil
		},
		Logger: sec,
		Now:    clock,
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		ids.Login(r, identity.Basic{UserID: "alice", IsActive: true}) // after checking the password
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "account of %s", ids.UserID(r.Context()))
	})
	// In an application: bulwark.New(bulwark.Config{Sessions: sessions, SessionExpiry: &sessionexpiry.Config{…}, …}).
	site := sessions.LoadAndSave(expiry.Handler(mux))

	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookie := rec.Result().Cookies()[0]

	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/account", nil)
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, r)
		return rec
	}
	now = now.Add(10 * time.Minute)
	fmt.Println(get().Body)
	now = now.Add(16 * time.Minute)
	rec = get()
	fmt.Println(rec.Code, rec.Header().Get("Location"), rec.Header().Get("Clear-Site-Data"))
	// Output:
	// account of alice
	// 303 /login?next=%2Faccount "cookies", "storage"
}
