package bulwark_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/seclog"
)

// The recommended chain from one Config: the shared settings once, the
// slots you use, each with its own package's Config. New checks the
// combination and builds every middleware; the result is an alice.Chain,
// so your own middlewares compose with it.
func ExampleNew() {
	sec, err := seclog.New(seclog.Config{Logger: zap.NewNop()}) // your zap logger
	if err != nil {
		log.Fatal(err)
	}
	lookupUser := func(ctx context.Context, id string) (identity.User, error) {
		return identity.Basic{UserID: id, IsActive: true}, nil // your user store
	}

	chain, err := bulwark.New(bulwark.Config{
		Logger:        sec,       // every slot logs here
		Sessions:      scs.New(), // loaded right after the CSRF check
		Public:        []string{"/{$}", "/static/"},
		Secure:        bulwark.SecureOptions(),
		CrossOrigin:   http.NewCrossOriginProtection(),
		Identity:      &bulwark.IdentityConfig{Lookup: lookupUser},
		LoginRequired: &loginrequired.Config{},
		CSP:           &csp.Config{Enforce: csp.Strict()},
	})
	if err != nil {
		log.Fatal(err) // names the slot, the field and what to write
	}

	requestID := func(next http.Handler) http.Handler { // one of your own
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "req-1")
			next.ServeHTTP(w, r)
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", identity.FromRequest(r).ID())
	})
	handler := alice.New(requestID).Extend(chain.Alice()).Then(mux)

	serve := func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		return rec.Result()
	}
	res := serve(httptest.NewRequest("GET", "/", nil))
	fmt.Println(res.StatusCode, res.Header.Get("X-Content-Type-Options"), res.Header.Get("X-Request-Id"))
	res = serve(httptest.NewRequest("GET", "/account", nil))
	fmt.Println(res.StatusCode, res.Header.Get("Location"))
	post := httptest.NewRequest("POST", "/", nil)
	post.Header.Set("Sec-Fetch-Site", "cross-site") // a form on another site
	res = serve(post)
	fmt.Println(res.StatusCode)
	// Output:
	// 200 nosniff req-1
	// 303 /login?next=%2Faccount
	// 403
}

// A mistake in the combination is an error at start-up, not a 500 or a
// redirect loop at request time.
func ExampleConfigError() {
	_, err := bulwark.New(bulwark.Config{
		Logger:        seclog.Discard(),
		LoginRequired: &loginrequired.Config{LoginURL: "/signin"},
	})
	fmt.Println(err)
	// Output:
	// bulwark: LoginRequired slot: Config.Identity: loginrequired reads the request's user, which nothing would find: every visitor would be sent to log in, forever; set Config.Identity (&bulwark.IdentityConfig{Lookup: yourLookup})
}
