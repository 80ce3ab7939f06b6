package nocache_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/nocache"
)

// The common case: static assets and the public home page may be cached;
// every other response may not, and no response to a logged-in user may,
// whatever its path.
func Example() {
	m, err := nocache.New(nocache.Config{
		Exempt: []string{"/static/", "GET /{$}"},
		Authenticated: func(r *http.Request) bool {
			_, err := r.Cookie("session") // your identity check
			return err == nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, "ok")
	})
	h := m.Handler(page)

	for _, tc := range []struct {
		path   string
		cookie bool
	}{
		{"/static/app.css", false},
		{"/static/app.css", true},
		{"/account", false},
		{"/static/%2e%2e/account", false}, // not clean: confidential
	} {
		r := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.cookie {
			r.AddCookie(&http.Cookie{Name: "session", Value: "s3cr3t"})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%-23s logged-in=%-5v Cache-Control=%q ETag=%q\n",
			tc.path, tc.cookie, rec.Header().Get("Cache-Control"), rec.Header().Get("ETag"))
	}
	// Output:
	// /static/app.css         logged-in=false Cache-Control="" ETag="\"v1\""
	// /static/app.css         logged-in=true  Cache-Control="no-store, private, max-age=0" ETag=""
	// /account                logged-in=false Cache-Control="no-store, private, max-age=0" ETag=""
	// /static/%2e%2e/account  logged-in=false Cache-Control="no-store, private, max-age=0" ETag=""
}

// Only some paths are confidential (django-security's BLACKLIST_ON), with
// the HTTP/1.0 headers django-security also sends. A handler's own
// Cache-Control is kept; as it has no-store, the response still gets the
// HTTP/1.0 headers.
func Example_confidentialPaths() {
	m, err := nocache.New(nocache.Config{
		Confidential: []string{"/account/", "/users/{id}/invoices"},
		Legacy:       true,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/account/export", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-store")
		fmt.Fprint(w, "csv")
	})
	h := m.Handler(mux)

	for _, path := range []string{"/users/7/invoices", "/account/export", "/about"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("%-18s Cache-Control=%q Pragma=%q Expires=%q\n", path,
			rec.Header().Get("Cache-Control"), rec.Header().Get("Pragma"), rec.Header().Get("Expires"))
	}
	// Output:
	// /users/7/invoices  Cache-Control="no-store, private, max-age=0" Pragma="no-cache" Expires="0"
	// /account/export    Cache-Control="private, no-store" Pragma="no-cache" Expires="0"
	// /about             Cache-Control="" Pragma="" Expires=""
}
