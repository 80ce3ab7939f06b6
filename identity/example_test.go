package identity_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// A login handler follows "next" only when SafeNext accepts it, and
// otherwise sends the user to a default page.
func ExampleSafeNext() {
	hosts := []string{"bulwark.test"}
	for _, next := range []string{
		"/account?tab=security",
		"https://bulwark.test/admin/",
		"//evil.example/",
		`/\evil.example`,
		`/./\evil.example`,
		"/\t/evil.example",
		"https:evil.example",
		"javascript:alert(1)",
	} {
		target := "/account"
		if identity.SafeNext(next, hosts, true) {
			target = next
		}
		fmt.Printf("%-30q -> %s\n", next, target)
	}
	// Output:
	// "/account?tab=security"        -> /account?tab=security
	// "https://bulwark.test/admin/"  -> https://bulwark.test/admin/
	// "//evil.example/"              -> /account
	// "/\\evil.example"              -> /account
	// "/./\\evil.example"            -> /account
	// "/\t/evil.example"             -> /account
	// "https:evil.example"           -> /account
	// "javascript:alert(1)"          -> /account
}

// A login handler judges next with SafeNext and writes the target with
// Redirect, which puts it in Location exactly as judged: http.Redirect
// would clean "/./\evil.example" into "/\evil.example", which browsers
// follow to evil.example.
func ExampleRedirect() {
	login := func(w http.ResponseWriter, r *http.Request) {
		// … check the password, log the user in …
		target := "/account"
		if next := r.PostFormValue("next"); identity.SafeNext(next, []string{r.Host}, true) {
			target = next
		}
		identity.Redirect(w, r, target, http.StatusSeeOther)
	}
	for _, next := range []string{"/reports//2026?q=a b", "/./\\evil.example"} {
		r := httptest.NewRequest("POST", "https://bulwark.test/login", strings.NewReader(url.Values{"next": {next}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		login(w, r)
		fmt.Println(w.Code, w.Header().Get("Location"))
	}
	// Output:
	// 303 /reports//2026?q=a b
	// 303 /account
}

// The scs-backed identity: Login after checking the password, Logout, and
// the middleware that puts the user in every request's context.
func ExampleSessions() {
	users := map[string]identity.User{
		"alice": identity.Basic{UserID: "alice", Name: "Alice", IsActive: true},
	}
	sessions := scs.New()
	ids, err := identity.NewSessions(identity.SessionsConfig{
		Sessions: sessions,
		Lookup: func(ctx context.Context, id string) (identity.User, error) {
			return users[id], nil // nil, nil: no such user
		},
		Logger: seclog.Discard(),
	})
	if err != nil {
		panic(err)
	}
	who, err := identity.New(identity.Config{
		Authenticators: []identity.Authenticator{ids},
		Logger:         seclog.Discard(),
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// … check the password first …
		if err := ids.Login(r, users["alice"]); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		identity.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if u := identity.FromRequest(r); u != nil {
			fmt.Fprintf(w, "hello, %s", u.DisplayName())
			return
		}
		fmt.Fprint(w, "hello, stranger")
	})
	site := sessions.LoadAndSave(who.Handler(mux))

	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
	cookie := rec.Result().Cookies()[0]

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	rec = httptest.NewRecorder()
	site.ServeHTTP(rec, r)
	fmt.Println(rec.Body.String())
	// Output:
	// hello, Alice
}
