package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestRedis proves that BULWARK_REDIS_ADDR points at a working Redis.
func TestRedis(t *testing.T) {
	addr := testenv.Redis(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()

	if pong, err := rdb.Ping(ctx).Result(); err != nil || pong != "PONG" {
		t.Fatalf("PING %s: %q, %v", addr, pong, err)
	}

	key := fmt.Sprintf("bulwark:testenv:%s:%d", t.Name(), time.Now().UnixNano())
	if err := rdb.Set(ctx, key, "hello", 5*time.Second).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got != "hello" {
		t.Fatalf("GET %s = %q, %v; want %q", key, got, err, "hello")
	}
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= 0 || ttl > 5*time.Second {
		t.Fatalf("TTL %s = %v, %v; want in (0, 5s]", key, ttl, err)
	}
	if _, err := rdb.Get(ctx, key+":missing").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key: %v, want redis.Nil", err)
	}
}

const testPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>bulwark testenv</title></head>
<body>
<p id="out">not run</p>
<script>document.getElementById("out").textContent = "set by script: " + (6 * 7);</script>
</body></html>`

func pageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, testPage)
	})
}

// checkPage loads url in the browser of ctx and checks the title and the
// text that the page's inline script wrote.
func checkPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	title, err := chromedp.Run(actx, chromedp.Title())
	if err != nil {
		t.Fatalf("title: %v", err)
	}
	if title != "bulwark testenv" {
		t.Errorf("title = %q, want %q", title, "bulwark testenv")
	}
	text, err := chromedp.Run(actx, chromedp.Text(chromedp.ID("out")))
	if err != nil {
		t.Fatalf("text of #out: %v", err)
	}
	if text != "set by script: 42" {
		t.Errorf("text of #out = %q, want %q (did the inline script run?)", text, "set by script: 42")
	}
	n, err := chromedp.Run(actx, chromedp.Evaluate[int](`document.querySelectorAll("p").length`))
	if err != nil || n != 1 {
		t.Errorf("Evaluate: %d paragraphs, %v; want 1", n, err)
	}
}

// TestBrowser proves that BULWARK_CHROMIUM starts through chromedp and runs
// a page's script.
func TestBrowser(t *testing.T) {
	ctx := testenv.Browser(t)
	srv := httptest.NewServer(pageHandler())
	defer srv.Close()
	checkPage(t, ctx, srv.URL)
}

// TestBrowserTLS proves BrowserOptions.IgnoreCertErrors: a self-signed
// httptest TLS server loads with it, and is refused without it.
func TestBrowserTLS(t *testing.T) {
	srv := httptest.NewTLSServer(pageHandler())
	defer srv.Close()

	t.Run("IgnoreCertErrors", func(t *testing.T) {
		ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true})
		checkPage(t, ctx, srv.URL)
	})
	t.Run("Default", func(t *testing.T) {
		ctx := testenv.Browser(t)
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := chromedp.Do(actx, chromedp.Navigate(srv.URL))
		var le *chromedp.LoadError
		if !errors.As(err, &le) {
			t.Fatalf("navigate to a self-signed server without IgnoreCertErrors: %v; want a certificate LoadError", err)
		}
		t.Logf("refused as expected: %v", err)
	})
}
