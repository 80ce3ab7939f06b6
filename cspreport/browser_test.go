package cspreport_test

import (
	"context"
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
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestBrowserReports: a real page in headless Chromium violates its
// policy (an image under img-src 'none'); the browser's reports, through
// report-uri and through report-to, reach the receiver and show up on the
// dashboard, whose screenshot the test saves (go test -artifacts keeps
// it).
func TestBrowserReports(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true})
	store := cspreport.NewMemoryStore()
	rc, _, _ := newReceiver(t, cspreport.Config{Store: store})
	summary, err := dashboard.New(dashboard.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/csp-report", rc)
	mux.Handle("/admin/csp-reports", summary)
	page := func(policy string, extra map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", policy)
			for k, v := range extra {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><title>violation</title><p>an image the policy forbids: <img src="/pixel.gif">`))
		}
	}
	mux.Handle("/legacy", page("img-src 'none'; report-uri /csp-report?v=1", nil))
	mux.Handle("/reporting", page("img-src 'none'; report-to csp-endpoint", map[string]string{"Reporting-Endpoints": `csp-endpoint="/csp-report?v=2"`}))
	mux.HandleFunc("/pixel.gif", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Type", "image/gif") })
	// Over HTTPS: Chromium sends Reporting API reports from secure pages only.
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	for _, p := range []string{"/legacy", "/reporting"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+p), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
	}
	// report-uri reports come at once; report-to ones when Chromium's
	// delivery timer fires. Wait, bounded, for both formats.
	var details []cspreport.Detail
	for deadline := time.Now().Add(75 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		gs, err := store.Groups(context.Background(), cspreport.GroupQuery{})
		if err != nil {
			t.Fatal(err)
		}
		details = details[:0]
		for _, g := range gs {
			ds, _ := store.Details(context.Background(), g.Fingerprint, 0)
			details = append(details, ds...)
		}
		versions := map[string]bool{}
		for _, d := range details {
			versions[d.PolicyVersion] = true
		}
		if versions["1"] && versions["2"] {
			break
		}
	}
	versions := map[string]bool{}
	for _, d := range details {
		versions[d.PolicyVersion] = true
		if !strings.HasPrefix(d.ExampleDocument, srv.URL) || strings.Contains(d.ExampleBlocked, "?") {
			t.Errorf("detail %+v", d)
		}
	}
	if !versions["1"] || !versions["2"] {
		t.Fatalf("reports received for policy versions %v, want 1 (report-uri) and 2 (report-to)", versions)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin/csp-reports")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("groups")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "img-src") || !strings.Contains(text, "new") || !strings.Contains(text, srv.URL) {
		t.Errorf("dashboard:\n%s", text)
	}
	name := filepath.Join(t.ArtifactDir(), "csp-reports-summary.png")
	if err := os.WriteFile(name, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("dashboard screenshot: %s (%d bytes)", name, len(shot))
}
