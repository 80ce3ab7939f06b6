package testenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserFlags are the command-line flags that [Browser] starts Chromium
// with, besides a fresh --user-data-dir. They make a quiet headless browser
// that runs as root and opens no connection of its own to the network (the
// CI machines have none, and Chromium would keep trying).
var BrowserFlags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"no-first-run",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"disable-quic",
}

// DefaultBrowserTimeout bounds the whole life of a browser from [Browser]:
// when it passes, Chromium is stopped and every action on the context fails.
const DefaultBrowserTimeout = 2 * time.Minute

// BrowserOptions changes how [BrowserWith] starts Chromium. The zero value
// is what [Browser] uses.
type BrowserOptions struct {
	// IgnoreCertErrors adds --ignore-certificate-errors, so that pages
	// served by httptest.NewTLSServer (or any self-signed certificate)
	// load. Use it for tests of HTTPS-only behaviour, such as Secure
	// cookies, HSTS or Clear-Site-Data, which browsers honour only on
	// secure origins. (http://127.0.0.1 is already a secure context, so
	// most tests need no TLS at all.)
	IgnoreCertErrors bool

	// Timeout bounds the life of the browser; zero means
	// [DefaultBrowserTimeout], shortened to the test's own deadline (less a
	// margin for the cleanup) when that comes sooner.
	Timeout time.Duration

	// Flags adds or overrides command-line flags: a string value passes
	// --name=value, true passes --name, false removes a flag.
	Flags map[string]any
}

// Browser starts a headless Chromium (from [Chromium], so the test skips or
// fails as that says when BULWARK_CHROMIUM is unset) and returns a chromedp
// context with one tab open in it. Use it with chromedp's generic API:
//
//	ctx := testenv.Browser(t)
//	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
//		t.Fatal(err)
//	}
//	title, err := chromedp.Run(ctx, chromedp.Title())
//
// The browser runs with [BrowserFlags] and a fresh --user-data-dir under
// t.TempDir(), and it lives until the test ends (or its timeout, see
// [BrowserOptions]): t.Cleanup closes it, kills any process of it that is
// left, and logs what Chromium printed if the test failed. To bound one
// action, derive a context from the returned one with context.WithTimeout;
// do not cancel the returned context yourself. For a second tab in the same
// browser, call chromedp.NewContext(ctx).
func Browser(t testing.TB) context.Context {
	t.Helper()
	return BrowserWith(t, BrowserOptions{})
}

// BrowserWith is [Browser] with options, for example
// BrowserOptions{IgnoreCertErrors: true} for a TLS test server.
func BrowserWith(t testing.TB, o BrowserOptions) context.Context {
	t.Helper()
	exe := Chromium(t)
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("%s=%s: %v", EnvChromium, exe, err)
	}

	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultBrowserTimeout
		if d, ok := deadline(t); ok {
			if left := time.Until(d) - 15*time.Second; left > 0 && left < timeout {
				timeout = left
			}
		}
	}

	dataDir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe)}
	for _, f := range BrowserFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	if o.IgnoreCertErrors {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	for name, v := range o.Flags {
		opts = append(opts, chromedp.Flag(name, v))
	}
	out := new(lockedBuffer)
	opts = append(opts, chromedp.UserDataDir(dataDir), chromedp.CombinedOutput(out))

	lifeCtx, lifeCancel := context.WithTimeout(context.Background(), timeout)
	allocCtx, allocCancel := chromedp.NewExecAllocator(lifeCtx, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)

	// Runs before t.TempDir's own cleanup (cleanups run last in, first out),
	// so the user data directory is free when it is removed.
	t.Cleanup(func() {
		// Close the browser gracefully, then make sure: cancel the
		// contexts (the allocator kills Chromium and waits for it) and kill
		// any child process that still uses the user data directory.
		start := time.Now()
		cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Cancel(cctx)
		ccancel()
		cancel()
		allocCancel()
		lifeCancel()
		if d := time.Since(start); d > 5*time.Second {
			t.Logf("testenv: closing Chromium took %v", d.Round(time.Millisecond))
		}
		if n := killBrowserLeftovers(dataDir); n > 0 {
			t.Logf("testenv: killed %d leftover Chromium process(es)", n)
		}
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("testenv: closing Chromium: %v", err)
		}
		if t.Failed() && out.Len() > 0 {
			t.Logf("testenv: Chromium's output:\n%s", out.String())
		}
	})

	// Start the browser and open the tab now, so that a browser that cannot
	// start fails here with its own output, and not in the first action.
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("testenv: starting Chromium (%s): %v\n%s", exe, err, out.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Logf("testenv: starting Chromium took %v (a busy machine?)", d.Round(time.Millisecond))
	}
	return ctx
}

// deadline is t.Deadline for a *testing.T (testing.TB has no Deadline).
func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// lockedBuffer is a bytes.Buffer for Chromium's output, written by
// chromedp's goroutines and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
