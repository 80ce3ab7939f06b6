package totp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	ptotp "github.com/pquerna/otp/totp"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/seclog"
)

// post is the challenge form as the browser sends it: the code in the
// POSTed field "code" (Config.Field), never in the URL.
func post(code string) *http.Request {
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(url.Values{"code": {code}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// The life of a second factor: alice enrols, confirms with a first code
// from her app, passes a challenge, and the same code cannot pass twice
// (RFC 6238 §5.2). The clock is fixed so that the codes are known; the
// app's codes are computed here with github.com/pquerna/otp/totp.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	v, err := totp.New(totp.Config{
		Store:  totp.NewMemoryStore(), // mfa/totp/sqlstore in production
		Issuer: "Example Corp",
		Logger: seclog.Discard(), // the application's one security logger
		Now:    func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	app := func(secret string) string { // what the authenticator app shows now
		code, _ := ptotp.GenerateCode(secret, now)
		return code
	}

	// Enrolment: show key.URI() as a QR code (key.PNG) and key.Secret()
	// for manual entry. The secret does not count until a code confirms it.
	key, err := v.Enroll(ctx, "alice", "alice@example.com")
	if err != nil {
		panic(err)
	}
	enrolled, _ := v.Enrolled(ctx, "alice")
	fmt.Println("enrolled before Confirm:", enrolled)
	fmt.Println("confirm:", v.Confirm(nil, "alice", app(key.Secret())))
	enrolled, _ = v.Enrolled(ctx, "alice")
	fmt.Println("enrolled after Confirm:", enrolled)

	// The challenge, 30 seconds later (the confirming code's time step is
	// spent). The mfa gate calls Begin and Complete; called here directly.
	now = now.Add(30 * time.Second)
	_, err = v.Begin(ctx, "alice", "") // ErrNotEnrolled for a user without a confirmed secret
	fmt.Println("begin:", err)
	code := app(key.Secret())
	fmt.Println("complete:", v.Complete(post(code), "alice", ""))
	err = v.Complete(post(code), "alice", "")
	fmt.Println("same code again:", errors.Is(err, mfa.ErrReplay))
	err = v.Complete(post("000000"), "alice", "")
	fmt.Println("wrong code:", errors.Is(err, mfa.ErrInvalid))
	// Output:
	// enrolled before Confirm: false
	// confirm: <nil>
	// enrolled after Confirm: true
	// begin: <nil>
	// complete: <nil>
	// same code again: true
	// wrong code: true
}

// Enroll returns the key to show once: the otpauth:// URI that
// authenticator apps read, as a QR code PNG, and the secret for manual
// entry. Only the secret changes from one call to the next.
func ExampleVerifier_Enroll() {
	v, err := totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "Example Corp", Logger: seclog.Discard()})
	if err != nil {
		panic(err)
	}
	key, err := v.Enroll(context.Background(), "alice", "alice@example.com")
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(key.URI())
	q := u.Query()
	fmt.Println(u.Scheme, u.Host, u.Path)
	fmt.Println("issuer:", q.Get("issuer"), "digits:", q.Get("digits"), "period:", q.Get("period"), "algorithm:", q.Get("algorithm"))
	fmt.Println("secret in the URI:", q.Get("secret") == key.Secret(), "length:", len(key.Secret()))

	png, err := key.PNG(256) // serve it with Content-Type: image/png and Cache-Control: no-store
	if err != nil {
		panic(err)
	}
	fmt.Println("PNG:", bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")))
	// Output:
	// otpauth totp /Example Corp:alice@example.com
	// issuer: Example Corp digits: 6 period: 30 algorithm: SHA1
	// secret in the URI: true length: 32
	// PNG: true
}

// Recovery codes are shown once; each works once, typed in the code field
// of the challenge.
func ExampleVerifier_NewRecoveryCodes() {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	v, err := totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "Example Corp",
		Logger: seclog.Discard(), Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	key, _ := v.Enroll(ctx, "alice", "alice@example.com")
	first, _ := ptotp.GenerateCode(key.Secret(), now)
	if err := v.Confirm(nil, "alice", first); err != nil {
		panic(err)
	}

	codes, err := v.NewRecoveryCodes(nil, "alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(len(codes), "codes of the form XXXX-XXXX-XXXX-XXXX:", len(codes[0]) == 19 && strings.Count(codes[0], "-") == 3)

	fmt.Println("first use:", v.Complete(post(strings.ToLower(codes[0])), "alice", ""))
	err = v.Complete(post(codes[0]), "alice", "")
	fmt.Println("second use:", errors.Is(err, mfa.ErrInvalid))
	// Output:
	// 10 codes of the form XXXX-XXXX-XXXX-XXXX: true
	// first use: <nil>
	// second use: true
}

// A configuration mistake is an error that names the field and says what
// to write instead.
func ExampleNew() {
	_, err := totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "Example: Corp"})
	fmt.Println(err)
	_, err = totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "Example Corp", Digits: 7})
	fmt.Println(err)
	// Output:
	// totp: Config.Issuer "Example: Corp": write the site's name as authenticator apps should show it, without ':'
	// totp: Config.Digits 7: write 6 (the default) or 8
}
