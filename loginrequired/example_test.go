package loginrequired_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/seclog"
)

// Deny by default: only the listed routes are public, staff pages need
// staff, and everything else needs a login.
func Example() {
	gate, err := loginrequired.New(loginrequired.Config{
		Exempt:    []string{"/{$}", "/static/", "GET /health"},
		Rules:     []loginrequired.Rule{{Pattern: "/admin/", Authorize: loginrequired.Staff}},
		LoginURL:  "/login", // allowed automatically
		LogoutURL: "/logout",
		Logger:    seclog.Discard(),
	})
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") })
	h := gate.Handler(app) // in the bulwark chain, after the identity middleware

	for _, target := range []string{"/", "/static/app.css", "/account?tab=2", "/static/%2e%2e/account"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		loc := rec.Header().Get("Location")
		if loc == "" {
			loc = "∅"
		}
		fmt.Println(target, "→", rec.Code, loc)
	}

	// A logged-in user who is not staff.
	r := httptest.NewRequest("GET", "/admin/", nil)
	r = r.WithContext(identity.NewContext(r.Context(), identity.Basic{UserID: "alice", IsActive: true}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println("/admin/ as alice →", rec.Code)
	// Output:
	// / → 200 ∅
	// /static/app.css → 200 ∅
	// /account?tab=2 → 303 /login?next=%2Faccount%3Ftab%3D2
	// /static/%2e%2e/account → 400 ∅
	// /admin/ as alice → 403
}
