package bulwark_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
)

// TestHeaderMiddlewaresInChain runs the four header packages together in
// the recommended chain (unrolled/secure, scs sessions, referrer, nocache,
// clearsite in their slots; ajaxonly on one route) behind a real TLS
// server, through a visit: a public asset, a login, a confidential page, a
// script's fetch and a navigation to the same API, a logout. Each response
// carries what every package promises, and the refusals and the clearing
// are security events in the one logger.
func TestHeaderMiddlewaresInChain(t *testing.T) {
	log, events := seclogtest.New(t)
	sessions := scs.New()
	sessions.Cookie.Secure = true
	loggedIn := func(r *http.Request) bool { return sessions.GetString(r.Context(), "user") != "" }

	ajax, err := ajaxonly.New(ajaxonly.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"css1"`)
		io.WriteString(w, "body{}")
	})
	mux.HandleFunc("POST /login", testenv.Login(t, sessions, "alice", "/account"))
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"acct7"`)
		w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 10:00:00 GMT")
		io.WriteString(w, "balance: 42")
	})
	mux.Handle("GET /api/items", ajax.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `["a","b"]`)
	})))
	mux.HandleFunc("POST /logout", testenv.Logout(t, sessions, "/", clearsite.Trigger))

	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:   log,
		Secure:   bulwark.SecureOptions(),
		Sessions: sessions,
		Referrer: &referrer.Config{},
		NoCache: &nocache.Config{
			Exempt:        []string{"GET /static/"},
			Authenticated: loggedIn,
			Legacy:        true,
		},
		ClearSite: &clearsite.Config{Trigger: true},
	}))
	srv, client := testenv.TLSServer(t, chain.Then(mux))

	do := func(method, path string, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		// Every response of the chain, whatever it is.
		if got := res.Header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s %s: Referrer-Policy %q, want same-origin", method, path, got)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q: unrolled/secure not in the chain", method, path, got)
		}
		return res
	}
	marked := func(res *http.Response, want bool) {
		t.Helper()
		got := res.Header.Get("Cache-Control") == nocache.CacheControl
		if got != want {
			t.Errorf("%s: Cache-Control %q, marked %v, want %v", res.Request.URL.Path, res.Header.Get("Cache-Control"), got, want)
		}
		if want && (res.Header.Get("ETag") != "" || res.Header.Get("Last-Modified") != "" || res.Header.Get("Pragma") != "no-cache") {
			t.Errorf("%s: marked but ETag %q, Last-Modified %q, Pragma %q", res.Request.URL.Path,
				res.Header.Get("ETag"), res.Header.Get("Last-Modified"), res.Header.Get("Pragma"))
		}
	}
	fetch := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
	navigate := map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}

	// Anonymous: the asset is exempt and keeps its validator.
	res := do("GET", "/static/app.css", nil)
	marked(res, false)
	if res.Header.Get("ETag") != `"css1"` {
		t.Errorf("exempt asset lost its ETag: %q", res.Header.Get("ETag"))
	}

	if res := do("POST", "/login", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	// Logged in: the confidential page and, for a logged-in user, the
	// exempt asset too are kept out of caches.
	marked(do("GET", "/account", nil), true)
	marked(do("GET", "/static/app.css", nil), true)

	// The API answers a script's fetch, and refuses a navigation.
	res = do("GET", "/api/items", fetch)
	// scs's "Vary: Cookie" and ajaxonly's request headers, both.
	if vary := strings.Join(res.Header.Values("Vary"), ", "); res.StatusCode != http.StatusOK ||
		!strings.Contains(vary, "Sec-Fetch-Mode") || !strings.Contains(vary, "Cookie") {
		t.Errorf("fetch: %d, Vary %q", res.StatusCode, vary)
	}
	marked(res, true)
	res = do("GET", "/api/items", navigate)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("navigation to the API: %d, want 403", res.StatusCode)
	}
	marked(res, true)
	if n := len(events.Named(seclog.AjaxOnlyRefused.Name)); n != 1 {
		t.Errorf("%d %s events, want 1", n, seclog.AjaxOnlyRefused.Name)
	}

	// Logout: the 303 clears the site's data, and the session is gone.
	res = do("POST", "/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Clear-Site-Data") != `"cookies", "storage"` {
		t.Errorf("logout: %d, Clear-Site-Data %q", res.StatusCode, res.Header.Get("Clear-Site-Data"))
	}
	sent := events.Named(seclog.ClearSiteSent.Name)
	if len(sent) != 1 || sent[0].Field("path") != "/logout" {
		t.Errorf("%s events: %v, want one for /logout", seclog.ClearSiteSent.Name, sent)
	}
	// Anonymous again: the asset is cacheable again; other pages never.
	marked(do("GET", "/static/app.css", nil), false)
	marked(do("GET", "/account", nil), true)
	if res := do("GET", "/", nil); res.Header.Get("Clear-Site-Data") != "" {
		t.Errorf("Clear-Site-Data on a page that did not ask: %q", res.Header.Get("Clear-Site-Data"))
	}
}
