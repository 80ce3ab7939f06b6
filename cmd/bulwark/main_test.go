package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects the demo's stderr while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDemo runs `bulwark demo` on a free loopback port and returns its URL.
func startDemo(t *testing.T, extra ...string) (url string, stderr *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &lockedBuffer{}
	done := make(chan error, 1)
	db := filepath.Join(t.TempDir(), "demo.db")
	go func() {
		done <- run(ctx, append([]string{"demo", "-addr", "127.0.0.1:0", "-provider-addr", "127.0.0.1:0", "-db", db}, extra...), pw, stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("demo did not stop within 15s of its context's end")
		}
	})
	// The demo prints its accounts, then the line with its URL.
	br := bufio.NewReader(pr)
	var printed []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the demo's output: %v (printed %q, stderr: %s)", err, printed, stderr)
		}
		printed = append(printed, line)
		if m := regexp.MustCompile(`serving on (http://localhost:\d+/)`).FindStringSubmatch(line); m != nil {
			go io.Copy(io.Discard, pr)
			demoOutput[m[1]] = strings.Join(printed, "")
			return m[1], stderr
		}
		if len(printed) > 10 {
			t.Fatalf("the demo printed no URL: %q", printed)
		}
	}
}

// demoOutput is what each started demo printed before its URL, by URL.
var demoOutput = map[string]string{}

func TestMain(m *testing.M) {
	passwordIterations = 1000 // PBKDF2 at full cost would make every test login slow
	os.Exit(m.Run())
}

func TestDemoServes(t *testing.T) {
	url, stderr := startDemo(t)
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(strings.TrimSuffix(url, "/") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/")
	if resp.StatusCode != 200 || !strings.Contains(body, "bulwark demo") {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
	for k, v := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Content-Type":           "text/html; charset=utf-8",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET /: %s = %q, want %q", k, got, v)
		}
	}

	resp, body = get("/health")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("GET /health = %d %q", resp.StatusCode, body)
	}

	resp, _ = get("/nope")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2Fnope" {
		t.Errorf("GET /nope = %d %q, want 303 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = get("/static/app.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/app.css = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// A path that is not clean is not served as it is, and is logged.
	resp, _ = get("/static/%2e%2e/health")
	if resp.StatusCode == 200 {
		t.Errorf("GET /static/%%2e%%2e/health = 200, want a refusal or a redirect")
	}
	var sawReject, sawStartup bool
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			continue
		}
		switch m["event"] {
		case "path.rejected":
			sawReject = m["logger"] == "security" && m["path"] == "/static/%2e%2e/health"
		case "system.startup":
			sawStartup = m["command"] == "demo"
		}
	}
	if !sawReject || !sawStartup {
		t.Errorf("security events on stderr: startup %v, path.rejected %v\n%s", sawStartup, sawReject, stderr)
	}
}

func TestCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "bulwark ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, &out, &errb); err == nil {
		t.Error("unknown command: no error")
	}
	if err := run(context.Background(), nil, &out, &errb); err == nil {
		t.Error("no command: no error")
	}
	if err := run(context.Background(), []string{"demo", "-addr", "not-an-address"}, &out, &errb); err == nil {
		t.Error("demo with a bad address: no error")
	}
}
