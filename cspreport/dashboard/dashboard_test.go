package dashboard_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
)

// save puts a batch into a store: the one place these tests write
// reports.
func save(t testing.TB, s cspreport.Store, b *cspreport.Batch) {
	t.Helper()
	if _, err := s.Save(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// newHandler returns a dashboard of s at now.
func newHandler(t testing.TB, s cspreport.Store, now time.Time) *dashboard.Handler {
	t.Helper()
	h, err := dashboard.New(dashboard.Config{Store: s, Now: func() time.Time { return now }, AppURL: "/admin/", AppName: "Acme admin"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

// post posts form to h as a browser of site (Sec-Fetch-Site) would.
func post(h http.Handler, target, site string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", site)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var groupLinkRE = regexp.MustCompile(`[?;]group=([0-9A-Za-z]+)`)

// listed returns the group keys of the page's groups table, in order.
func listed(t testing.TB, body string) []string {
	t.Helper()
	i, j := strings.Index(body, `<table id="groups">`), strings.Index(body, `<section id="assistant">`)
	if i < 0 || j < i {
		t.Fatalf("no groups table in\n%s", body)
	}
	var out []string
	for _, m := range groupLinkRE.FindAllStringSubmatch(body[i:j], -1) {
		out = append(out, m[1])
	}
	return out
}

func TestDashboard(t *testing.T) {
	store := cspreport.NewMemoryStore()
	now := storetest.T0.Add(time.Minute)
	evil := storetest.Rep(1, 1, storetest.T0)
	evil.BlockedOrigin = `https://x.example"><script>alert(1)</script>`
	evil.Directive = "=cmd|' /C calc'!A0"
	old := storetest.Rep(2, 1, storetest.T0.Add(-72*time.Hour))
	b := storetest.Batch(evil, evil, old)
	b.Count(storetest.T0, cspreport.KindFiltered, "scheme:moz-extension", 4)
	save(t, store, b)
	h := newHandler(t, store, now)

	w := get(h, "/admin/csp-reports")
	body := w.Body.String()
	if w.Code != 200 || w.Header().Get("Content-Security-Policy") != dashboard.CSP {
		t.Fatalf("page: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Error("the blocked origin is not escaped")
	}
	if !strings.Contains(body, `<span class="badge new">new</span>`) || !strings.Contains(body, "scheme:moz-extension") {
		t.Errorf("page lacks the new badge or the filtered counts:\n%s", body)
	}
	if !strings.Contains(body, `<a href="/admin/" id="back-to-app">← Acme admin</a>`) {
		t.Errorf("no way back to the app:\n%s", body)
	}
	if got := listed(t, body); !slices.Equal(got, []string{evil.GroupFP}) {
		t.Errorf("24h window lists %v, want only %s (the other was last seen 3 days ago)", got, evil.GroupFP)
	}
	if got := listed(t, get(h, "/admin/csp-reports?since=168h").Body.String()); !slices.Contains(got, old.GroupFP) {
		t.Error("?since=168h does not list the old group")
	}

	var raw struct{ Groups []map[string]any }
	if err := json.Unmarshal(get(h, "/x?format=json").Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if g := raw.Groups[0]; g["effective_directive"] != evil.Directive || g["disposition"] != "enforce" || g["count"] != 2.0 || g["new"] != true || g["regressed"] != false {
		t.Errorf("JSON group %v", g)
	}
	w = get(h, "/x?format=csv")
	if !strings.Contains(w.Body.String(), "'=cmd") || !strings.HasPrefix(w.Body.String(), "fingerprint,effective_directive,disposition") {
		t.Errorf("CSV:\n%s", w.Body)
	}
	w = get(h, "/x?group="+evil.GroupFP)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "main.js:1:7") || !strings.Contains(w.Body.String(), `<table id="details">`) {
		t.Errorf("details: %d\n%s", w.Code, w.Body)
	}

	// Mute: same-origin POST only.
	form := url.Values{"mute": {evil.GroupFP}}
	if w := post(h, "/x", "cross-site", form); w.Code != http.StatusForbidden {
		t.Fatalf("cross-site mute: %d", w.Code)
	}
	if got := listed(t, get(h, "/x").Body.String()); len(got) != 1 {
		t.Fatalf("a refused mute muted: %v", got)
	}
	if w := post(h, "/x", "same-origin", form); w.Code != http.StatusSeeOther {
		t.Fatalf("mute: %d %s", w.Code, w.Body)
	}
	if got := listed(t, get(h, "/x").Body.String()); len(got) != 0 {
		t.Errorf("muted group still listed: %v", got)
	}
	if body := get(h, "/x?muted=1").Body.String(); !strings.Contains(body, `name="unmute" value="`+evil.GroupFP+`"`) {
		t.Error("?muted=1 does not list the muted group with an unmute button")
	}
	if w := post(h, "/x", "same-origin", url.Values{"unmute": {evil.GroupFP}}); w.Code != http.StatusSeeOther {
		t.Fatalf("unmute: %d", w.Code)
	}
	if got := listed(t, get(h, "/x").Body.String()); len(got) != 1 {
		t.Errorf("unmuted group not listed: %v", got)
	}

	var tbl bytes.Buffer
	s, _ := dashboard.Load(context.Background(), store, cspreport.GroupQuery{Muted: true})
	if err := s.WriteTable(&tbl); err != nil || !strings.Contains(tbl.String(), "DIRECTIVE") || !strings.Contains(tbl.String(), "moz-extension") {
		t.Errorf("table: %v\n%s", err, tbl.String())
	}
}

// TestSummaryMatched: a summary limited to fewer groups than its window
// holds says how many it shows of how many (the table's "N of M groups
// shown", the page's "N of M groups"), and the page's default window is
// DefaultWindow.
func TestSummaryMatched(t *testing.T) {
	store := cspreport.NewMemoryStore()
	var reps []cspreport.Report
	for g := range 5 {
		reps = append(reps, storetest.Rep(g, 1, storetest.T0))
	}
	// Seen just outside the default window, and just inside it.
	reps = append(reps, storetest.Rep(10, 1, storetest.T0.Add(-dashboard.DefaultWindow-time.Minute)),
		storetest.Rep(11, 1, storetest.T0.Add(-dashboard.DefaultWindow+time.Minute)))
	save(t, store, storetest.Batch(reps...))
	sum, err := dashboard.Load(context.Background(), store, cspreport.GroupQuery{Since: storetest.T0.Add(-dashboard.DefaultWindow), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Groups) != 2 || sum.Matched != 6 {
		t.Fatalf("Load(Limit 2): %d groups of %d, want 2 of 6", len(sum.Groups), sum.Matched)
	}
	var b bytes.Buffer
	if err := sum.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\n2 of 6 groups shown\n") {
		t.Errorf("the table does not say 2 of 6:\n%s", b.String())
	}
	h, err := dashboard.New(dashboard.Config{Store: store, Limit: 3, Now: func() time.Time { return storetest.T0 }})
	if err != nil {
		t.Fatal(err)
	}
	if body := get(h, "/admin/csp-reports").Body.String(); !strings.Contains(body, "<strong>3 of 6 groups</strong> seen in the last 24 hours") {
		t.Errorf("the page does not say 3 of 6 in its default window:\n%s", body)
	}
	// An export holds every filtered group, not the page's limit.
	var all dashboard.Summary
	if err := json.Unmarshal(get(h, "/x?format=json").Body.Bytes(), &all); err != nil || len(all.Groups) != 6 || all.Matched != 6 {
		t.Errorf("JSON export: %v, %d groups of %d, want 6 of 6", err, len(all.Groups), all.Matched)
	}
}

// filterStore holds four groups that the filters tell apart.
func filterStore(t *testing.T) (cspreport.Store, [4]cspreport.Report) {
	chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	var rs [4]cspreport.Report
	for i := range rs {
		rs[i] = storetest.Rep(i+1, 1, storetest.T0.Add(-time.Duration(i)*time.Hour))
		rs[i].UserAgent = chrome
	}
	rs[1].Directive, rs[1].UserAgent = "img-src", firefox
	rs[2].Disposition = "report"
	rs[3].DocumentOrigin, rs[3].DocumentURL = "https://shop.example", "https://shop.example/users/1"
	rs[3].OccurredAt = storetest.T0.Add(-30 * time.Hour)
	store := cspreport.NewMemoryStore()
	save(t, store, storetest.Batch(rs[:]...))
	return store, rs
}

// TestFilters: each filter keeps the groups it names, on the page and in
// both exports alike.
func TestFilters(t *testing.T) {
	store, rs := filterStore(t)
	h := newHandler(t, store, storetest.T0.Add(time.Minute))
	fp := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, rs[i].GroupFP)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", fp(0, 1, 2)},
		{"since=48h", fp(0, 1, 2, 3)},
		{"since=90m", fp(0, 1)},
		{"directive=img-src", fp(1)},
		{"directive=script-src-elem&since=48h", fp(0, 2, 3)},
		{"disposition=report", fp(2)},
		{"disposition=enforce", fp(0, 1)},
		{"origin=https%3A%2F%2Fshop.example&since=48h", fp(3)},
		{"origin=https%3A%2F%2Fnone.example", nil},
		{"browser=Firefox", fp(1)},
		{"browser=Chrome&disposition=enforce", fp(0)},
	} {
		body := get(h, "/r?"+tt.query).Body.String()
		// Every group has one report: the store's order is by last seen.
		if got := listed(t, body); !slices.Equal(got, tt.want) {
			t.Errorf("?%s lists %v, want %v", tt.query, got, tt.want)
		}
		var sum dashboard.Summary
		if err := json.Unmarshal(get(h, "/r?format=json&"+tt.query).Body.Bytes(), &sum); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range sum.Groups {
			got = append(got, g.Fingerprint)
		}
		if !slices.Equal(got, tt.want) || sum.Matched != len(tt.want) {
			t.Errorf("?%s JSON export: %v (matched %d), want %v", tt.query, got, sum.Matched, tt.want)
		}
		rows, err := csv.NewReader(get(h, "/r?format=csv&"+tt.query).Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, r := range rows[1:] {
			got = append(got, r[0])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("?%s CSV export: %v, want %v", tt.query, got, tt.want)
		}
		// The page's export links carry the filters.
		if q, _ := url.ParseQuery(tt.query); len(q) > 0 {
			q.Set("format", "csv")
			if !strings.Contains(body, `href="?`+strings.ReplaceAll(q.Encode(), "&", "&amp;")+`" id="export-csv"`) {
				t.Errorf("?%s: the CSV link does not carry the filters", tt.query)
			}
		}
	}
}

// TestBadParameters: a query parameter that is not one the page offers
// gets 400 and says what to write; an unknown group gets 404.
func TestBadParameters(t *testing.T) {
	store, rs := filterStore(t)
	h := newHandler(t, store, storetest.T0)
	for _, tt := range []struct {
		query string
		code  int
		want  string
	}{
		{"since=forever", 400, "since: write a duration"},
		{"since=-1h", 400, "since: write a duration"},
		{"since=30s", 400, "since: write a duration"},
		{"since=10000h", 400, "since: write a duration"},
		{"directive=SCRIPT%3Cx%3E", 400, "directive: write an effective directive"},
		{"disposition=block", 400, "disposition: write enforce, report or unknown"},
		{"origin=https%3A%2F%2Fa.example%0Ab", 400, "origin: write a document origin"},
		{"browser=%3Cscript%3E", 400, "browser: write a browser family"},
		{"muted=maybe", 400, "muted: write 1"},
		{"format=xml", 400, "format: write html, json or csv"},
		{"group=..%2F..%2Fetc", 400, "group: write a group key"},
		{"group=" + rs[0].GroupFP + "&format=csv", 400, "format: a group's details are not one table"},
		{"group=g0000000000000000000000000000099", 404, "no such group"},
		{"asset=app.js", 404, "404 page not found"},
	} {
		w := get(h, "/r?"+tt.query)
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("?%s: %d %q, want %d %q", tt.query, w.Code, w.Body.String(), tt.code, tt.want)
		}
		if w.Header().Get("Content-Security-Policy") != dashboard.CSP {
			t.Errorf("?%s: answered without the dashboard's CSP", tt.query)
		}
	}
	r := httptest.NewRequest("PUT", "/r", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestMute: mute and unmute are same-origin POSTs; the 303 leads back to
// the page that posted, with its filters checked and written again.
func TestMute(t *testing.T) {
	store, rs := filterStore(t)
	h := newHandler(t, store, storetest.T0)
	key := rs[1].GroupFP
	for _, tt := range []struct {
		name     string
		site     string
		form     url.Values
		code     int
		location string
	}{
		{"cross-site", "cross-site", url.Values{"mute": {key}}, 403, ""},
		{"same-site", "same-site", url.Values{"mute": {key}}, 403, ""},
		{"bad key", "same-origin", url.Values{"mute": {"<x>"}}, 400, ""},
		{"no key", "same-origin", url.Values{}, 400, ""},
		{"unknown", "same-origin", url.Values{"mute": {"g0000000000000000000000000000099"}}, 404, ""},
		{"bad filter", "same-origin", url.Values{"mute": {key}, "disposition": {"x"}}, 400, ""},
		{"mute", "same-origin", url.Values{"mute": {key}, "directive": {"img-src"}, "since": {"48h"}}, 303, "?directive=img-src&since=48h"},
		{"unmute from its page", "same-origin", url.Values{"unmute": {key}, "back": {"group"}}, 303, "?group=" + key},
		{"dropped fields", "same-origin", url.Values{"mute": {key}, "next": {"//evil.example"}, "back": {"https://evil.example"}}, 303, "?"},
	} {
		w := post(h, "/r", tt.site, tt.form)
		if w.Code != tt.code || w.Header().Get("Location") != tt.location {
			t.Errorf("%s: %d, Location %q; want %d, %q", tt.name, w.Code, w.Header().Get("Location"), tt.code, tt.location)
		}
	}
	gs, _ := store.Groups(context.Background(), cspreport.GroupQuery{Fingerprint: key, Muted: true})
	if len(gs) != 1 || !gs[0].Muted {
		t.Errorf("after the last mute: %+v", gs)
	}
}

// TestHostileValues: what reports carry is attacker-controlled: markup,
// javascript: URLs, spreadsheet formulas and line separators come out
// inert on the page, in CSV and in JSON.
func TestHostileValues(t *testing.T) {
	store := cspreport.NewMemoryStore()
	r := storetest.Rep(1, 1, storetest.T0)
	r.BlockedOrigin = `javascript:alert(1)`
	r.Blocked = `javascript:alert(document.domain)`
	r.DocumentOrigin, r.DocumentPath = `https://app.example"><img src=x onerror=alert(1)>`, "/\u2028x"
	r.DocumentURL = "javascript:alert(2)//"
	r.SourceFile = "https://app.example/<script>alert(3)</script>.js"
	r.Sample = "</pre><script>alert(4)</script>\u2028\u202e"
	r.UserAgent = "Mozilla/5.0 <svg onload=alert(5)>"
	r.Directive = "=HYPERLINK(\"https://evil.example\")"
	r.Disposition = "@SUM(1+1)"
	b := storetest.Batch(r)
	b.Events = []cspreport.Event{{GroupFP: r.GroupFP, DetailFP: r.DetailFP, ReceivedAt: storetest.T0, Raw: `{"csp-report":{"script-sample":"<script>alert(6)</script>"}}`}}
	save(t, store, b)
	h := newHandler(t, store, storetest.T0)

	for _, target := range []string{"/r", "/r?group=" + r.GroupFP} {
		body := get(h, target).Body.String()
		for _, bad := range []string{"<script", "<img", "<svg onload", `href="javascript:`, "\u2028", "\u202e"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: the page holds %q", target, bad)
			}
		}
		if !strings.Contains(body, "alert(4)") && strings.Contains(target, "group") {
			t.Errorf("%s: the sample is not shown at all", target)
		}
	}
	rows, err := csv.NewReader(get(h, "/r?format=csv").Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if d, disp := rows[1][1], rows[1][2]; !strings.HasPrefix(d, "'=") || !strings.HasPrefix(disp, "'@") {
		t.Errorf("CSV formula cells not defused: %q %q", d, disp)
	}
	for _, target := range []string{"/r?format=json", "/r?group=" + r.GroupFP + "&format=json"} {
		w := get(h, target)
		js := w.Body.String()
		if strings.Contains(js, "\u2028") || strings.Contains(js, "\u202e") || !strings.Contains(js, `\u2028`) {
			t.Errorf("%s: U+2028 and U+202E are not \\u escapes:\n%s", target, js)
		}
		if !json.Valid(w.Body.Bytes()) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: not JSON (%s)", target, w.Header().Get("Content-Type"))
		}
	}
	var sum dashboard.Summary
	_ = json.Unmarshal(get(h, "/r?format=json").Body.Bytes(), &sum)
	if len(sum.Groups) != 1 || sum.Groups[0].DocumentPath != r.DocumentPath {
		t.Errorf("JSON does not decode to the stored values: %+v", sum.Groups)
	}
	var group struct {
		Group   cspreport.Group
		Details []struct {
			Sample string
			Events []cspreport.Event
		}
	}
	_ = json.Unmarshal(get(h, "/r?format=json&group="+r.GroupFP).Body.Bytes(), &group)
	if group.Group.Fingerprint != r.GroupFP || len(group.Details) != 1 || group.Details[0].Sample != r.Sample ||
		len(group.Details[0].Events) != 1 || !strings.Contains(group.Details[0].Events[0].Raw, "alert(6)") {
		t.Errorf("the group's JSON: %+v", group)
	}
}

// TestNewAndRegressed: the package's definitions, on Load and the page:
// new = first seen in the window; regressed = first seen before the
// quiet gap, silent through it, back in the window. New ones come first,
// then regressed ones, whatever their counts.
func TestNewAndRegressed(t *testing.T) {
	store := cspreport.NewMemoryStore()
	now := storetest.T0
	since := now.Add(-24 * time.Hour)
	at := func(g int, ago time.Duration, n int) []cspreport.Report {
		var out []cspreport.Report
		for range n {
			out = append(out, storetest.Rep(g, 1, now.Add(-ago)))
		}
		return out
	}
	var reps []cspreport.Report
	reps = append(reps, at(1, time.Hour, 1)...)                                 // new
	reps = append(reps, at(2, 10*24*time.Hour, 1)...)                           // regressed: 10 days ago …
	reps = append(reps, at(2, 2*time.Hour, 2)...)                               // … and back now
	reps = append(reps, at(3, 10*24*time.Hour, 1)...)                           // steady: 10 days ago,
	reps = append(reps, at(3, 3*24*time.Hour, 1)...)                            // in the gap,
	reps = append(reps, at(3, 3*time.Hour, 9)...)                               // and now, most of all
	reps = append(reps, at(4, 5*24*time.Hour, 1)...)                            // first seen inside the gap:
	reps = append(reps, at(4, 4*time.Hour, 1)...)                               // not regressed
	reps = append(reps, at(5, dashboard.QuietGap+24*time.Hour+time.Hour, 1)...) // first seen just before the gap,
	reps = append(reps, at(5, 5*time.Hour, 1)...)                               // regressed
	save(t, store, storetest.Batch(reps...))

	sum, err := dashboard.Load(context.Background(), store, cspreport.GroupQuery{Since: since})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range sum.Groups {
		mark := "-"
		switch {
		case g.New:
			mark = "new"
		case g.Regressed:
			mark = "regressed"
		}
		got = append(got, fmt.Sprintf("%s:%s", g.Fingerprint[len(g.Fingerprint)-1:], mark))
	}
	want := []string{"1:new", "2:regressed", "5:regressed", "3:-", "4:-"}
	if !slices.Equal(got, want) || sum.NewGroups != 1 || sum.RegressedGroups != 2 {
		t.Errorf("Load: %v (%d new, %d regressed), want %v (1 new, 2 regressed)", got, sum.NewGroups, sum.RegressedGroups, want)
	}
	// All time: nothing is new nor regressed.
	sum, _ = dashboard.Load(context.Background(), store, cspreport.GroupQuery{})
	if sum.NewGroups != 0 || sum.RegressedGroups != 0 {
		t.Errorf("all time: %d new, %d regressed", sum.NewGroups, sum.RegressedGroups)
	}
	h := newHandler(t, store, now)
	body := get(h, "/r").Body.String()
	if !strings.Contains(body, `<span class="badge new">1 new</span>`) || !strings.Contains(body, `<span class="badge regressed">2 regressed</span>`) ||
		strings.Count(body, `<tr class="regressed">`) != 2 {
		t.Errorf("the page does not show 1 new and 2 regressed:\n%s", body)
	}
}

// TestChart: the page draws the window's reports per hour as SVG, one
// colour per directive and disposition, with a legend; an empty window
// says so.
func TestChart(t *testing.T) {
	store, _ := filterStore(t)
	h := newHandler(t, store, storetest.T0.Add(time.Minute))
	body := get(h, "/r").Body.String()
	for _, want := range []string{`<svg viewBox="0 0 1000 180"`, `<rect class="s0"`, `<rect class="s2"`,
		"script-src-elem · enforce, 1 reports</title>", "img-src · enforce", "script-src-elem · report", `<ul class="legend">`} {
		if !strings.Contains(body, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if !strings.Contains(body, `<a href="?directive=img-src&amp;disposition=enforce">img-src · enforce</a>`) {
		t.Error("the legend does not filter by its series")
	}
	if !strings.Contains(body, "seen in the last 24 hours, 3 reports") {
		t.Error("the page does not count the window's reports")
	}
	if n := strings.Count(body, "<rect "); n != 3 {
		t.Errorf("%d bars, want 3 (one per group and hour)", n)
	}
	later := newHandler(t, store, storetest.T0.Add(2*time.Hour))
	if body := get(later, "/r?since=1h").Body.String(); !strings.Contains(body, `<p class="empty">No reports in this window.</p>`) || strings.Contains(body, "<svg") {
		t.Error("an empty window draws a chart")
	}
	// A group's page draws the group's own hours.
	if body := get(h, "/r?since=48h&group="+storetest.Rep(4, 1, storetest.T0).GroupFP).Body.String(); strings.Count(body, "<rect ") != 1 {
		t.Errorf("the group's chart has %d bars, want 1", strings.Count(body, "<rect "))
	}
}

// TestAssistantPanel: the page shows the policy assistant's advice for
// the filtered origin, or for the only origin; with several it asks for
// one.
func TestAssistantPanel(t *testing.T) {
	store := cspreport.NewMemoryStore()
	var reps []cspreport.Report
	for page := range 3 {
		r := storetest.Rep(1, 1, storetest.T0)
		r.GroupFP, r.DetailFP = fmt.Sprintf("cdn%d", page), fmt.Sprintf("cdn%d", page)
		r.BlockedOrigin, r.DocumentPath = "https://cdn.example.net", fmt.Sprintf("/p%d", page)
		reps = append(reps, r)
	}
	one := storetest.Rep(9, 1, storetest.T0)
	one.BlockedOrigin = "https://evil.example"
	save(t, store, storetest.Batch(append(reps, one)...))
	h := newHandler(t, store, storetest.T0.Add(time.Minute))
	body := get(h, "/r").Body.String()
	for _, want := range []string{"Policy assistant for <code>https://app.example</code>", `<table id="suggestions">`,
		"<code>https://cdn.example.net</code>", `<table id="suspicious">`, "<code>https://evil.example</code></td><td>few-clients</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the assistant's panel lacks %q", want)
		}
	}

	other := storetest.Rep(8, 1, storetest.T0)
	other.DocumentOrigin = "https://shop.example"
	save(t, store, storetest.Batch(other))
	body = get(h, "/r").Body.String()
	if !strings.Contains(body, "Choose a document origin") || !strings.Contains(body, `<a href="?origin=https%3A%2F%2Fshop.example">`) || strings.Contains(body, `<table id="suggestions">`) {
		t.Errorf("with two origins, the panel does not ask for one:\n%s", body)
	}
	if body := get(h, "/r?origin=https%3A%2F%2Fapp.example").Body.String(); !strings.Contains(body, "<code>https://cdn.example.net</code>") {
		t.Error("?origin= does not show that origin's advice")
	}
}

// TestStylesheet: the page's one stylesheet is served by the handler,
// named by its hash so that it may be cached.
func TestStylesheet(t *testing.T) {
	h := newHandler(t, cspreport.NewMemoryStore(), storetest.T0)
	body := get(h, "/r").Body.String()
	m := regexp.MustCompile(`<link rel="stylesheet" href="(\?asset=dashboard.css&amp;v=[0-9a-f]{16})">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no stylesheet link in\n%s", body)
	}
	w := get(h, "/r"+strings.ReplaceAll(m[1], "&amp;", "&"))
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(w.Body.String(), ".chart svg") ||
		w.Header().Get("Content-Security-Policy") != dashboard.CSP {
		t.Errorf("stylesheet: %d %q", w.Code, w.Header())
	}
	r := httptest.NewRequest("GET", "/r?asset=dashboard.css", nil)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<style") || strings.Contains(body, "<script") {
		t.Error("the page has inline style or script, which its CSP forbids")
	}
}

// TestConfig: New checks its Config once, and its errors name the field
// and say what to write.
func TestConfig(t *testing.T) {
	store := cspreport.NewMemoryStore()
	for _, tt := range []struct {
		cfg  dashboard.Config
		want string
	}{
		{dashboard.Config{}, "Config.Store is nil: give it the store"},
		{dashboard.Config{Store: store, Window: -time.Hour}, "Config.Window -1h0m0s: write a duration"},
		{dashboard.Config{Store: store, Window: time.Second}, "Config.Window 1s: write a duration"},
		{dashboard.Config{Store: store, Limit: -1}, "Config.Limit -1: write 1 to 1000"},
		{dashboard.Config{Store: store, AppURL: "//evil.example/"}, `Config.AppURL "//evil.example/": write a path`},
		{dashboard.Config{Store: store, AppURL: `/\evil.example/`}, `write a path of this site`},
		{dashboard.Config{Store: store, AppURL: "javascript:alert(1)"}, "write a path of this site such as /admin/"},
		{dashboard.Config{Store: store, AppURL: "admin"}, "write a path of this site"},
		{dashboard.Config{Store: store, AppName: "\xff"}, "Config.AppName: write a short name"},
	} {
		if _, err := dashboard.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	for _, u := range []string{"", "/", "/admin/", "https://app.example.com/admin"} {
		if _, err := dashboard.New(dashboard.Config{Store: store, AppURL: u}); err != nil {
			t.Errorf("AppURL %q: %v", u, err)
		}
	}
}

// TestBrowsers: the page and the CSV export show each group's browser
// families.
func TestBrowsers(t *testing.T) {
	store := cspreport.NewMemoryStore()
	r := storetest.Rep(1, 1, storetest.T0)
	r.UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	save(t, store, storetest.Batch(r))
	h := newHandler(t, store, storetest.T0)
	for _, target := range []string{"/", "/?format=csv", "/?group=" + r.GroupFP} {
		if !strings.Contains(get(h, target).Body.String(), "Firefox 1") {
			t.Errorf("%s: no browser counts", target)
		}
	}
}
