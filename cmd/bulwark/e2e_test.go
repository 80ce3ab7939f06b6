package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The end-to-end test builds the bulwark command, runs `bulwark demo` as a
// separate process on a free loopback port, and drives a real Chromium
// through it (issue #9). Its screenshots go to $BULWARK_ARTIFACTS/screenshots
// (default: the repository's artifacts/ folder), which CI keeps.

const (
	// e2eIdle is the demo's idle timeout in this test: short enough to wait
	// for, long enough that no other scenario hits it between two requests.
	e2eIdle = 10 * time.Second
	// e2eStep bounds each browser step (a navigation and what it waits for).
	e2eStep = 20 * time.Second
	// envArtifacts names the folder of the test's artifacts.
	envArtifacts = "BULWARK_ARTIFACTS"
)

// demoProcess is `bulwark demo` running as a child process.
type demoProcess struct {
	url            string // http://localhost:port, without the final slash
	stdout, stderr *lockedBuffer
}

// tail returns the last n lines the demo wrote to stderr (its security
// events), for failure messages.
func (d *demoProcess) tail(n int) string {
	lines := strings.Split(strings.TrimRight(d.stderr.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// moduleRoot returns the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: %q, %v", gomod, err)
	}
	return filepath.Dir(gomod)
}

// buildBulwark builds the command into a temporary directory and returns
// the binary's path.
func buildBulwark(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bulwark")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bulwark")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bulwark: %v\n%s", err, out)
	}
	return bin
}

var servingRE = regexp.MustCompile(`serving on (http://localhost:\d+)/`)

// startDemoProcess starts `bin demo` on a port of the kernel's choice and
// waits for the line that gives its URL. The demo is interrupted (and
// killed if it does not stop) when the test ends; if the test failed, the
// end of its stderr is logged.
func startDemoProcess(t *testing.T, bin string, extra ...string) *demoProcess {
	t.Helper()
	d := &demoProcess{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	args := append([]string{"demo", "-addr", "127.0.0.1:0", "-provider-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "demo.db")}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the demo's stderr, last lines:\n%s", d.tail(30))
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the demo did not exit cleanly on SIGINT: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Error("the demo did not stop within 15s of SIGINT: killed")
		}
	})

	deadline := time.After(30 * time.Second)
	for {
		if m := servingRE.FindStringSubmatch(d.stdout.String()); m != nil {
			d.url = m[1]
			return d
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("the demo exited before serving: %v\nstdout: %s\nstderr: %s", err, d.stdout, d.tail(30))
		case <-deadline:
			t.Fatalf("the demo printed no URL within 30s\nstdout: %s\nstderr: %s", d.stdout, d.tail(30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// screenshotDir returns $BULWARK_ARTIFACTS/screenshots, made if needed;
// BULWARK_ARTIFACTS defaults to the artifacts folder at the module root.
func screenshotDir(t *testing.T, root string) string {
	t.Helper()
	dir := os.Getenv(envArtifacts)
	if dir == "" {
		dir = filepath.Join(root, "artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}

// e2e is what the end-to-end scenarios share: the demo and the folder of
// the screenshots. Each scenario starts its own browser.
type e2e struct {
	demo  *demoProcess
	shots string
}

// browser starts a Chromium of its own (its own cookies and storage) for
// t's scenario; it is closed when t ends.
func (e *e2e) browser(t *testing.T) context.Context {
	return testenv.BrowserWith(t, testenv.BrowserOptions{Timeout: 2 * time.Minute})
}

// location returns the tab's URL, for messages.
func location(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return loc
}

// step runs actions in the tab within e2eStep, and fails t with what the
// step was for and where the browser is.
func step(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, e2eStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v (browser at %s)", what, err, location(tab))
	}
}

// result is [step] for an action with a result.
func result[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, e2eStep)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (browser at %s)", what, err, location(tab))
	}
	return v
}

// at fails t unless the tab is at the demo's path (with its query).
func (e *e2e) at(t *testing.T, tab context.Context, path string) {
	t.Helper()
	if loc := location(tab); loc != e.demo.url+path {
		t.Fatalf("the browser is at %s, want %s%s", loc, e.demo.url, path)
	}
}

var (
	loginForm   = chromedp.CSS(`input[name=username]`)
	accountPage = chromedp.CSS(`#account`)
	changeForm  = chromedp.CSS(`input[name=new]`)
	logout      = chromedp.CSS(`form[action="/logout"] button`)
	loginLink   = chromedp.CSS(`nav a[href="/login"]`)
)

// login fills the login form the tab shows and waits for then.
func (e *e2e) login(t *testing.T, tab context.Context, user, password string, then chromedp.CSS) {
	t.Helper()
	step(t, tab, "log in as "+user,
		chromedp.WaitVisible(loginForm),
		chromedp.SendKeys(loginForm, user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(then),
	)
}

// screenshot saves a full-page PNG of the tab as name in the screenshot
// folder.
func (e *e2e) screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png := result(t, tab, "screenshot "+name, chromedp.FullScreenshot(100))
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	file := filepath.Join(e.shots, name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", file, len(png))
}

// storeSiteData gives the site a cookie that a script can read and an
// item in localStorage, as a page's own script would: only
// Clear-Site-Data removes them (the server's logout expires only its
// session cookie).
func (e *e2e) storeSiteData(t *testing.T, tab context.Context) {
	t.Helper()
	result(t, tab, "store a cookie and localStorage", chromedp.Evaluate[string](
		`document.cookie = "e2e=1; path=/"; localStorage.setItem("e2e", "1"); document.cookie`))
	if got, want := e.siteData(t, tab), "cookies=bulwark_device,bulwark_session,e2e localStorage=1"; got != want {
		t.Fatalf("before clearing, the browser holds %q, want %q", got, want)
	}
}

// siteData describes what the browser holds for the demo's origin: the
// names of its cookies (HttpOnly ones included, read through the DevTools
// protocol) and the test's localStorage item.
func (e *e2e) siteData(t *testing.T, tab context.Context) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, e2eStep)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.demo.url + "/"}})
	if err != nil {
		t.Fatalf("read the cookies: %v", err)
	}
	var names []string
	for _, c := range res.Cookies {
		name := c.Name
		if strings.HasPrefix(name, "bulwark_device_") {
			name = "bulwark_device" // the login throttle's device cookie; its name ends with a tag of the account
		}
		names = append(names, name)
	}
	slices.Sort(names)
	ls := result(t, tab, "read localStorage", chromedp.Evaluate[string](`String(localStorage.getItem("e2e"))`))
	return fmt.Sprintf("cookies=%s localStorage=%s", strings.Join(names, ","), ls)
}

