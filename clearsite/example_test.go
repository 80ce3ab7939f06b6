package clearsite_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// A logout handler asks for Clear-Site-Data with Send, then redirects:
// the 303 carries the header, and the browser drops the site's cookies and
// storage before it follows the redirect. A listed path gets the header
// without asking.
func Example() {
	sec := seclog.Discard() // in production, one logger for the whole suite
	cs, err := clearsite.New(clearsite.Config{
		Paths:  []string{"/account/deleted"},
		Logger: sec,
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		// … end the session (scs: sessions.Destroy(r.Context())) …
		// Before writing. An error means no header: plain HTTP (logged
		// as a clearsite.not_sent event).
		_ = cs.Send(w, r)
		identity.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account/deleted", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Your account is gone.")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "home")
	})
	h := cs.Handler(mux)

	for _, target := range []string{
		"POST https://example.com/logout",
		"GET https://example.com/account/deleted",
		"GET https://example.com/",
		"POST http://example.com/logout", // plain HTTP: browsers would ignore it
	} {
		var method, url string
		fmt.Sscan(target, &method, &url)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, url, nil))
		fmt.Printf("%-40s %d Clear-Site-Data: %q\n", target, rec.Code, rec.Header().Get("Clear-Site-Data"))
	}
	// Output:
	// POST https://example.com/logout          303 Clear-Site-Data: "\"cookies\", \"storage\""
	// GET https://example.com/account/deleted  200 Clear-Site-Data: "\"cookies\", \"storage\""
	// GET https://example.com/                 200 Clear-Site-Data: ""
	// POST http://example.com/logout           303 Clear-Site-Data: ""
}
