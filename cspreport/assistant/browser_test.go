package assistant_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/assistant"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/chromedp/chromedp"
)

// TestBrowserSuggestionStopsViolations: a page in headless Chromium
// loads a script and an image from another origin and runs an inline
// script, all against its policy. The browser's reports reach the
// receiver; the assistant's merged policy, served instead, makes the
// page load everything and the browser send no report: a sentinel page
// loaded afterwards is the only new report.
func TestBrowserSuggestionStopsViolations(t *testing.T) {
	ctx := testenv.Browser(t)
	store := cspreport.NewMemoryStore()
	log, _ := seclogtest.New(t)
	rc, err := cspreport.New(cspreport.Config{Store: store, Logger: log, RawEvents: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close(context.Background())

	third := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(`window.libLoaded = true;`))
			return
		}
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	}))
	defer third.Close()

	var mu sync.Mutex
	policy := "default-src 'self'; script-src 'self' 'report-sample'; img-src 'self'; report-uri /csp-report"
	mux := http.NewServeMux()
	mux.Handle("/csp-report", rc)
	mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		w.Header().Set("Content-Security-Policy", policy)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>before</title>
<img id="pic" src="` + third.URL + `/pixel.gif">
<script src="` + third.URL + `/lib.js"></script>
<script>document.title='ok'</script>`))
	})
	mux.HandleFunc("/sentinel", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "img-src 'none'; report-uri /csp-report")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>sentinel</title><img src="/sentinel.gif">`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// reports returns the reports stored for a path.
	reports := func(path string) int64 {
		gs, err := store.Groups(context.Background(), cspreport.GroupQuery{Muted: true})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, g := range gs {
			if g.DocumentPath == path {
				n += g.Total
			}
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 30s", what)
			}
		}
	}
	load := func(path string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		return title
	}

	if title := load("/app"); title != "before" {
		t.Fatalf("the inline script ran under the first policy: title %q", title)
	}
	waitFor("report of the three violations", func() bool { return reports("/app") >= 3 })

	a, err := assistant.New(assistant.Config{Store: store, MinClients: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Suggest(context.Background(), assistant.Query{})
	if err != nil {
		t.Fatal(err)
	}
	o, err := res.Find("")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("suggestions %+v\nsuspicious %+v\nmerged %s", o.Suggestions, o.Suspicious, o.Merged)
	if len(o.Suggestions) != 3 || len(o.Suspicious) != 0 || o.Merged == "" {
		t.Fatalf("suggestions %+v, suspicious %+v, merged %q", o.Suggestions, o.Suspicious, o.Merged)
	}
	before := reports("/app")
	mu.Lock()
	policy = o.Merged + "; report-uri /csp-report"
	if strings.Contains(o.Merged, "report-uri") {
		policy = o.Merged
	}
	mu.Unlock()

	title := load("/app")
	lib, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.libLoaded === true`))
	if err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById('pic').naturalWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if title != "ok" || !lib || width != 1 {
		t.Errorf("under the merged policy: title %q, script loaded %v, image width %d", title, lib, width)
	}
	load("/sentinel")
	waitFor("report from the sentinel page", func() bool { return reports("/sentinel") >= 1 })
	if after := reports("/app"); after != before {
		t.Errorf("the page sent %d more reports under the merged policy %q", after-before, policy)
	}
}
