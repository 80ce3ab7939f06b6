package bulwark_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/seclog"
)

// codeVerifier is a second factor whose right answer is the form field
// code=123456.
type codeVerifier struct{}

func (codeVerifier) Method() string { return "code" }
func (codeVerifier) Begin(context.Context, string, string) (mfa.Prompt, error) {
	return mfa.Prompt{}, nil
}
func (codeVerifier) Complete(r *http.Request, _, _ string) error {
	if r.PostFormValue("code") != "123456" {
		return mfa.ErrInvalid
	}
	return nil
}
func (codeVerifier) Health(context.Context) error { return nil }

// TestSecondFactorThenPasswordChange: a user who must pass a second factor
// AND change their password goes through the challenge first, then the
// change page, then where they were going, without the two gates sending
// them back and forth.
func TestSecondFactorThenPasswordChange(t *testing.T) {
	sec := seclog.Discard()
	sm := scs.New()
	bob := identity.Basic{UserID: "bob", IsActive: true}
	store := passwordexpiry.NewMemoryStore()
	if err := store.Require(context.Background(), "bob", passwordexpiry.AdminReset, time.Now()); err != nil {
		t.Fatal(err)
	}
	chain, err := bulwark.New(bulwark.Config{
		Logger:   sec,
		Sessions: sm,
		Identity: &bulwark.IdentityConfig{
			Lookup: func(context.Context, string) (identity.User, error) { return bob, nil },
		},
		MFA:            &mfa.Config{Verifiers: []mfa.Verifier{codeVerifier{}}, ChallengeURL: "/mfa"},
		PasswordExpiry: &passwordexpiry.Config{Store: store, ChangeURL: "/password/change"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids, second, pw := chain.SessionAuth(), chain.MFA(), chain.PasswordExpiry()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := ids.Login(r, bob); err != nil {
			t.Error(err)
		}
		identity.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
		if _, err := second.Begin(w, r); err != nil {
			t.Error(err)
		}
		w.Write([]byte("challenge"))
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		next, err := second.Complete(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		identity.Redirect(w, r, next, http.StatusSeeOther)
	})
	mux.HandleFunc("GET /password/change", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("change"))
	})
	mux.HandleFunc("POST /password/change", func(w http.ResponseWriter, r *http.Request) {
		if err := pw.Changed(r, "bob"); err != nil {
			t.Error(err)
		}
		identity.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("account"))
	})
	srv := httptest.NewServer(chain.Then(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	var hops []string
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		hops = append(hops, r.URL.Path)
		if len(via) >= 6 {
			return errors.New("too many redirects: " + strings.Join(hops, " → "))
		}
		return nil
	}}
	step := func(method, path string, form url.Values, wantPath, wantBody string) {
		t.Helper()
		hops = nil
		var res *http.Response
		var err error
		if method == "POST" {
			res, err = c.PostForm(srv.URL+path, form)
		} else {
			res, err = c.Get(srv.URL + path)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.Request.URL.Path != wantPath || res.StatusCode != 200 || string(body) != wantBody {
			t.Fatalf("%s %s: ended on %s with %d %q after %v; want %s with %q", method, path,
				res.Request.URL.Path, res.StatusCode, string(body), hops, wantPath, wantBody)
		}
	}
	step("POST", "/login", nil, "/mfa", "challenge") // the second factor first
	step("GET", "/password/change", nil, "/mfa", "challenge")
	step("POST", "/mfa", url.Values{"code": {"123456"}}, "/password/change", "change") // then the change
	step("POST", "/password/change", nil, "/account", "account")                       // then the account
}
