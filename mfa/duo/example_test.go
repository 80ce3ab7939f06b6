package duo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/duo"
	"github.com/golang-jwt/jwt/v5"
)

// Fake credentials of a Duo Web SDK application, of the lengths Duo gives.
const (
	exampleClientID = "DIXXXXXXXXXXXXXXXXXX"                     // 20 characters
	exampleSecret   = "0123456789abcdef0123456789abcdef01234567" // 40 characters; from the environment in production
)

// The verifier is given to mfa.New as one of Config.Verifiers, with CallbackURL
// set to the path of RedirectURI. New checks the configuration only: it
// makes no request to Duo.
func ExampleNew() {
	v, err := duo.New(duo.Config{
		ClientID:     exampleClientID,
		ClientSecret: exampleSecret,
		APIHost:      "api-xxxxxxxx.duosecurity.com",
		RedirectURI:  "https://app.example/mfa/callback", // fixed, never built from a request
		Username: func(_ context.Context, userID string) (string, error) {
			return userID + "@corp", nil // the user's Duo name; nil uses the id
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Method())

	// A configuration mistake names the field and says what to write.
	_, err = duo.New(duo.Config{
		ClientID:     exampleClientID,
		ClientSecret: exampleSecret,
		APIHost:      "https://api-xxxxxxxx.duosecurity.com",
		RedirectURI:  "https://app.example/mfa/callback",
	})
	fmt.Println(err)
	_, err = duo.New(duo.Config{
		ClientID:     exampleClientID,
		ClientSecret: exampleSecret,
		APIHost:      "api-xxxxxxxx.duosecurity.com",
		RedirectURI:  "http://app.example/mfa/callback",
	})
	fmt.Println(err)
	// Output:
	// duo
	// duo: Config.APIHost "https://api-xxxxxxxx.duosecurity.com": give the host name alone, such as "api-XXXXXXXX.duosecurity.com"
	// duo: Config.RedirectURI "http://app.example/mfa/callback": give the absolute https URL of the gate's CallbackURL, such as "https://app.example/mfa/callback"
}

// Begin returns the Universal Prompt URL the gate redirects the user to
// (mfa.Start.Redirect). It is built and signed locally: no request to Duo.
// Its request JWT (HS512, signed with the client secret) carries the
// gate's one-time state and the user's Duo name.
func ExampleVerifier_Begin() {
	v, err := duo.New(duo.Config{
		ClientID:     exampleClientID,
		ClientSecret: exampleSecret,
		APIHost:      "api-xxxxxxxx.duosecurity.com",
		RedirectURI:  "https://app.example/mfa/callback",
		Username: func(_ context.Context, userID string) (string, error) {
			return userID + "@corp", nil
		},
	})
	if err != nil {
		panic(err)
	}
	// The gate makes the state: 32 random bytes per challenge, kept in the
	// session.
	prompt, err := v.Begin(context.Background(), "alice", "state-from-the-gate")
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(prompt.Redirect)
	q := u.Query()
	fmt.Println(u.Scheme, u.Host, u.Path)
	fmt.Println("client_id:", q.Get("client_id"), "redirect_uri:", q.Get("redirect_uri"))

	// What Duo reads from the request JWT.
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(q.Get("request"), claims,
		func(*jwt.Token) (any, error) { return []byte(exampleSecret), nil },
		jwt.WithValidMethods([]string{"HS512"}))
	fmt.Println("signature:", err)
	fmt.Println("state:", claims["state"], "duo_uname:", claims["duo_uname"])
	// Output:
	// https api-xxxxxxxx.duosecurity.com /oauth/v1/authorize
	// client_id: DIXXXXXXXXXXXXXXXXXX redirect_uri: https://app.example/mfa/callback
	// signature: <nil>
	// state: state-from-the-gate duo_uname: alice@corp
}

// On the callback the state is compared with the session's before
// anything else: a forged or missing state, or a callback without a
// duo_code, is refused without a request to Duo. A good callback's code is
// then exchanged at Duo's token endpoint (not shown: it needs Duo).
func ExampleVerifier_Complete() {
	v, err := duo.New(duo.Config{
		ClientID:     exampleClientID,
		ClientSecret: exampleSecret,
		APIHost:      "api-xxxxxxxx.duosecurity.com",
		RedirectURI:  "https://app.example/mfa/callback",
	})
	if err != nil {
		panic(err)
	}
	const state = "state-from-the-gate" // what the session holds

	forged := httptest.NewRequest("GET", "/mfa/callback?state=forged&duo_code=abc", nil)
	err = v.Complete(forged, "alice", state)
	fmt.Println("forged state:", errors.Is(err, mfa.ErrState))

	noCode := httptest.NewRequest("GET", "/mfa/callback?state="+state, nil)
	err = v.Complete(noCode, "alice", state)
	fmt.Println("no duo_code:", errors.Is(err, mfa.ErrInvalid))
	// Output:
	// forged state: true
	// no duo_code: true
}
