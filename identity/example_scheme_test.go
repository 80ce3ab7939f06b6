package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// An API accepts DRF's "Authorization: Token …" beside "Bearer …"; the
// handler reads which one authenticated the request. A refused token is a
// 401 with the first authenticator's challenge.
func ExampleSchemeFromRequest() {
	tokens := map[string]identity.User{
		"k3y": identity.Basic{UserID: "alice", IsActive: true},
	}
	lookup := func(_ context.Context, tok string) (identity.User, error) { return tokens[tok], nil }
	m, err := identity.New(identity.Config{
		Authenticators: []identity.Authenticator{
			&identity.Bearer{Keyword: "Token", Lookup: lookup},
			&identity.Bearer{Lookup: lookup},
		},
		Logger: seclog.Discard(),
	})
	if err != nil {
		panic(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s by %s", identity.FromRequest(r).ID(), identity.SchemeFromRequest(r))
	}))
	for _, auth := range []string{"Token k3y", "Bearer k3y", "Bearer stolen"} {
		r := httptest.NewRequest("GET", "/api/me", nil)
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			fmt.Printf("%-14s %d %s\n", auth, rec.Code, rec.Header().Get("WWW-Authenticate"))
			continue
		}
		fmt.Printf("%-14s %s\n", auth, rec.Body)
	}
	// Output:
	// Token k3y      alice by token
	// Bearer k3y     alice by bearer
	// Bearer stolen  401 Token realm="api"
}
