package bulwark_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
)

// countingStore is scs's memory store that counts the reads: a refused
// cross-origin request must not reach it.
type countingStore struct {
	scs.Store
	finds atomic.Int64
}

func (s *countingStore) Find(token string) ([]byte, bool, error) {
	s.finds.Add(1)
	return s.Store.Find(token)
}

// TestCrossOrigin: the CrossOrigin slot refuses unsafe cross-origin
// browser requests with the chain's Responder (403, code cross_origin) and
// one csrf.refused event, after Secure's headers and before the session
// is read; safe methods, same-origin requests, non-browser clients and the
// trusted origins pass.
func TestCrossOrigin(t *testing.T) {
	sec, events := seclogtest.New(t)
	sm := scs.New()
	store := &countingStore{Store: sm.Store}
	sm.Store = store
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin("https://partner.example"); err != nil {
		t.Fatal(err)
	}
	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:      sec,
		Secure:      bulwark.SecureOptions(),
		CrossOrigin: cop,
		Sessions:    sm,
	}))
	if chain.CrossOrigin() != cop {
		t.Error("CrossOrigin() is not the configured protection")
	}
	var served int
	h := chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		sm.Put(r.Context(), "seen", true)
	}))
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		status  int
		reason  string // of the csrf.refused event; "" for none
	}{
		{"cross-site form post", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403, "sec_fetch_site"},
		{"same-site, other origin", "DELETE", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.example.com"}, 403, "sec_fetch_site"},
		{"old browser, foreign Origin", "PUT", map[string]string{"Origin": "https://evil.example"}, 403, "origin"},
		{"same-origin form post", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://example.com"}, 200, ""},
		{"typed URL", "POST", map[string]string{"Sec-Fetch-Site": "none"}, 200, ""},
		{"old browser, own Origin", "POST", map[string]string{"Origin": "https://example.com"}, 200, ""},
		{"not a browser (curl, a server)", "POST", nil, 200, ""},
		{"cross-site GET is safe", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 200, ""},
		{"trusted origin", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			served = 0
			finds := store.finds.Load()
			r := httptest.NewRequest(tc.method, "https://example.com/account", nil)
			r.AddCookie(&http.Cookie{Name: sm.Cookie.Name, Value: "a-session-token-of-the-victim-00000000000"})
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Strict-Transport-Security") == "" {
				t.Errorf("Secure's headers missing: %v", rec.Header())
			}
			evs := events.Take()
			if tc.reason == "" {
				if served != 1 || len(evs) != 0 {
					t.Errorf("served %d times, events %v; want served once, no event", served, evs)
				}
				return
			}
			if served != 0 || store.finds.Load() != finds || rec.Header().Get("Set-Cookie") != "" {
				t.Errorf("refused, yet served %d times, session store read %d times, Set-Cookie %q",
					served, store.finds.Load()-finds, rec.Header().Get("Set-Cookie"))
			}
			if body := rec.Body.String(); !strings.Contains(body, `"error":"cross_origin"`) || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("body %q (%s), want the Responder's cross_origin refusal", body, rec.Header().Get("Content-Type"))
			}
			if len(evs) != 1 || evs[0].Name != seclog.CSRFRefused.Name || evs[0].Fields["reason"] != tc.reason ||
				evs[0].Fields["origin"] != tc.headers["Origin"] || evs[0].Fields["host"] != "example.com" {
				t.Errorf("events %+v; want one %s with reason %s", evs, seclog.CSRFRefused.Name, tc.reason)
			}
		})
	}
}

// TestBrowserCrossOrigin: in Chromium, a form on another site that posts
// to the chain is refused with 403 before the handler runs, though the
// browser sent the user's session cookie; the same form on the site's own
// page passes.
func TestBrowserCrossOrigin(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true, Timeout: 60 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()

	sec, events := seclogtest.New(t)
	sm := scs.New()
	sm.Cookie.Secure = true
	sm.Cookie.SameSite = http.SameSiteNoneMode // the worst case: the cookie goes along cross-site
	chain := testenv.Must(bulwark.New(bulwark.Config{
		Logger:      sec,
		Secure:      bulwark.SecureOptions(),
		CrossOrigin: http.NewCrossOriginProtection(),
		Sessions:    sm,
	}))
	var transfers atomic.Int64
	form := func(action string) string {
		return `<!doctype html><html><head><meta charset="utf-8"><title>form</title></head><body>` +
			`<form method="post" action="` + action + `"><input name="amount" value="100"></form></body></html>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "user", "alice")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, form("/transfer"))
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		transfers.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "sent 100 for "+sm.GetString(r.Context(), "user"))
	})
	var mu sync.Mutex
	var cookies []bool // whether each POST carried the session cookie
	inner := chain.Then(mux)
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			_, err := r.Cookie(sm.Cookie.Name)
			mu.Lock()
			cookies = append(cookies, err == nil)
			mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	}))
	defer app.Close()
	var evil *httptest.Server
	evil = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, form(app.URL+"/transfer"))
	}))
	defer evil.Close()
	// Another site, not only another port: localhost against 127.0.0.1.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)

	submit := func(page string) string {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(page),
			chromedp.WaitReady(chromedp.CSS("form")),
			chromedp.Submit(chromedp.CSS("form")),
			chromedp.WaitReady(chromedp.CSS(`body:not(:has(form))`)),
		)
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.trim()`))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		return body
	}
	if got := submit(app.URL + "/login"); got != "sent 100 for alice" {
		t.Errorf("same-origin form: %q, want it served", got)
	}
	if got := submit(evilURL + "/"); !strings.Contains(got, "cross_origin") {
		t.Errorf("cross-site form: %q, want the 403 refusal", got)
	}
	if n := transfers.Load(); n != 1 {
		t.Errorf("%d transfers, want 1: the cross-site form reached the handler", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cookies) != 2 || !cookies[0] || !cookies[1] {
		t.Errorf("session cookie on the two posts: %v; want both: the test proves less than it says", cookies)
	}
	evs := events.Take()
	if len(evs) != 1 || evs[0].Name != seclog.CSRFRefused.Name || evs[0].Fields["sec_fetch_site"] != "cross-site" {
		t.Errorf("events %+v; want one %s with Sec-Fetch-Site cross-site", evs, seclog.CSRFRefused.Name)
	}
}