// cleared fails t unless the browser holds nothing for the site.
func (e *e2e) cleared(t *testing.T, tab context.Context, after string) {
	t.Helper()
	if got, want := e.siteData(t, tab), "cookies= localStorage=null"; got != want {
		t.Errorf("after %s the browser holds %q, want %q (Clear-Site-Data: cookies and storage)", after, got, want)
	}
}

// TestE2EDemoInChromium runs the scenarios of issue #9 against the demo
// started as a process, in one Chromium, each scenario in a fresh browser
// context.
func TestE2EDemoInChromium(t *testing.T) {
	testenv.Chromium(t) // skips (or fails under BULWARK_REQUIRE_SERVERS=1) before the build
	start := time.Now()
	root := moduleRoot(t)
	bin := buildBulwark(t, root)
	demo := startDemoProcess(t, bin, "-idle", e2eIdle.String())
	for _, want := range []string{"alice / alice-password", "admin / admin-password", "expired / expired-password", "dave / dave-password", "demo provider: http://127.0.0.1:"} {
		if !strings.Contains(demo.stdout.String(), want) {
			t.Errorf("the demo did not print the account %q at start:\n%s", want, demo.stdout)
		}
	}
	e := &e2e{demo: demo, shots: screenshotDir(t, root)}
	t.Logf("demo %s built and started in %v", demo.url, time.Since(start).Round(time.Millisecond))
	base := demo.url

	t.Run("AliceLogsInAndOut", func(t *testing.T) {
		tab := e.browser(t)
		step(t, tab, "open the login page", chromedp.Navigate(base+"/login"))
		e.login(t, tab, "alice", "alice-password", accountPage)
		e.at(t, tab, "/account")
		if text := result(t, tab, "read the account page", chromedp.Text(accountPage)); !strings.Contains(text, "Alice") {
			t.Errorf("account page: %q, want Alice's name", text)
		}
		if box := result(t, tab, "read the box", chromedp.Text(chromedp.ID("sent-headers"))); !strings.Contains(box, "nocache") {
			t.Errorf("the account page's box does not say nocache marked it:\n%s", box)
		}
		e.screenshot(t, tab, "account.png")
		e.storeSiteData(t, tab)
		step(t, tab, "log out", chromedp.Click(logout), chromedp.WaitVisible(loginLink))
		e.at(t, tab, "/")
		e.cleared(t, tab, "logging out")
		if !strings.Contains(demo.stderr.String(), `"event":"clearsite.sent"`) {
			t.Error("no clearsite.sent event from the logout")
		}
	})

	t.Run("AnonymousAccountGoesThroughLogin", func(t *testing.T) {
		tab := e.browser(t)
		step(t, tab, "visit /account anonymously", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(loginForm))
		e.at(t, tab, "/login?next=%2Faccount")
		e.login(t, tab, "alice", "alice-password", accountPage)
		e.at(t, tab, "/account")
	})

	t.Run("ExpiredMustChangePassword", func(t *testing.T) {
		tab := e.browser(t)
		step(t, tab, "visit /account anonymously", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(loginForm))
		e.login(t, tab, "expired", "expired-password", changeForm)
		e.at(t, tab, "/password/change?next=%2Faccount")
		step(t, tab, "visit /account before the change", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(changeForm))
		e.at(t, tab, "/password/change?next=%2Faccount")
		change := func(current, next string, then chromedp.CSS) {
			t.Helper()
			step(t, tab, "change the password",
				chromedp.SendKeys(chromedp.CSS(`input[name=current]`), current),
				chromedp.SendKeys(changeForm, next),
				chromedp.Submit(changeForm),
				chromedp.WaitVisible(then),
			)
		}
		change("wrong-password", "e2e-new-password", chromedp.CSS(`.error`))
		step(t, tab, "visit /account after a failed change", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(changeForm))
		e.at(t, tab, "/password/change?next=%2Faccount")
		change("expired-password", "e2e-new-password", accountPage)
		e.at(t, tab, "/account")
		step(t, tab, "visit /account after the change", chromedp.Reload(), chromedp.WaitVisible(accountPage))
		e.at(t, tab, "/account")
	})

	t.Run("IdleTimeoutLogsOut", func(t *testing.T) {
		tab := e.browser(t)
		step(t, tab, "open the login page", chromedp.Navigate(base+"/login"))
		e.login(t, tab, "alice", "alice-password", accountPage)
		e.storeSiteData(t, tab)
		time.Sleep(e2eIdle + 2*time.Second)
		step(t, tab, "visit /account after the idle timeout", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(loginForm))
		if loc := location(tab); !strings.HasPrefix(loc, base+"/login") {
			t.Errorf("after the idle timeout: at %s, want the login page", loc)
		}
		e.cleared(t, tab, "the idle timeout")
		if !strings.Contains(demo.stderr.String(), `"event":"sessionexpiry.expired"`) {
			t.Error("no sessionexpiry.expired event")
		}
	})

	t.Run("CSPViolationReachesSummary", func(t *testing.T) {
		// An anonymous visitor loads the home page: its script without the
		// nonce is blocked (enforced policy), and its nonced script writes
		// HTML from a string (report-only rollout, Trusted Types).
		visitor := e.browser(t)
		step(t, visitor, "open the home page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("nonced")))
		if ran := result(t, visitor, "look for the blocked script's line", chromedp.Evaluate[bool](`document.getElementById("blocked") !== null`)); ran {
			t.Error("the script without the nonce ran")
		}
		e.screenshot(t, visitor, "home.png")

		// admin, in another browser, logs in and reads the summary until
		// both reports show.
		admin := e.browser(t)
		step(t, admin, "open the login page", chromedp.Navigate(base+"/login"))
		e.login(t, admin, "admin", "admin-password", accountPage)
		deadline := time.Now().Add(30 * time.Second)
		var rows [][]string
		for {
			step(t, admin, "open the CSP summary", chromedp.Navigate(base+"/admin/csp-reports"), chromedp.WaitVisible(chromedp.ID("groups")))
			rows = result(t, admin, "read the summary", chromedp.Evaluate[[][]string](
				`[...document.querySelectorAll("#groups tbody tr")].map(tr => [...tr.cells].map(td => td.innerText.trim()))`))
			if hasReport(rows, "script-src", "enforce") && hasReport(rows, "require-trusted-types-for", "report") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 30s the summary lacks the home page's reports (script-src enforced, require-trusted-types-for report-only): %q", rows)
			}
			time.Sleep(500 * time.Millisecond)
		}
		e.at(t, admin, "/admin/csp-reports")
		e.screenshot(t, admin, "csp-reports.png")
	})
	t.Logf("end-to-end scenarios done in %v; screenshots in %s", time.Since(start).Round(time.Millisecond), e.shots)
}

// hasReport reports whether a row of the summary's groups table (count,
// directive, disposition, blocked, document, …) is for a directive
// starting with directive, with that disposition, from the home page.
func hasReport(rows [][]string, directive, disposition string) bool {
	for _, r := range rows {
		if len(r) > 4 && strings.HasPrefix(r[1], directive) && r[2] == disposition && strings.HasSuffix(r[4], "/") {
			return true
		}
	}
	return false
}
