package bulwark_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"github.com/unrolled/secure"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/seclog"
)

// The recommended chain: fill the slots you use, in any order; the chain
// runs them in the order that is correct. The result is an alice.Chain, so
// your own middlewares compose with it.
func ExampleChain() {
	z := zap.NewNop() // your zap logger
	sec, err := seclog.New(seclog.Config{Logger: z})
	if err != nil {
		log.Fatal(err)
	}
	_ = sec // give sec to every middleware's Config

	sessions := scs.New()
	chain := bulwark.Chain{
		Logger:   sec, // whether a request came over HTTPS: its trusted proxies decide
		Secure:   secure.New(bulwark.SecureOptions()),
		Sessions: sessions,
	}

	requestID := func(next http.Handler) http.Handler { // one of your own
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req-1")
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	handler := alice.New(requestID).Extend(chain.Alice()).Then(mux)

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Body.String())
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Cross-Origin-Opener-Policy", "X-Request-Id"} {
		fmt.Printf("%s: %s\n", h, rec.Header().Get(h))
	}
	// Output:
	// 200 hello
	//
	// X-Content-Type-Options: nosniff
	// X-Frame-Options: DENY
	// Cross-Origin-Opener-Policy: same-origin
	// X-Request-Id: req-1
}
