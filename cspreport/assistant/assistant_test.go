package assistant_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/assistant"
	"github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/sqldb"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const (
	app      = "https://app.example.com"
	chrome   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefox  = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	enforced = "default-src 'self'; script-src 'self' 'report-sample'; img-src 'self'; report-uri /csp-report"
)

// site posts reports through a real receiver into a store, on a test
// clock.
type site struct {
	t     *testing.T
	store cspreport.Store
	clock *testenv.Clock
	rc    *cspreport.Receiver
}

// newSite returns a receiver (raw events kept: the memory store reads the
// policy from them) on store.
func newSite(t *testing.T, store cspreport.Store, filters cspreport.Filters) *site {
	t.Helper()
	clock := testenv.NewClock(t0.Add(-30 * 24 * time.Hour))
	log, _ := seclogtest.New(t)
	rc, err := cspreport.New(cspreport.Config{Store: store, Logger: log, Now: clock.Now, RawEvents: 5,
		Filters: filters, RateLimit: cspreport.RateLimit{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rc.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &site{t: t, store: store, clock: clock, rc: rc}
}

// violation is one legacy report.
type violation struct {
	at                   time.Time
	client, ua           string // client: an IPv4 address
	doc, directive       string
	blocked, sample, src string
	policy               string
	reportOnly           bool
}

// post sends v as a browser would, from v.client.
func (s *site) post(v violation) {
	s.t.Helper()
	s.clock.Set(v.at)
	disp := "enforce"
	if v.reportOnly {
		disp = "report"
	}
	body, _ := json.Marshal(map[string]any{"csp-report": map[string]any{
		"document-uri": v.doc, "violated-directive": v.directive, "effective-directive": v.directive,
		"original-policy": v.policy, "disposition": disp, "blocked-uri": v.blocked, "status-code": 200,
		"script-sample": v.sample, "source-file": v.src,
	}})
	r := httptest.NewRequest(http.MethodPost, app+"/csp-report", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/csp-report")
	r.Header.Set("User-Agent", v.ua)
	r.RemoteAddr = v.client + ":40000"
	w := httptest.NewRecorder()
	s.rc.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		s.t.Fatalf("report %+v: %d %s", v, w.Code, w.Body)
	}
}

// many posts v from n clients (distinct /24s), on pages /p0 … and
// alternating Chrome and Firefox, an hour apart, ending at v.at.
func (s *site) many(n, pages int, v violation) {
	s.t.Helper()
	end := v.at
	for i := range n {
		v.client = fmt.Sprintf("203.0.%d.7", i)
		v.ua = []string{chrome, firefox}[i%2]
		v.doc = fmt.Sprintf("%s/p%d", app, i%pages)
		v.at = end.Add(time.Duration(i-n+1) * time.Hour)
		s.post(v)
	}
}

// stores are the stores every scenario runs on: the memory store and the
// SQL store on SQLite and PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, store cspreport.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, cspreport.NewMemoryStore()) })
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		s, err := sqlstore.New(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

// suggest runs the assistant on the site's store at t0.
func suggest(t *testing.T, store cspreport.Store, cfg assistant.Config) *assistant.Origin {
	t.Helper()
	cfg.Store = store
	cfg.Now = func() time.Time { return t0 }
	a, err := assistant.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Suggest(context.Background(), assistant.Query{Since: t0.Add(-assistant.DefaultWindow)})
	if err != nil {
		t.Fatal(err)
	}
	o, err := res.Find(app)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// find returns the finding of directive and source, or nil.
func find(fs []assistant.Finding, directive, source string) *assistant.Finding {
	i := slices.IndexFunc(fs, func(f assistant.Finding) bool { return f.Directive == directive && f.Source == source })
	if i < 0 {
		return nil
	}
	return &fs[i]
}

// TestSuggest: realistic traffic, saved through the receiver into each
// store, sorted into what the site needs and what is injection or noise.
func TestSuggest(t *testing.T) {
	sha := string(csp.SHA256([]byte("initMenu()")))
	type want struct {
		directive, source, reason string // reason "": a suggestion
		documents, browsers       int
	}
	tests := []struct {
		name    string
		filters cspreport.Filters
		traffic func(s *site)
		want    []want
		policy  []string // in the merged policy
		absent  []string // not in it
	}{{
		name: "cdn needed by many clients",
		traffic: func(s *site) {
			s.many(12, 3, violation{at: t0.Add(-time.Hour), directive: "script-src-elem",
				blocked: "https://cdn.example.net/lib/v2/app.js?x=1", src: app + "/main.js", policy: enforced})
		},
		want:   []want{{"script-src-elem", "https://cdn.example.net", "", 3, 2}},
		policy: []string{"script-src 'self' 'report-sample' https://cdn.example.net", "img-src 'self';"},
		absent: []string{"/lib/"},
	}, {
		name: "one-client injection",
		traffic: func(s *site) {
			s.many(12, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://img.example.org/a.png", policy: enforced})
			for i := range 6 { // one client, reloading one page
				s.post(violation{at: t0.Add(-time.Duration(i) * time.Minute), client: "198.51.100.23", ua: chrome,
					doc: app + "/account", directive: "script-src-elem", blocked: "https://evil.example/x.js", policy: enforced})
			}
		},
		want: []want{
			{"img-src", "https://img.example.org", "", 3, 2},
			{"script-src-elem", "https://evil.example", assistant.ReasonFewClients, 1, 1},
		},
		policy: []string{"img-src 'self' https://img.example.org"},
		absent: []string{"evil.example"},
	}, {
		name:    "extension noise the collector did not filter",
		filters: cspreport.Filters{NoDefaults: true},
		traffic: func(s *site) {
			s.many(20, 4, violation{at: t0.Add(-time.Hour), directive: "font-src", blocked: "chrome-extension", policy: enforced})
			s.many(20, 4, violation{at: t0.Add(-time.Hour), directive: "script-src-elem", blocked: "inline",
				src: "moz-extension://1234-abcd/content.js", policy: enforced})
		},
		want: []want{
			{"font-src", "chrome-extension:", assistant.ReasonExtension, 4, 2},
			{"script-src-elem", "'unsafe-inline'", assistant.ReasonExtension, 4, 2},
		},
		absent: []string{"extension", "unsafe-inline"},
	}, {
		name: "muted by the operator",
		traffic: func(s *site) {
			s.many(12, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://tracker.example/p.gif", policy: enforced})
			gs, err := s.store.Groups(context.Background(), cspreport.GroupQuery{})
			if err != nil {
				s.t.Fatal(err)
			}
			for _, g := range gs {
				if err := s.store.Mute(context.Background(), g.Fingerprint, true); err != nil {
					s.t.Fatal(err)
				}
			}
		},
		want:   []want{{"img-src", "https://tracker.example", assistant.ReasonMuted, 3, 2}},
		absent: []string{"tracker"},
	}, {
		name: "inline with and without a sample",
		traffic: func(s *site) {
			s.many(10, 2, violation{at: t0.Add(-time.Hour), directive: "script-src-elem", blocked: "inline",
				sample: "initMenu()", src: app + "/p0", policy: enforced})
			s.many(10, 2, violation{at: t0.Add(-time.Hour), directive: "style-src-elem", blocked: "inline", policy: enforced})
			s.many(10, 2, violation{at: t0.Add(-time.Hour), directive: "script-src-attr", blocked: "inline",
				sample: "onclick=go()", policy: enforced})
			s.many(10, 2, violation{at: t0.Add(-time.Hour), directive: "script-src", blocked: "eval",
				sample: "eval(x)", policy: enforced})
		},
		want: []want{
			{"script-src-elem", sha, "", 2, 2},
			{"style-src-elem", "'unsafe-inline'", assistant.ReasonInlineNoSample, 2, 2},
			{"script-src-attr", "'unsafe-inline'", assistant.ReasonInlineAttribute, 2, 2},
			{"script-src", "'unsafe-eval'", assistant.ReasonEval, 2, 2},
		},
		policy: []string{"script-src 'self' 'report-sample' " + sha},
		absent: []string{"unsafe"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, func(t *testing.T, store cspreport.Store) {
				s := newSite(t, store, tt.filters)
				tt.traffic(s)
				o := suggest(t, store, assistant.Config{})
				for _, w := range tt.want {
					list := o.Suggestions
					if w.reason != "" {
						list = o.Suspicious
					}
					f := find(list, w.directive, w.source)
					if f == nil || f.Reason != w.reason || f.Documents != w.documents || f.Browsers != w.browsers ||
						f.FirstSeen.IsZero() || f.LastSeen.Before(f.FirstSeen) || f.Origin != app {
						t.Errorf("want %+v; got %+v\nsuggestions %+v\nsuspicious %+v", w, f, o.Suggestions, o.Suspicious)
					}
				}
				if len(o.Suggestions)+len(o.Suspicious) != len(tt.want) {
					t.Errorf("%d findings, want %d: %+v %+v", len(o.Suggestions)+len(o.Suspicious), len(tt.want), o.Suggestions, o.Suspicious)
				}
				if o.Policy != enforced || o.ReportOnly || o.Readiness != nil {
					t.Errorf("policy %q report-only %v readiness %+v", o.Policy, o.ReportOnly, o.Readiness)
				}
				if _, err := csp.Parse(o.Merged); err != nil {
					t.Errorf("merged policy %q: %v", o.Merged, err)
				}
				for _, p := range tt.policy {
					if !strings.Contains(o.Merged, p) {
						t.Errorf("merged policy %q lacks %q", o.Merged, p)
					}
				}
				for _, p := range tt.absent {
					if strings.Contains(o.Merged, p) {
						t.Errorf("merged policy %q holds %q", o.Merged, p)
					}
				}
			})
		})
	}
}

// TestSuggestFilteredNoise: with the default filters, extension reports
// never reach the store; the assistant reports their count, and no
// finding.
func TestSuggestFilteredNoise(t *testing.T) {
	store := cspreport.NewMemoryStore()
	s := newSite(t, store, cspreport.Filters{})
	s.many(12, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://img.example.org/a.png", policy: enforced})
	s.many(8, 2, violation{at: t0.Add(-time.Hour), directive: "font-src", blocked: "moz-extension", policy: enforced})
	a, err := assistant.New(assistant.Config{Store: store, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Suggest(context.Background(), assistant.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var filtered int64
	for _, c := range res.Filtered {
		filtered += c.Count
	}
	o, err := res.Find("")
	if err != nil {
		t.Fatal(err)
	}
	if filtered != 8 || len(o.Suspicious) != 0 || len(o.Suggestions) != 1 {
		t.Errorf("filtered %d (%+v), suspicious %+v, suggestions %+v", filtered, res.Filtered, o.Suspicious, o.Suggestions)
	}
}

// TestReadiness: a report-only rollout is ready when real clients have
// reported nothing the policy does not allow for the window; noise and
// violations the policy now allows do not block.
func TestReadiness(t *testing.T) {
	const (
		ro1 = "default-src 'self'; img-src 'self'; report-uri /csp-report"
		ro2 = "default-src 'self'; img-src 'self' https://img.example.org; report-uri /csp-report"
	)
	tests := []struct {
		name     string
		traffic  func(s *site)
		ready    bool
		blockers []string
		policy   string
	}{{
		name: "ready",
		traffic: func(s *site) {
			// The images real users needed under the first policy, then
			// the second policy allows them; only an injection since.
			s.many(12, 3, violation{at: t0.Add(-10 * 24 * time.Hour), directive: "img-src",
				blocked: "https://img.example.org/a.png", policy: ro1, reportOnly: true})
			for _, at := range []time.Time{t0.Add(-9 * 24 * time.Hour), t0.Add(-time.Hour)} {
				s.post(violation{at: at, client: "198.51.100.23", ua: chrome, doc: app + "/account",
					directive: "script-src-elem", blocked: "https://evil.example/x.js", policy: ro2, reportOnly: true})
			}
		},
		ready:  true,
		policy: ro2,
	}, {
		name: "a needed source blocks",
		traffic: func(s *site) {
			s.many(12, 3, violation{at: t0.Add(-20 * 24 * time.Hour), directive: "img-src",
				blocked: "https://img.example.org/a.png", policy: ro1, reportOnly: true})
			s.many(12, 3, violation{at: t0.Add(-2 * time.Hour), directive: "connect-src",
				blocked: "https://api.example.net/v1", policy: ro1, reportOnly: true})
		},
		blockers: []string{"connect-src https://api.example.net"},
		policy:   ro1,
	}, {
		name: "too new",
		traffic: func(s *site) {
			s.post(violation{at: t0.Add(-2 * 24 * time.Hour), client: "198.51.100.23", ua: chrome, doc: app + "/",
				directive: "script-src-elem", blocked: "https://evil.example/x.js", policy: ro2, reportOnly: true})
		},
		blockers: []string{"first reported 48h0m0s ago"},
		policy:   ro2,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stores(t, func(t *testing.T, store cspreport.Store) {
				s := newSite(t, store, cspreport.Filters{})
				tt.traffic(s)
				o := suggest(t, store, assistant.Config{})
				r := o.Readiness
				if !o.ReportOnly || r == nil || o.Policy != tt.policy {
					t.Fatalf("report-only %v, readiness %+v, policy %q", o.ReportOnly, r, o.Policy)
				}
				if r.Ready != tt.ready || len(r.Blockers) != len(tt.blockers) {
					t.Fatalf("ready %v, blockers %q; want %v, %q", r.Ready, r.Blockers, tt.ready, tt.blockers)
				}
				for i, b := range tt.blockers {
					if !strings.Contains(r.Blockers[i], b) {
						t.Errorf("blocker %q, want it to hold %q", r.Blockers[i], b)
					}
				}
			})
		})
	}
}

// TestSuggestCountsClients: a source reported on many pages in two browsers by one network is
// still one client, and held back.
func TestSuggestCountsClients(t *testing.T) {
	store := cspreport.NewMemoryStore()
	s := newSite(t, store, cspreport.Filters{})
	s.many(12, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://img.example.org/a.png", policy: enforced})
	for i := range 6 {
		s.post(violation{at: t0.Add(-time.Duration(i) * time.Minute), client: fmt.Sprintf("198.51.100.%d", i),
			ua: []string{chrome, firefox}[i%2], doc: fmt.Sprintf("%s/p%d", app, i), directive: "script-src-elem",
			blocked: "https://evil.example/x.js", policy: enforced})
	}
	o := suggest(t, store, assistant.Config{})
	if f := find(o.Suggestions, "img-src", "https://img.example.org"); f == nil || f.Clients != 12 {
		t.Errorf("img.example.org: %+v", f)
	}
	if f := find(o.Suspicious, "script-src-elem", "https://evil.example"); f == nil || f.Clients != 1 || f.Documents != 6 ||
		f.Reason != assistant.ReasonFewClients {
		t.Errorf("evil.example: %+v", f)
	}
}

// TestWildcard: many hosts of one domain become one wildcard source;
// fewer stay host-sources.
func TestWildcard(t *testing.T) {
	store := cspreport.NewMemoryStore()
	s := newSite(t, store, cspreport.Filters{})
	for _, h := range []string{"a", "b", "c", "d", "e"} {
		s.many(6, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://" + h + ".tiles.example.net/1.png", policy: enforced})
	}
	for _, h := range []string{"x", "y"} {
		s.many(6, 3, violation{at: t0.Add(-time.Hour), directive: "img-src", blocked: "https://" + h + ".pics.example.org/1.png", policy: enforced})
	}
	o := suggest(t, store, assistant.Config{})
	var got []string
	for _, f := range o.Suggestions {
		got = append(got, f.Source)
	}
	want := []string{"https://*.tiles.example.net", "https://x.pics.example.org", "https://y.pics.example.org"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sources %q, want %q", got, want)
	}
	if !strings.Contains(o.Merged, "img-src 'self' ") || !strings.Contains(o.Merged, "https://*.tiles.example.net") {
		t.Errorf("merged %q", o.Merged)
	}
}

// TestNewChecksConfig: each mistake names its field.
func TestNewChecksConfig(t *testing.T) {
	store := cspreport.NewMemoryStore()
	for _, tt := range []struct {
		cfg   assistant.Config
		field string
	}{
		{assistant.Config{}, "Store"},
		{assistant.Config{Store: store, MinClients: -1}, "MinClients"},
		{assistant.Config{Store: store, Window: -time.Hour}, "Window"},
		{assistant.Config{Store: store, WildcardHosts: 1}, "WildcardHosts"},
	} {
		if _, err := assistant.New(tt.cfg); err == nil || !strings.Contains(err.Error(), "Config."+tt.field) {
			t.Errorf("New(%+v) = %v, want an error naming %s", tt.cfg, err, tt.field)
		}
	}
}

// TestFindOrigins: several origins and none chosen is an error that
// lists them.
func TestFindOrigins(t *testing.T) {
	res := &assistant.Result{Origins: []assistant.Origin{{Origin: "https://a.example"}, {Origin: "https://b.example"}}}
	if _, err := res.Find(""); err == nil || !strings.Contains(err.Error(), "https://a.example, https://b.example") {
		t.Errorf("Find(\"\") = %v", err)
	}
	if o, err := res.Find("https://b.example"); err != nil || o.Origin != "https://b.example" {
		t.Errorf("Find(b) = %v, %v", o, err)
	}
}

// TestCorpus: the shared corpus of real browsers' reports, each from one
// client, stored unfiltered: every finding is held back (one client is
// never enough), each for the reason its file shows.
func TestCorpus(t *testing.T) {
	dir := testenv.Testdata(t, "csp-reports")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus %s: %v", dir, err)
	}
	store := cspreport.NewMemoryStore()
	s := newSite(t, store, cspreport.Filters{NoDefaults: true})
	s.clock.Set(t0.Add(-time.Hour))
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ct := "application/csp-report"
		if strings.Contains(f, "report-to") && !strings.Contains(f, "single-object") {
			ct = "application/reports+json"
		}
		r := httptest.NewRequest(http.MethodPost, "https://collector.example/csp-report", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", ct)
		r.Header.Set("User-Agent", chrome)
		r.RemoteAddr = fmt.Sprintf("203.0.%d.7:40000", i)
		w := httptest.NewRecorder()
		s.rc.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("%s: %d %s", filepath.Base(f), w.Code, w.Body)
		}
	}
	a, err := assistant.New(assistant.Config{Store: store, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Suggest(context.Background(), assistant.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range res.Origins {
		if len(o.Suggestions) > 0 {
			t.Errorf("%s: suggestions %+v", o.Origin, o.Suggestions)
		}
		for _, f := range o.Suspicious {
			got[f.Origin+" "+f.Directive+" "+f.Source] = f.Reason
		}
	}
	want := map[string]string{
		"https://integrations.miro.com script-src-elem 'unsafe-inline'":              assistant.ReasonInlineNoSample,
		"https://integrations.miro.com script-src-elem https://static.miro-apps.com": assistant.ReasonFewClients,
		"https://integrations.miro.com script-src-elem https://miro.com":             assistant.ReasonFewClients,
		"https://resume.natwelch.com font-src data:":                                 assistant.ReasonFewClients,
		"https://www.example.com script-src http://loadingpaqes.info":                assistant.ReasonFewClients,
		"https://www.example.com img-src ms-browser-extension:":                      assistant.ReasonExtension,
		"https://www.example.com script-src-elem 'unsafe-inline'":                    assistant.ReasonInlineNoSample,
		"https://sentry.io script-src http://baddomain.com":                          assistant.ReasonFewClients,
		"https://van11y.net font-src chrome-extension:":                              assistant.ReasonExtension,
		"https://van11y.net base-uri moz-extension:":                                 assistant.ReasonExtension,
		"https://van11y.net script-src 'unsafe-eval'":                                assistant.ReasonEval,
		"http://example.com img-src data:":                                           assistant.ReasonFewClients,
		"http://127.0.0.1:8889 style-src-attr 'unsafe-inline'":                       assistant.ReasonInlineAttribute,
		"about font-src https://github.com":                                          assistant.ReasonBrowserInternal,
		"https://www.estcequonmetenprodaujourdhui.info style-src empty":              assistant.ReasonNotASource,
	}
	for k, reason := range want {
		if got[k] != reason {
			t.Errorf("%s: reason %q, want %q", k, got[k], reason)
		}
	}
	for k, reason := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s (%s)", k, reason)
		}
	}
}
