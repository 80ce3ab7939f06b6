package ajaxonly_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestBrowserDecision checks the decision against what Chromium really
// sends over HTTPS: fetch() and XMLHttpRequest pass, a navigation, an
// iframe and a <script> tag to the same URL are refused.
func TestBrowserDecision(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true, Timeout: 60 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()

	l, logs := seclogtest.New(t)
	ajax := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"><title>home</title></head><body></body></html>`)
	})
	mux.Handle("GET /api", ajax.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		io.WriteString(w, `window.loaded = "yes"; "ok"`)
	})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what, js, want string
	}{
		{"fetch()", `fetch("/api").then(r => String(r.status))`, "200"},
		{"fetch() in cors mode", `fetch("/api", {mode: "cors"}).then(r => String(r.status))`, "200"},
		{"XMLHttpRequest", `new Promise(ok => { const x = new XMLHttpRequest(); x.onload = () => ok(String(x.status)); x.open("GET", "/api"); x.send(); })`, "200"},
		{"<script src>", `new Promise(ok => { const s = document.createElement("script"); s.src = "/api"; s.onload = () => ok("loaded " + window.loaded); s.onerror = () => ok("error"); document.head.append(s); })`, "error"},
		{"<iframe>", `new Promise(ok => { const f = document.createElement("iframe"); f.src = "/api"; f.onload = () => ok(f.contentDocument.body.textContent.trim()); document.body.append(f); })`, ajaxonly.DefaultBody[:len(ajaxonly.DefaultBody)-1]},
	} {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](tc.js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.what, got, tc.want)
		}
	}
	// A navigation to the endpoint.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/api")); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}
	if body+"\n" != ajaxonly.DefaultBody {
		t.Errorf("navigation to the endpoint shows %q, want the refusal", body)
	}
	for _, e := range logs.Named("ajaxonly.refused") {
		t.Logf("refused: mode=%v dest=%v", e.Fields["sec_fetch_mode"], e.Fields["sec_fetch_dest"])
	}
	if n := len(logs.Named("ajaxonly.refused")); n != 3 {
		t.Errorf("%d refusals logged, want 3 (script, iframe, navigation)", n)
	}
}

// TestBrowserCrossOriginFetchRefused: alice is logged in to the API's
// origin (a session cookie, SameSite=Lax). A page of another origin of the
// same site (127.0.0.1, another port) and a page of another site
// (localhost) fetch the AJAX-only endpoint with credentials; the API's
// CORS layer, outside ajaxonly, lets both pages read the answer, as a
// site that shares its API with a partner would. ajaxonly refuses both:
// the handler never runs, though the same-site fetch carried her cookie.
// A fetch of the API's own page passes.
func TestBrowserCrossOriginFetchRefused(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true, Timeout: 60 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()

	l, logs := seclogtest.New(t)
	ajax := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"><title>page</title></head><body></body></html>`)
	})
	var mu sync.Mutex
	seen := map[string]string{} // the Origin of each /api/ping that reached the handler
	cookieFrom := map[string]bool{}
	api := http.NewServeMux()
	api.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "alice", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		page(w, r)
	})
	api.Handle("GET /api/ping", ajax.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Origin")] = r.Header.Get("Sec-Fetch-Site")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`)
	})))
	pages := httptest.NewTLSServer(page)
	defer pages.Close()
	port := pages.Listener.Addr().String()
	port = port[strings.LastIndexByte(port, ':')+1:]
	sameSite, crossSite := "https://127.0.0.1:"+port, "https://localhost:"+port
	// A route shared with the same-site page through AllowOrigins.
	shared := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l, AllowOrigins: []string{sameSite}}))
	api.Handle("GET /api/shared", shared.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"shared":true}`)
	})))
	// The API's CORS layer lets the two pages read its answers with
	// credentials; it sits outside ajaxonly, so the refusal is readable too.
	cors := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o == sameSite || o == crossSite {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			mu.Lock()
			_, err := r.Cookie("session")
			cookieFrom[o] = err == nil
			mu.Unlock()
		}
		w.Header().Add("Vary", "Origin")
		api.ServeHTTP(w, r)
	})
	apiSrv := httptest.NewTLSServer(cors)
	defer apiSrv.Close()
	if u, _ := url.Parse(apiSrv.URL); u.Host == strings.TrimPrefix(sameSite, "https://") {
		t.Fatal("the two servers share a port")
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(apiSrv.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	ping := `fetch(` + "`" + apiSrv.URL + "/api/ping`" + `, {credentials: "include"}).then(r => r.text().then(b => r.status + " " + b), e => "error " + e)`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](ping, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != `200 {"pong":true}` {
		t.Errorf("same-origin fetch: %q, want 200", got)
	}
	for _, origin := range []string{sameSite, crossSite} {
		if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](ping, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, "403 ") {
			t.Errorf("fetch with credentials from %s: %q, want the 403", origin, got)
		}
		want := `200 {"shared":true}` // AllowOrigins lists the same-site page
		if origin == crossSite {
			want = "403 " + ajaxonly.DefaultBody
		}
		shared := strings.Replace(ping, "/api/ping", "/api/shared", 1)
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](shared, chromedp.EvalAwaitPromise)); err != nil || got != want {
			t.Errorf("fetch of the shared route from %s: %q, %v; want %q", origin, got, err, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !cookieFrom[sameSite] {
		t.Errorf("the same-site fetch did not carry alice's cookie (%v): the test proves less than it says", cookieFrom)
	}
	for origin, site := range seen {
		if origin != "" {
			t.Errorf("the handler answered a fetch from %s (Sec-Fetch-Site %s)", origin, site)
		}
	}
	refusals := logs.Named("ajaxonly.refused")
	if len(refusals) != 3 {
		t.Errorf("%d refusals logged, want 3", len(refusals))
	}
	for _, e := range refusals {
		if f := e.Fields; f["reason"] != "cross_origin" {
			t.Errorf("refusal %v, want reason cross_origin", f)
		}
	}
}
