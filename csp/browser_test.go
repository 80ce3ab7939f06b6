package csp

import (
	"context"
	"encoding/json"
	"flag"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/chromedp/chromedp"
)

var updateReports = flag.Bool("update-reports", false, "save the reports Chromium sends in TestBrowser to testdata/")

var browserPage = template.Must(template.New("page").Funcs(TemplateFuncs()).Parse(`<!doctype html>
<html><head><title>csp</title></head><body>
<script nonce="{{cspNonce .}}">window.nonceRan = true;
var img = new Image(); img.onload = function () { window.imgLoaded = true; }; img.src = "/pixel.gif";
</script>
<script>window.inlineRan = true;</script>
</body></html>`))

var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// received is a report as the test endpoint got it.
type received struct {
	contentType string
	body        []byte
}

// TestBrowser serves a page through the middleware over HTTPS and loads it
// in headless Chromium: the nonced inline script runs, the other is
// blocked; the report-only policy (img-src 'none') reports the image but
// does not block it; and the browser POSTs violation reports both through
// report-uri (application/csp-report) and report-to (the Reporting API,
// application/reports+json), for both policies.
func TestBrowser(t *testing.T) {
	ctx := testenv.BrowserWith(t, testenv.BrowserOptions{IgnoreCertErrors: true})

	m := mustNew(t, Config{
		Enforce:    Raw("script-src 'nonce'; object-src 'none'; base-uri 'none'"),
		ReportOnly: Raw("img-src 'none'"),
		Reporting:  &Reporting{},
	})
	var mu sync.Mutex
	var reports []received
	mux := http.NewServeMux()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		browserPage.Execute(w, r)
	})
	mux.Handle("/page", m.Handler(page))
	// Chromium ignores report-uri when report-to is present (as the spec
	// says), so report-uri is proven on its own page: the browsers that
	// lack report-to read it there.
	legacy := mustNew(t, Config{
		Enforce:    Raw("script-src 'nonce'; object-src 'none'; base-uri 'none'; report-uri /csp-report"),
		ReportOnly: Raw("img-src 'none'; report-uri /csp-report"),
	})
	mux.Handle("/legacy", legacy.Handler(page))
	mux.HandleFunc("/pixel.gif", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/gif")
		w.Write(pixelGIF)
	})
	mux.HandleFunc("POST /csp-report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		reports = append(reports, received{r.Header.Get("Content-Type"), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	for _, path := range []string{"/legacy", "/page"} {
		loadAndCheck(t, ctx, srv.URL+path)
	}
	// Reports: report-uri ones come at once, report-to ones are batched by
	// Chromium (up to about a minute). Wait, bounded, for all four.
	want := map[string]bool{ // type/disposition
		"csp-report/enforce": false, "csp-report/report": false,
		"reports+json/enforce": false, "reports+json/report": false,
	}
	var bodies = map[string][]byte{}
	seen := 0
	for deadline := time.Now().Add(75 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		mu.Lock()
		rs := reports[seen:]
		seen = len(reports)
		mu.Unlock()
		for _, r := range rs {
			for _, k := range classify(t, r) {
				want[k] = true
				if bodies[k] == nil {
					bodies[k] = r.body
				}
			}
		}
		all := true
		for _, v := range want {
			all = all && v
		}
		if all {
			break
		}
	}
	for k, v := range want {
		if !v {
			t.Errorf("no %s violation report received", k)
		}
	}
	if *updateReports {
		for k, b := range bodies {
			name := filepath.Join("testdata", "chromium-"+strings.NewReplacer("/", "-", "+", "-").Replace(k)+".json")
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// loadAndCheck loads url and checks which scripts ran and that the image
// blocked only by the report-only policy loaded.
func loadAndCheck(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	ran, err := chromedp.Run(actx, chromedp.Evaluate[[]bool](`[window.nonceRan === true, window.inlineRan === true]`))
	if err != nil {
		t.Fatal(err)
	}
	if !ran[0] {
		t.Errorf("%s: the inline script with the nonce did not run", url)
	}
	if ran[1] {
		t.Errorf("%s: the inline script without the nonce ran", url)
	}
	var loaded bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if loaded, err = chromedp.Run(actx, chromedp.Evaluate[bool](`window.imgLoaded === true`)); err == nil && loaded {
			break
		}
	}
	if !loaded {
		t.Errorf("%s: the report-only policy blocked the image", url)
	}

}

// classify returns "kind/disposition" for each violation in a report body.
func classify(t *testing.T, r received) []string {
	t.Helper()
	switch {
	case strings.HasPrefix(r.contentType, "application/csp-report"):
		var v struct {
			Report struct {
				Directive   string `json:"effective-directive"`
				Disposition string `json:"disposition"`
			} `json:"csp-report"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("csp-report body %q: %v", r.body, err)
			return nil
		}
		return []string{"csp-report/" + v.Report.Disposition}
	case strings.HasPrefix(r.contentType, "application/reports+json"):
		var vs []struct {
			Type string `json:"type"`
			Body struct {
				Directive   string `json:"effectiveDirective"`
				Disposition string `json:"disposition"`
			} `json:"body"`
		}
		if err := json.Unmarshal(r.body, &vs); err != nil {
			t.Errorf("reports+json body %q: %v", r.body, err)
			return nil
		}
		var out []string
		for _, v := range vs {
			if v.Type == "csp-violation" {
				out = append(out, "reports+json/"+v.Body.Disposition)
			}
		}
		return out
	}
	t.Errorf("report with Content-Type %q: %s", r.contentType, r.body)
	return nil
}
