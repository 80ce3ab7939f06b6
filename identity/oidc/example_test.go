package oidc_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
)

// An application serves Start and Callback behind its session manager's
// LoadAndSave, and maps the provider's claims to its own users. A
// mistake in the configuration is an error at New that names the field.
func Example() {
	sm := scs.New()
	sessions, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sm,
		Lookup: func(ctx context.Context, id string) (identity.User, error) {
			return nil, nil /* the application's store */
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	login, err := oidc.New(ctx, oidc.Config{
		Issuer:       "https://tenant.eu.auth0.com/",
		ClientID:     "app",
		ClientSecret: "secret",
		RedirectURL:  "/login/oidc/callback", // must be absolute
		Identity:     sessions,
		StartURL:     "/login/oidc",
		Claims: func(ctx context.Context, c *oidc.Claims) (identity.User, error) {
			// Find or create the account of (c.Issuer, c.Subject).
			return identity.Basic{UserID: c.Issuer + "|" + c.Subject, Name: c.Name, IsActive: true, IsStaff: c.Has("staff")}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oidc", login.Start)
	mux.HandleFunc("GET /login/oidc/callback", login.Callback)
	http.ListenAndServe("127.0.0.1:8080", sm.LoadAndSave(mux))
	// Output:
	// oidc: Config.RedirectURL "/login/oidc/callback" is not an absolute URL: write the full URL of the Callback handler, such as "https://app.example/login/oidc/callback"
}
