package cspreport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

func newReceiver(t testing.TB, cfg cspreport.Config) (*cspreport.Receiver, *cspreport.MemoryStore, *seclogtest.Recorder) {
	t.Helper()
	store, _ := cfg.Store.(*cspreport.MemoryStore)
	if cfg.Store == nil {
		store = cspreport.NewMemoryStore()
		cfg.Store = store
	}
	var rec *seclogtest.Recorder
	if cfg.Logger == nil {
		cfg.Logger, rec = seclogtest.New(t)
	}
	rc, err := cspreport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rc.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return rc, store, rec
}

func post(h http.Handler, target, ctype, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func groups(t testing.TB, s cspreport.Store) []cspreport.Group {
	t.Helper()
	gs, err := s.Groups(context.Background(), cspreport.GroupQuery{Muted: true})
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func counters(t testing.TB, s cspreport.Store) map[string]int64 {
	t.Helper()
	cs, err := s.Counters(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Kind+"/"+c.Name] = c.Count
	}
	return m
}

func total(gs []cspreport.Group) (n int64) {
	for _, g := range gs {
		n += g.Total
	}
	return n
}

// TestCorpus: every file of shared/testdata/csp-reports gives the outcome
// its README states, with the Content-Type it was sent with.
func TestCorpus(t *testing.T) {
	dir := testenv.Testdata(t, "csp-reports")
	type want struct {
		ctype    string
		store    int
		counter  string // the counter raised instead, if any
		check    func(t *testing.T, g cspreport.Group, d cspreport.Detail)
		filters  cspreport.Filters
		filtered string // with filters: the counter raised
	}
	const legacy, api = "application/csp-report", "application/reports+json"
	cases := map[string]want{
		"chromium-report-uri-external-script.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "script-src")
			eq(t, g.Disposition, "enforce")
			eq(t, g.BlockedOrigin, "http://baddomain.com")
			eq(t, g.ExampleBlocked, "http://baddomain.com/test.js")
			// Segments that look like ids are templated in every stored URL.
			eq(t, d.SourceFile, "https://e90d271df3e973c7.global.ssl.fastly.net/_static/:id/sentry/dist/vendor.js")
			eq(t, fmt.Sprint(d.Line, d.Column), "24 66270")
			eq(t, d.Sample, "")
			eq(t, g.DocumentPath, "/sentry/csp/issues/:id/")
		}},
		"chromium-report-uri-adware-injected-script.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.BlockedOrigin, "http://loadingpaqes.info")
			eq(t, g.ExampleBlocked, "http://loadingpaqes.info/jo/is")
		}, filters: cspreport.Filters{Hosts: []string{"loadingpaqes.info"}}, filtered: "filtered/host:loadingpaqes.info"},
		"chromium-report-uri-ms-browser-extension.json": {ctype: legacy, counter: "filtered/scheme:ms-browser-extension"},
		"webkit-report-uri-inline-style-attr.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "style-src-attr")
			eq(t, g.BlockedKind, "inline")
			eq(t, g.Disposition, "unknown")
			eq(t, g.DocumentOrigin, "http://127.0.0.1:8889")
		}, filters: cspreport.Filters{DocumentHosts: []string{"example.com"}}, filtered: "filtered/document:host"},
		"gecko-report-uri-legacy-data-uri.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "img-src")
			eq(t, g.BlockedKind, "scheme")
			eq(t, g.BlockedOrigin, "data")
			eq(t, g.ExampleBlocked, "data:")
			eq(t, d.ExampleDocument, "http://example.com/csp")
		}},
		"gecko-report-uri-moz-extension-base-uri.json":  {ctype: legacy, counter: "filtered/scheme:moz-extension"},
		"gecko-report-uri-chrome-extension-scheme.json": {ctype: legacy, counter: "filtered/scheme:chrome-extension"},
		"legacy-report-uri-about-blank-document.json":   {ctype: legacy, counter: "filtered/document:not-http"},
		"legacy-report-uri-empty-blocked-uri.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "style-src")
			eq(t, g.BlockedKind, "empty")
		}},
		"legacy-report-uri-eval-facebook-inapp.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.BlockedKind, "eval")
			eq(t, g.Directive, "script-src")
			eq(t, fmt.Sprint(d.Line, d.Column), "1 33772")
		}},
		"chromium-report-to-batch-inline-and-urls.json": {ctype: api, store: 3, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "script-src-elem")
			eq(t, g.Disposition, "report")
		}},
		"chromium-report-to-data-font-src.json": {ctype: api, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "font-src")
			eq(t, g.BlockedOrigin, "data")
			eq(t, d.SourceFile, "")
		}},
		"chromium-report-to-deprecation-extension-source.json": {ctype: api, counter: "other/deprecation"},
		"spec-report-to-csp-hash.json":                         {ctype: api, counter: "other/csp-hash"},
		"webkit-report-to-single-object.constructed.json": {ctype: legacy, store: 1, check: func(t *testing.T, g cspreport.Group, d cspreport.Detail) {
			eq(t, g.Directive, "script-src-elem")
			eq(t, g.Disposition, "report")
			eq(t, g.BlockedKind, "inline")
			eq(t, d.ExampleDocument, "https://www.example.com/signup")
			eq(t, d.SourceFile, "https://www.example.com/signup")
			eq(t, d.ExampleUA, "Safari-Test-UA")
		}},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s: %v", dir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := cases[name]
		if !ok {
			t.Errorf("%s: not in the test's table; add its README row", name)
			continue
		}
		delete(cases, name)
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			rc, store, _ := newReceiver(t, cspreport.Config{})
			resp := post(rc, "/csp-report", w.ctype, string(body), "User-Agent", "Safari-Test-UA")
			if resp.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.Code)
			}
			gs := groups(t, store)
			if got := total(gs); got != int64(w.store) {
				t.Fatalf("stored %d reports, want %d", got, w.store)
			}
			if w.counter != "" {
				if c := counters(t, store); c[w.counter] != 1 {
					t.Errorf("counters %v, want %s = 1", c, w.counter)
				}
			}
			if w.check != nil && len(gs) > 0 {
				ds, err := store.Details(context.Background(), gs[0].Fingerprint, 0)
				if err != nil || len(ds) == 0 {
					t.Fatalf("details: %v, %v", ds, err)
				}
				w.check(t, gs[0], ds[0])
			}
			if w.filtered != "" {
				rc2, store2, _ := newReceiver(t, cspreport.Config{Filters: w.filters})
				if resp := post(rc2, "/csp-report", w.ctype, string(body)); resp.Code != 204 {
					t.Fatalf("with filters: status %d", resp.Code)
				}
				if n := total(groups(t, store2)); n != 0 {
					t.Errorf("with filters: stored %d", n)
				}
				if c := counters(t, store2); c[w.filtered] != 1 {
					t.Errorf("with filters: counters %v, want %s = 1", c, w.filtered)
				}
			}
		})
	}
	for name := range cases {
		t.Errorf("%s: in the table but not in the corpus", name)
	}
}

