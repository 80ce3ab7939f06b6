package clearsite_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

const browserPage = `<!doctype html><html><head><meta charset="utf-8"><title>%s</title></head><body></body></html>`

// TestBrowserClearsData shows, in Chromium over HTTPS, that the header
// really clears what the site stored: a server-set HttpOnly session cookie,
// a cookie and localStorage set by the page's script. Twice: once by a
// logout handler that calls Trigger and answers a 303 redirect (the page
// navigates there), once on a listed path that the page fetch()es.
func TestBrowserClearsData(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true, Timeout: 60 * time.Second})
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()

	l, logs := newLogger(t)
	cs, err := clearsite.New(clearsite.Config{Paths: []string{"POST /forget"}, Trigger: true, Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	page := func(title string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, browserPage, title)
		}
	}
	mux.HandleFunc("GET /{$}", page("home"))
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cret", Path: "/", Secure: true, HttpOnly: true})
		identity.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil {
			io.WriteString(w, "session="+c.Value)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := clearsite.Trigger(w); err != nil {
			t.Errorf("Trigger in the logout handler: %v", err)
		}
		identity.Redirect(w, r, "/bye", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /bye", page("bye"))
	mux.HandleFunc("POST /forget", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "forgotten") })
	srv := httptest.NewTLSServer(cs.Handler(mux))
	defer srv.Close()

	// state reads back what the browser holds for the site.
	const state = `(async () => {
		const who = await (await fetch("/whoami")).text();
		return [document.cookie, String(localStorage.getItem("k")), who].join(" | ");
	})()`
	const stored = "js=1 | v | session=s3cret"
	const cleared = " | null | anonymous"

	login := func(step string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login")); err != nil {
			t.Fatalf("%s: navigate to /login: %v", step, err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie = "js=1; Secure; Path=/"; localStorage.setItem("k", "v"); document.title`)); err != nil {
			t.Fatalf("%s: store: %v", step, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](state, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: read back: %v", step, err)
		}
		if got != stored {
			t.Fatalf("%s: before clearing, the browser holds %q, want %q", step, got, stored)
		}
	}

	// 1. Logout: Trigger on a 303 redirect, followed by a navigation.
	login("logout")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/logout")); err != nil {
		t.Fatalf("navigate to /logout: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "bye" {
		t.Fatalf("after /logout: title %q, %v; want the redirect's target, \"bye\"", title, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](state, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != cleared {
		t.Errorf("after the 303 from /logout, the browser holds %q, want %q (cookies and localStorage gone)", got, cleared)
	}

	// 2. A listed path, reached by fetch() from the page.
	login("forget")
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/forget", {method: "POST"}).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || res != "forgotten" {
		t.Fatalf("fetch /forget: %q, %v", res, err)
	}
	got, err = chromedp.Run(ctx, chromedp.Evaluate[string](state, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if got != cleared {
		t.Errorf("after fetch(\"/forget\"), the browser holds %q, want %q", got, cleared)
	}

	if n := len(logs.Named("clearsite.sent")); n != 2 {
		t.Errorf("%d clearsite.sent events, want 2", n)
	}
}
