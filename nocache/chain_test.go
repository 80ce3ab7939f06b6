package nocache_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
)

// TestChain runs nocache and referrer in the suite's recommended chain
// (unrolled/secure, scs sessions, then the header middlewares) behind a
// real server, with a login in the middle: anonymous and authenticated
// requests, exempt and confidential paths, a per-route referrer policy.
func TestChain(t *testing.T) {
	sessions := scs.New()
	loggedIn := func(r *http.Request) bool { return sessions.GetString(r.Context(), "user") != "" }
	strict := testenv.Must(referrer.New(referrer.Config{Policy: referrer.NoReferrer}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"css1"`)
		io.WriteString(w, "body{}")
	})
	mux.HandleFunc("POST /login", testenv.Login(t, sessions, "alice", "/account"))
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "balance: 42")
	})
	mux.Handle("GET /reset/{token}", strict.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "choose a new password")
	})))

	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:   seclog.Discard(),
		Secure:   bulwark.SecureOptions(),
		Sessions: sessions,
		Referrer: &referrer.Config{},
		NoCache: &nocache.Config{
			Exempt:        []string{"/static/", "/reset/"},
			Authenticated: loggedIn,
		},
	}))
	srv := httptest.NewServer(chain.Then(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := srv.Client()
	client.Jar = jar

	get := func(method, path string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for _, tc := range []struct {
		step, method, path string
		status             int
		cacheControl       string
		etag               string
		referrer           string
	}{
		{"anonymous, exempt path", "GET", "/static/app.css", 200, "", `"css1"`, "same-origin"},
		{"anonymous, other path", "GET", "/account", 200, nocache.CacheControl, "", "same-origin"},
		{"anonymous, per-route referrer", "GET", "/reset/abc", 200, "", "", "no-referrer"},
		{"login, redirected to /account", "POST", "/login", 200, nocache.CacheControl, "", "same-origin"},
		{"logged in, exempt path is marked", "GET", "/static/app.css", 200, nocache.CacheControl, "", "same-origin"},
		{"logged in, per-route referrer, marked", "GET", "/reset/abc", 200, nocache.CacheControl, "", "no-referrer"},
	} {
		res := get(tc.method, tc.path)
		h := res.Header
		if res.StatusCode != tc.status || h.Get("Cache-Control") != tc.cacheControl || h.Get("Etag") != tc.etag ||
			h.Get("Referrer-Policy") != tc.referrer {
			t.Errorf("%s: %d Cache-Control=%q ETag=%q Referrer-Policy=%q; want %d %q %q %q", tc.step,
				res.StatusCode, h.Get("Cache-Control"), h.Get("Etag"), h.Get("Referrer-Policy"),
				tc.status, tc.cacheControl, tc.etag, tc.referrer)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: unrolled/secure headers missing: %v", tc.step, h)
		}
	}
}

// TestChainWithNonce: csp comes before nocache in the chain and sets
// Cache-Control: no-store on a response with a nonce; nocache keeps that
// value and still removes the validators and adds the legacy headers.
func TestChainWithNonce(t *testing.T) {
	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:  seclog.Discard(),
		CSP:     &csp.Config{Enforce: csp.Strict()},
		NoCache: &nocache.Config{Legacy: true},
	}))
	h := chain.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", "Mon, 23 Nov 2026 10:00:00 GMT")
			io.WriteString(w, "<script nonce="+csp.Nonce(r.Context())+">1</script>")
		}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/account", nil))
	got := rec.Result().Header
	if got.Get("Content-Security-Policy") == "" || got.Get("Cache-Control") != "no-store" ||
		got.Get("Etag") != "" || got.Get("Last-Modified") != "" || got.Get("Pragma") != "no-cache" || got.Get("Expires") != "0" {
		t.Errorf("headers = %v; want csp's no-store kept, no validators, Pragma and Expires", got)
	}
}
