package clearsite_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestChain runs clearsite in the suite's recommended chain
// (unrolled/secure, scs sessions, clearsite in its slot) behind a real TLS
// server: a login, a logout that destroys the session and calls Trigger on
// its 303, a listed path, and pages that get no header.
func TestChain(t *testing.T) {
	sessions := scs.New()
	sessions.Cookie.Secure = true
	l, logs := newLogger(t)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", testenv.Login(t, sessions, "alice", "/account"))
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+sessions.GetString(r.Context(), "user"))
	})
	mux.HandleFunc("POST /logout", testenv.Logout(t, sessions, "/login", clearsite.Trigger))
	mux.HandleFunc("POST /account/delete", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "gone")
	})

	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:    l,
		Secure:    bulwark.SecureOptions(),
		Sessions:  sessions,
		ClearSite: &clearsite.Config{Paths: []string{"POST /account/delete"}, Trigger: true},
	}))
	cs := chain.ClearSite()
	srv, client := testenv.TLSServer(t, chain.Then(mux))

	for _, tc := range []struct {
		method, path string
		status       int
		clear        string
		body         string
	}{
		{"POST", "/login", 303, "", ""},
		{"GET", "/account", 200, "", "hello alice"},
		{"POST", "/logout", 303, cs.Value(), ""},
		{"GET", "/account", 200, "", "hello "},
		{"POST", "/account/delete", 200, cs.Value(), "gone"},
	} {
		r, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		res, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.status || res.Header.Get(clearsite.HeaderName) != tc.clear || tc.body != "" && string(b) != tc.body {
			t.Errorf("%s %s: %d, Clear-Site-Data %q, body %q; want %d, %q, %q",
				tc.method, tc.path, res.StatusCode, res.Header.Get(clearsite.HeaderName), b, tc.status, tc.clear, tc.body)
		}
		if res.Header.Get("Strict-Transport-Security") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: unrolled/secure's headers missing: %v", tc.method, tc.path, res.Header)
		}
	}
	if n := len(logs.Named("clearsite.sent")); n != 2 {
		t.Errorf("%d clearsite.sent events, want 2", n)
	}
}
