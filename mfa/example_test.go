package mfa_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/seclog"
)

// Carol has TOTP; after her password she is sent to the challenge until
// she types a code, then back to the page she asked for. The challenge
// page calls Begin on GET and Complete on POST.
func Example() {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sec := seclog.Discard()
	sm := scs.New()
	carol := identity.Basic{UserID: "carol", IsActive: true}
	ids, _ := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Logger: sec,
		Lookup: func(context.Context, string) (identity.User, error) { return carol, nil }})
	who, _ := identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: sec})

	store := totp.NewMemoryStore()
	v, err := totp.New(totp.Config{Store: store, Issuer: "Example", Now: clock, Logger: sec})
	if err != nil {
		panic(err)
	}
	// Enrolment: v.Enroll makes a random secret (key.URI(), key.PNG(256)
	// for the app); the example fixes one to print stable codes.
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	_ = store.Enroll(context.Background(), "carol", secret, now)
	first, _ := ptotp.GenerateCode(secret, now.Add(-30*time.Second))
	now = now.Add(-30 * time.Second)
	_ = v.Confirm(nil, "carol", first)
	now = now.Add(30 * time.Second)

	gate, err := mfa.New(mfa.Config{
		Sessions:     sm,
		Verifiers:    []mfa.Verifier{v},
		Required:     v.Required, // only enrolled users; nil asks everyone
		ChallengeURL: "/mfa",     // exempt automatically, as /login and /logout
		Exempt:       []string{"/static/"},
		Logger:       sec,
		Now:          clock,
	})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		_ = ids.Login(r, carol) // after checking the password
	})
	mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
		start, err := gate.Begin(w, r)
		switch {
		case errors.Is(err, mfa.ErrUnavailable):
			gate.WriteUnavailable(w, r)
		case err != nil:
			http.Error(w, "no second factor", http.StatusForbidden)
		case start.Bypassed:
			identity.Redirect(w, r, start.Next, http.StatusSeeOther)
		case start.Redirect != "":
			identity.Redirect(w, r, start.Redirect, http.StatusSeeOther)
		default:
			fmt.Fprint(w, `<form method="post"><input name="code" autocomplete="one-time-code"></form>`)
		}
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		next, err := gate.Complete(w, r)
		switch {
		case errors.Is(err, mfa.ErrUnavailable):
			gate.WriteUnavailable(w, r)
		case err != nil:
			http.Error(w, "wrong code", http.StatusForbidden)
		default:
			// Exactly the path judged: http.Redirect would clean it.
			identity.Redirect(w, r, next, http.StatusSeeOther)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "page") })
	h := sm.LoadAndSave(who.Handler(gate.Handler(mux))) // in the bulwark chain: the MFA slot

	var cookie *http.Cookie
	send := func(method, target, code string) {
		var body *strings.Reader
		if code != "" {
			body = strings.NewReader(url.Values{"code": {code}}.Encode())
		} else {
			body = strings.NewReader("")
		}
		r := httptest.NewRequest(method, target, body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", target, " ", code, " → ", w.Code, " ", w.Header().Get("Location"))))
	}
	code, _ := ptotp.GenerateCode(secret, now)
	send("POST", "/login", "")
	send("GET", "/account", "")
	send("GET", "/static/app.css", "")
	send("GET", "/mfa", "")
	send("POST", "/mfa", "000000")
	send("POST", "/mfa", code)
	send("GET", "/account", "")
	// Output:
	// POST /login  → 200
	// GET /account  → 303 /mfa
	// GET /static/app.css  → 200
	// GET /mfa  → 200
	// POST /mfa 000000 → 403
	// POST /mfa 330232 → 303 /account
	// GET /account  → 200
}

// AnyEnrolled asks for the second factor only from users who have one of
// the gate's factors; here carol has confirmed TOTP and alice has nothing.
// (A passkey verifier would be listed beside it, in Config.Verifiers too.)
func ExampleAnyEnrolled() {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	store := totp.NewMemoryStore()
	v, err := totp.New(totp.Config{Store: store, Issuer: "Example", Now: func() time.Time { return now }, Logger: seclog.Discard()})
	if err != nil {
		panic(err)
	}
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	_ = store.Enroll(context.Background(), "carol", secret, now)
	code, _ := ptotp.GenerateCode(secret, now)
	_ = v.Confirm(nil, "carol", code)

	required := mfa.AnyEnrolled(v) // Config.Required
	for _, id := range []string{"carol", "alice"} {
		need, err := required(context.Background(), identity.Basic{UserID: id})
		fmt.Println(id, need, err)
	}
	// Output:
	// carol true <nil>
	// alice false <nil>
}
