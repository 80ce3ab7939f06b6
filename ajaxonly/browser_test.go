package ajaxonly_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestBrowserDecision checks the decision against what Chromium really
// sends over HTTPS: fetch() and XMLHttpRequest pass, a navigation, an
// iframe and a <script> tag to the same URL are refused.
func TestBrowserDecision(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true, Timeout: 60 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()

	l, logs := newLogger(t)
	ajax := ajaxonly.MustNew(ajaxonly.Config{Logger: l})
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
	for _, e := range logs.FilterMessage("ajaxonly.refused").All() {
		t.Logf("refused: mode=%v dest=%v", e.ContextMap()["sec_fetch_mode"], e.ContextMap()["sec_fetch_dest"])
	}
	if n := len(logs.FilterMessage("ajaxonly.refused").All()); n != 3 {
		t.Errorf("%d refusals logged, want 3 (script, iframe, navigation)", n)
	}
}