func eq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

const legacyBody = `{"csp-report":{"document-uri":"https://example.com/page?token=secret#frag","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'","disposition":"enforce","blocked-uri":"https://evil.example/x.js?q=1","status-code":200}}`

// TestAnswers: one table of requests and the status each gets.
func TestAnswers(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9)
	batch := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"type":"csp-violation","url":"https://example.com/","body":{"documentURL":"https://example.com/","effectiveDirective":"img-src","blockedURL":"https://img.example/` + fmt.Sprint(i) + `.png","disposition":"enforce"}}`
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	cases := []struct {
		name, method, ctype, body string
		hdr                       []string
		want                      int
		stored                    int64
	}{
		{"legacy", "POST", "application/csp-report", legacyBody, nil, 204, 1},
		{"json with charset", "POST", "application/json; charset=utf-8", legacyBody, nil, 204, 1},
		{"upper-case type", "POST", "Application/CSP-Report", legacyBody, nil, 204, 1},
		{"text/plain", "POST", "text/plain", legacyBody, nil, 415, 0},
		{"no type", "POST", "", legacyBody, nil, 415, 0},
		{"gzip", "POST", "application/csp-report", legacyBody, []string{"Content-Encoding", "gzip"}, 415, 0},
		{"GET", "GET", "", "", nil, 405, 0},
		{"PUT", "PUT", "application/csp-report", legacyBody, nil, 405, 0},
		{"not JSON", "POST", "application/csp-report", `{"csp-report":`, nil, 400, 0},
		{"empty", "POST", "application/csp-report", ``, nil, 400, 0},
		{"number", "POST", "application/csp-report", `42`, nil, 400, 0},
		{"object of no shape", "POST", "application/csp-report", `{"hello":"world"}`, nil, 400, 0},
		{"csp-report not an object", "POST", "application/csp-report", `{"csp-report":"x"}`, nil, 400, 0},
		{"wrong types", "POST", "application/csp-report", `{"csp-report":{"document-uri":5,"blocked-uri":[],"effective-directive":{}}}`, nil, 400, 0},
		{"too deep", "POST", "application/csp-report", deep, nil, 400, 0},
		{"batch of 100", "POST", "application/reports+json", batch(100), nil, 204, 100},
		{"batch of 101", "POST", "application/reports+json", batch(101), nil, 413, 0},
		{"batch of 10000", "POST", "application/reports+json", "[" + strings.Repeat("{},", 9999) + "{}]", nil, 413, 0},
		{"empty batch", "POST", "application/reports+json", `[]`, nil, 204, 0},
		{"batch with bad items", "POST", "application/reports+json", `[1,"x",{"type":5},` + batch(2)[1:], nil, 204, 2},
		{"status as string, line null", "POST", "application/csp-report", `{"csp-report":{"document-uri":"https://example.com/","effective-directive":"img-src","blocked-uri":"https://a.example/","status-code":"200","line-number":null}}`, nil, 204, 1},
		{"NUL and invalid UTF-8", "POST", "application/csp-report", "{\"csp-report\":{\"document-uri\":\"https://example.com/\\u0000x\",\"effective-directive\":\"img-src\\u0000\",\"blocked-uri\":\"https://a.example/\xff\xfe\"}}", nil, 204, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc, store, _ := newReceiver(t, cspreport.Config{})
			r := httptest.NewRequest(c.method, "/csp-report", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			for i := 0; i+1 < len(c.hdr); i += 2 {
				r.Header.Set(c.hdr[i], c.hdr[i+1])
			}
			w := httptest.NewRecorder()
			rc.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d", w.Code, c.want)
			}
			if w.Code == 410 {
				t.Fatal("410 makes browsers drop the endpoint")
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			if c.want == 405 && w.Header().Get("Allow") != "POST, OPTIONS" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if c.want == 204 && w.Body.Len() != 0 {
				t.Errorf("204 with a body %q", w.Body)
			}
			if c.want >= 400 && (w.Body.Len() > 64 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain")) {
				t.Errorf("refusal: %q, %q", w.Header().Get("Content-Type"), w.Body)
			}
			if got := total(groups(t, store)); got != c.stored {
				t.Errorf("stored %d, want %d", got, c.stored)
			}
		})
	}
}

// TestBodyLimit: a body one byte over the limit is 413, whether it
// announces its length or not; a 100 MB body is refused before it is read.
func TestBodyLimit(t *testing.T) {
	rc, store, _ := newReceiver(t, cspreport.Config{MaxBodyBytes: int64(len(legacyBody))})
	if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 204 {
		t.Fatalf("at the limit: %d", w.Code)
	}
	over := legacyBody + " "
	if w := post(rc, "/", "application/csp-report", over); w.Code != 413 {
		t.Fatalf("one byte over: %d", w.Code)
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(over))
	r.ContentLength = -1 // chunked: no length announced
	r.Header.Set("Content-Type", "application/csp-report")
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, r)
	if w.Code != 413 {
		t.Fatalf("chunked, one byte over: %d", w.Code)
	}
	huge := &countingReader{n: 100 << 20}
	r = httptest.NewRequest("POST", "/", huge)
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/csp-report")
	w = httptest.NewRecorder()
	rc.ServeHTTP(w, r)
	if w.Code != 413 || huge.read > 2<<20 {
		t.Fatalf("100 MB body: %d after reading %d bytes", w.Code, huge.read)
	}
	if n := total(groups(t, store)); n != 1 {
		t.Errorf("stored %d", n)
	}
}

type countingReader struct{ n, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, errors.New("EOF")
	}
	k := min(len(p), c.n-c.read)
	for i := range p[:k] {
		p[i] = '['
	}
	c.read += k
	return k, nil
}

// TestCORS: preflights and POSTs from configured origins get the headers;
// others get none.
func TestCORS(t *testing.T) {
	rc, _, _ := newReceiver(t, cspreport.Config{AllowedOrigins: []string{"https://app.example.com"}})
	for _, c := range []struct {
		method, origin string
		acao           string
	}{
		{"OPTIONS", "https://app.example.com", "https://app.example.com"},
		{"OPTIONS", "https://evil.example", ""},
		{"POST", "https://app.example.com", "https://app.example.com"},
		{"POST", "https://evil.example", ""},
		{"POST", "", ""},
	} {
		r := httptest.NewRequest(c.method, "/csp-report", strings.NewReader(legacyBody))
		r.Header.Set("Content-Type", "application/csp-report")
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if c.method == "OPTIONS" {
			r.Header.Set("Access-Control-Request-Method", "POST")
			r.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		if w.Code != 204 {
			t.Errorf("%s from %q: %d", c.method, c.origin, w.Code)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != c.acao {
			t.Errorf("%s from %q: ACAO %q, want %q", c.method, c.origin, got, c.acao)
		}
		if c.method == "OPTIONS" && c.acao != "" && w.Header().Get("Access-Control-Allow-Headers") != "content-type" {
			t.Errorf("preflight: ACAH %q", w.Header().Get("Access-Control-Allow-Headers"))
		}
		if w.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Error("credentials allowed")
		}
	}
	star, _, _ := newReceiver(t, cspreport.Config{AllowedOrigins: []string{"*"}})
	w := post(star, "/", "application/csp-report", legacyBody, "Origin", "https://any.example")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("*: ACAO %q", got)
	}
}

// TestConfigErrors: each mistake names its field.
func TestConfigErrors(t *testing.T) {
	s := cspreport.NewMemoryStore()
	for _, c := range []struct {
		cfg  cspreport.Config
		want string
	}{
		{cspreport.Config{}, "Config.Store"},
		{cspreport.Config{Store: s, AllowedOrigins: []string{"https://a.example/path"}}, "AllowedOrigins"},
		{cspreport.Config{Store: s, MaxDepth: 2}, "MaxDepth"},
		{cspreport.Config{Store: s, MaxItems: -1}, "MaxItems"},
		{cspreport.Config{Store: s, IPv4Prefix: 33}, "IPv4Prefix"},
		{cspreport.Config{Store: s, RateLimit: cspreport.RateLimit{PerSecond: -1}}, "RateLimit"},
		{cspreport.Config{Store: s, Filters: cspreport.Filters{Schemes: []string{"chrome extension"}}}, "Filters.Schemes"},
		{cspreport.Config{Store: s, Filters: cspreport.Filters{Hosts: []string{"https://x.example/"}}}, "Filters.Hosts"},
		{cspreport.Config{Store: s, Filters: cspreport.Filters{Samples: []string{"("}}}, "Filters.Samples"},
		{cspreport.Config{Store: s, Filters: cspreport.Filters{DocumentHosts: []string{"a b"}}}, "Filters.DocumentHosts"},
	} {
		_, err := cspreport.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
}

// TestPrivacyAndDedupe: query, fragment and data: bodies are not kept; the
// client address is a prefix; the same violation from many page views is
// one group with a count; ids in paths do not make new groups.
func TestPrivacyAndDedupe(t *testing.T) {
	rc, store, rec := newReceiver(t, cspreport.Config{})
	for i := range 5 {
		body := strings.Replace(legacyBody, "/page?token=secret", fmt.Sprintf("/users/%d/page?token=secret%d", 1000+i, i), 1)
		r := httptest.NewRequest("POST", "/csp-report?v=42", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/csp-report")
		r.RemoteAddr = fmt.Sprintf("203.0.113.%d:5555", 10+i)
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		if w.Code != 204 {
			t.Fatalf("status %d", w.Code)
		}
	}
	gs := groups(t, store)
	if len(gs) != 1 || gs[0].Total != 5 || gs[0].Count != 5 {
		t.Fatalf("groups %+v, want one of 5", gs)
	}
	g := gs[0]
	eq(t, g.DocumentPath, "/users/:id/page")
	eq(t, g.ExampleBlocked, "https://evil.example/x.js")
	ds, _ := store.Details(context.Background(), g.Fingerprint, 0)
	if len(ds) != 1 || ds[0].Count != 5 {
		t.Fatalf("details %+v", ds)
	}
	eq(t, ds[0].PolicyVersion, "42")
	if strings.Contains(ds[0].ExampleDocument, "secret") || strings.Contains(ds[0].ExampleDocument, "#") {
		t.Errorf("query kept: %q", ds[0].ExampleDocument)
	}
	var violations []seclogtest.Event
	for _, e := range rec.Take() {
		if e.Name == "cspreport.violation" {
			violations = append(violations, e)
		}
	}
	if len(violations) != 1 {
		t.Fatalf("%d violation events for one group, want 1", len(violations))
	}
	if got := violations[0].Fields["client_prefix"]; got != "203.0.113.0/24" {
		t.Errorf("client_prefix %v", got)
	}

	// The same report in report-only mode is another group.
	body := strings.Replace(legacyBody, `"enforce"`, `"report"`, 1)
	post(rc, "/", "application/csp-report", body)
	if n := len(groups(t, store)); n != 2 {
		t.Errorf("%d groups after a report-only one, want 2", n)
	}
	// WebKit's legacy body has no disposition: the query can say.
	body = strings.Replace(legacyBody, `"disposition":"enforce",`, ``, 1)
	post(rc, "/?disposition=report", "application/csp-report", body)
	if n := len(groups(t, store)); n != 2 {
		t.Errorf("%d groups after a report-only one told by the query, want 2", n)
	}
}

// TestRateLimit: a client over its burst gets 429 with Retry-After; another
// client (another /24) does not; IPv6 clients share their /64.
func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rc, store, rec := newReceiver(t, cspreport.Config{Now: clock, RateLimit: cspreport.RateLimit{PerSecond: 1, Burst: 3}})
	send := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/", strings.NewReader(legacyBody))
		r.Header.Set("Content-Type", "application/csp-report")
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		return w
	}
	for i := range 3 {
		if w := send(fmt.Sprintf("198.51.100.%d:1", i)); w.Code != 204 {
			t.Fatalf("report %d: %d", i, w.Code)
		}
	}
	w := send("198.51.100.200:1")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the burst: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if w := send("192.0.2.1:1"); w.Code != 204 {
		t.Fatalf("another client: %d", w.Code)
	}
	if !slices.Contains(rec.Names(), "cspreport.rate_limited") {
		t.Error("no rate_limited event")
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if w := send("198.51.100.7:1"); w.Code != 204 {
		t.Fatalf("after a second: %d", w.Code)
	}
	for i := range 3 {
		if w := send(fmt.Sprintf("[2001:db8::%x]:1", i+1)); w.Code != 204 {
			t.Fatalf("v6 %d: %d", i, w.Code)
		}
	}
	if w := send("[2001:db8::ffff]:1"); w.Code != 429 {
		t.Fatalf("v6 same /64 over burst: %d", w.Code)
	}
	if n := total(groups(t, store)); n != 8 {
		t.Errorf("stored %d, want 8", n)
	}
	if s := rc.Stats(); s.RefusedWith(429) != 2 || s.Stored != 8 {
		t.Errorf("stats %+v", s)
	}
}

// TestRateLimitChargesRefusedRequests: every request costs its client a
// token before its body is read, whether it is then refused (400, 413,
// 415) or not: a client over its burst gets 429 for hostile bodies too,
// without the body being read, and its well-formed reports wait with
// them.
func TestRateLimitChargesRefusedRequests(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	rc, _, _ := newReceiver(t, cspreport.Config{Now: func() time.Time { return now }, RateLimit: cspreport.RateLimit{PerSecond: 1, Burst: 1}})
	tooMany := "[" + strings.Repeat(`{"type":"deprecation","body":{}},`, 100) + `{"type":"deprecation","body":{}}]`
	hostile := []struct {
		name, ctype, body string
		first             int // the status while the client is within its burst
	}{
		{"syntax", "application/csp-report", `{"csp-report":`, 400},
		{"depth", "application/reports+json", strings.Repeat("[", 20) + strings.Repeat("]", 20), 400},
		{"shape", "application/csp-report", `{"nope":1}`, 400},
		{"items", "application/reports+json", tooMany, 413},
		{"size", "application/csp-report", `"` + strings.Repeat("a", cspreport.DefaultMaxBodyBytes) + `"`, 413},
		{"media type", "text/plain", legacyBody, 415},
	}
	send := func(addr, ctype, body string) (*httptest.ResponseRecorder, int) {
		read := 0
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Body = readCounter{r.Body, &read}
		r.Header.Set("Content-Type", ctype)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		return w, read
	}
	for i, h := range hostile {
		// A client of its own sends the hostile body first: it is
		// refused for what it is, and charged.
		client := fmt.Sprintf("198.51.%d.1:1", 10+i)
		if w, _ := send(client, h.ctype, h.body); w.Code != h.first {
			t.Fatalf("%s: first request %d, want %d", h.name, w.Code, h.first)
		}
		for k := range 3 {
			w, read := send(client, h.ctype, h.body)
			if w.Code != 429 || w.Header().Get("Retry-After") == "" {
				t.Fatalf("%s: request %d over the burst: %d, want 429 with Retry-After", h.name, k+2, w.Code)
			}
			if read != 0 {
				t.Fatalf("%s: %d bytes of a refused body were read", h.name, read)
			}
		}
		if w, _ := send(client, "application/csp-report", legacyBody); w.Code != 429 {
			t.Fatalf("%s: a report after hostile bodies over the burst: %d, want 429", h.name, w.Code)
		}
	}
	// A well-formed report is charged once, not twice: a client with a
	// burst of 1 gets it stored.
	if w, _ := send("192.0.2.1:1", "application/csp-report", legacyBody); w.Code != 204 {
		t.Fatalf("one report within the burst: %d", w.Code)
	}
	if s := rc.Stats(); s.RefusedWith(429) != uint64(4*len(hostile)) {
		t.Errorf("stats %+v, want %d rate limited", s, 4*len(hostile))
	}
}

// readCounter counts the bytes read from a body.
type readCounter struct {
	io.ReadCloser
	n *int
}

func (r readCounter) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	*r.n += n
	return n, err
}

// blockingStore blocks Save until released, or fails it.
type blockingStore struct {
	*cspreport.MemoryStore
	entered chan struct{}
	release chan struct{}
	fail    error
}

func (s *blockingStore) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
		<-s.release
	}
	if s.fail != nil {
		return nil, s.fail
	}
	return s.MemoryStore.Save(ctx, b)
}

// TestOverload: with the writer stuck and the queue full, requests are
// answered 503 with Retry-After at once, and nothing is stored for them;
// the queued ones get their 204 after the commit.
func TestOverload(t *testing.T) {
	bs := &blockingStore{MemoryStore: cspreport.NewMemoryStore(), entered: make(chan struct{}, 10), release: make(chan struct{})}
	rc, _, rec := newReceiver(t, cspreport.Config{Store: bs, QueueSize: 1, FlushReports: 1, RateLimit: cspreport.RateLimit{Disabled: true}})
	type answer struct {
		code  int
		retry string
	}
	answers := make(chan answer, 10)
	send := func() {
		w := post(rc, "/", "application/csp-report", legacyBody)
		answers <- answer{w.Code, w.Header().Get("Retry-After")}
	}
	go send()
	<-bs.entered // the first request's commit is in Save
	for range 5 {
		go send()
	}
	// One of the five fits in the queue; the other four are refused at
	// once, while the writer is still stuck.
	for range 4 {
		select {
		case a := <-answers:
			if a.code != 503 || a.retry == "" {
				t.Fatalf("overloaded: %d, Retry-After %q", a.code, a.retry)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no 503 while the queue is full")
		}
	}
	close(bs.release)
	for range 2 {
		if a := <-answers; a.code != 204 {
			t.Errorf("queued request: %d", a.code)
		}
	}
	if n := total(groups(t, bs)); n != 2 {
		t.Errorf("stored %d, want 2 (the refused ones are not stored)", n)
	}
	if !slices.Contains(rec.Names(), "cspreport.overloaded") {
		t.Error("no overloaded event")
	}
}

// TestStoreError: a failed commit is a 503 with Retry-After, never a 2xx.
func TestStoreError(t *testing.T) {
	fs := newFaultStore()
	fs.fail(errors.New("disk full"))
	log, rec := seclogtest.New(t)
	rc, err := cspreport.New(cspreport.Config{Store: fs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	w := post(rc, "/", "application/csp-report", legacyBody)
	if w.Code != 503 || w.Header().Get("Retry-After") != "30" {
		t.Fatalf("store error: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if !slices.Contains(rec.Names(), "cspreport.store_error") {
		t.Error("no store_error event")
	}
	// Closed while the store fails: an error, so that a program exits
	// with a failure.
	if err := rc.Close(context.Background()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close while the store fails: %v", err)
	}
}

// TestClose: Close commits what is queued; later requests get 503.
func TestClose(t *testing.T) {
	store := cspreport.NewMemoryStore()
	rc, err := cspreport.New(cspreport.Config{Store: store, FlushInterval: 50 * time.Millisecond, Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Go(func() { codes <- post(rc, "/", "application/csp-report", legacyBody).Code })
	}
	time.Sleep(10 * time.Millisecond)
	if err := rc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(codes)
	var ok int64
	for c := range codes {
		switch c {
		case 204:
			ok++
		case 503:
		default:
			t.Errorf("status %d", c)
		}
	}
	if n := total(groups(t, store)); n != ok {
		t.Errorf("%d answered 204 but %d stored", ok, n)
	}
	if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
		t.Errorf("after Close: %d", w.Code)
	}
}

// TestGroupCommit: many concurrent requests are committed in few batches,
// and every 204 is stored, with Linger or without.
func TestGroupCommit(t *testing.T) {
	for _, linger := range []bool{true, false} {
		cs := &countingStore{MemoryStore: cspreport.NewMemoryStore()}
		rc, _, _ := newReceiver(t, cspreport.Config{Store: cs, FlushInterval: 20 * time.Millisecond, Linger: linger, RateLimit: cspreport.RateLimit{Disabled: true}})
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				body := strings.Replace(legacyBody, "x.js", fmt.Sprintf("x%d.js", i%7), 1)
				if w := post(rc, "/", "application/csp-report", body); w.Code != 204 {
					t.Errorf("status %d", w.Code)
				}
			})
		}
		wg.Wait()
		if n := total(groups(t, cs)); n != 200 {
			t.Errorf("linger %v: stored %d, want 200", linger, n)
		}
		cs.mu.Lock()
		if linger && cs.saves >= 100 {
			t.Errorf("%d commits for 200 requests: no grouping", cs.saves)
		}
		t.Logf("linger %v: 200 requests in %d commits", linger, cs.saves)
		cs.mu.Unlock()
	}
}

type countingStore struct {
	*cspreport.MemoryStore
	mu    sync.Mutex
	saves int
}

func (s *countingStore) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	s.mu.Lock()
	s.saves++
	s.mu.Unlock()
	return s.MemoryStore.Save(ctx, b)
}

// TestLogInjection: CR, LF and escapes in report values do not reach the
// log raw.
func TestLogInjection(t *testing.T) {
	rc, _, rec := newReceiver(t, cspreport.Config{})
	body := `{"csp-report":{"document-uri":"https://example.com/","effective-directive":"img-src\n[csp] forged line\u001b[31m","blocked-uri":"https://a.example/\r\nX: y"}}`
	if w := post(rc, "/", "application/csp-report", body); w.Code != 204 {
		t.Fatalf("%d", w.Code)
	}
	for _, e := range rec.Take() {
		for k, v := range e.Fields {
			if s, ok := v.(string); ok && strings.ContainsAny(s, "\r\n\x1b") {
				t.Errorf("%s: field %s = %q holds a control character", e.Name, k, s)
			}
		}
	}
}
