package referrer_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
)

// The common case: the secure default for the whole site, a stricter
// policy on the password-reset pages (whose URLs carry a token), built
// once at startup.
func Example() {
	sec := seclog.Discard()                                 // in production, the suite's one security logger
	site, err := referrer.New(referrer.Config{Logger: sec}) // same-origin
	if err != nil {
		log.Fatal(err)
	}
	reset, err := referrer.New(referrer.Config{Policy: referrer.NoReferrer, Logger: sec})
	if err != nil {
		log.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })

	mux := http.NewServeMux()
	mux.Handle("/", page)
	mux.Handle("/reset/", reset.Handler(page)) // the inner middleware wins on its route
	h := site.Handler(mux)

	for _, path := range []string{"/", "/reset/3f9a1c"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("%-14s Referrer-Policy: %s\n", path, rec.Header().Get("Referrer-Policy"))
	}
	// Output:
	// /              Referrer-Policy: same-origin
	// /reset/3f9a1c  Referrer-Policy: no-referrer
}

// Fallbacks for browsers that do not know the preferred policy: they are
// sent first, the preferred policy last, because a browser uses the last
// token it knows.
func Example_fallbacks() {
	m, err := referrer.New(referrer.Config{
		Policy:    referrer.StrictOriginWhenCrossOrigin,
		Fallbacks: []referrer.Policy{referrer.NoReferrer},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Value())

	_, err = referrer.New(referrer.Config{Policy: "no-referer"})
	fmt.Println(err)
	// Output:
	// no-referrer, strict-origin-when-cross-origin
	// referrer: Policy "no-referer" is not a policy token: write "no-referrer" (referrer.NoReferrer)
}
