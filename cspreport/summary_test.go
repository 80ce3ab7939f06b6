package cspreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
)

func TestSummary(t *testing.T) {
	store := cspreport.NewMemoryStore()
	now := storetest.T0.Add(time.Minute)
	evil := storetest.Rep(1, 1, storetest.T0)
	evil.BlockedOrigin = `https://x.example"><script>alert(1)</script>`
	evil.Directive = "=cmd|' /C calc'!A0"
	old := storetest.Rep(2, 1, storetest.T0.Add(-72*time.Hour))
	b := storetest.Batch(storetest.T0, evil, evil, old)
	b.Count(storetest.T0, cspreport.KindFiltered, "scheme:moz-extension", 4)
	if _, err := store.Save(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	h, err := cspreport.NewSummary(cspreport.SummaryConfig{Store: store, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		return w
	}
	w := get("/admin/csp-reports")
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("page: %d, CSP %q", w.Code, w.Header().Get("Content-Security-Policy"))
	}
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Error("the blocked origin is not escaped")
	}
	if !strings.Contains(body, ">new</strong>") || !strings.Contains(body, "scheme:moz-extension") {
		t.Errorf("page lacks the new badge or the filtered counts:\n%s", body)
	}
	if strings.Contains(body, old.GroupFP) {
		t.Error("a group last seen 3 days ago is listed in a 24h window")
	}
	if !strings.Contains(get("/admin/csp-reports?since=168h").Body.String(), old.GroupFP) {
		t.Error("?since=168h does not list the old group")
	}
	if get("/x?since=forever").Code != 400 {
		t.Error("bad since accepted")
	}

	var sum cspreport.Summary
	w = get("/x?format=json")
	if err := json.Unmarshal(w.Body.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	var raw map[string][]map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &raw)
	if g := raw["groups"][0]; g["effective_directive"] != evil.Directive || g["disposition"] != "enforce" || g["count"] != 2.0 || g["new"] != true {
		t.Errorf("JSON group %v", g)
	}
	w = get("/x?format=csv")
	if !strings.Contains(w.Body.String(), "'=cmd") || !strings.HasPrefix(w.Body.String(), "fingerprint,effective_directive,disposition") {
		t.Errorf("CSV:\n%s", w.Body)
	}
	w = get("/x?group=" + evil.GroupFP)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "main.js:1:7") {
		t.Errorf("details: %d\n%s", w.Code, w.Body)
	}
	if get("/x?group=../../etc").Code != 400 {
		t.Error("bad group accepted")
	}

	// Mute: same-origin POST only.
	form := url.Values{"mute": {evil.GroupFP}}.Encode()
	r := httptest.NewRequest("POST", "/x", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-site mute: %d", w.Code)
	}
	r = httptest.NewRequest("POST", "/x", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("mute: %d %s", w.Code, w.Body)
	}
	if strings.Contains(get("/x").Body.String(), evil.GroupFP+`">details`) {
		t.Error("muted group still listed")
	}
	if !strings.Contains(get("/x?muted=1").Body.String(), "unmute") {
		t.Error("?muted=1 does not list the muted group with an unmute button")
	}

	var tbl bytes.Buffer
	s, _ := cspreport.LoadSummary(context.Background(), store, cspreport.GroupQuery{Muted: true})
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
	reps = append(reps, storetest.Rep(10, 1, storetest.T0.Add(-cspreport.DefaultWindow-time.Minute)),
		storetest.Rep(11, 1, storetest.T0.Add(-cspreport.DefaultWindow+time.Minute)))
	if _, err := store.Save(context.Background(), storetest.Batch(storetest.T0, reps...)); err != nil {
		t.Fatal(err)
	}
	sum, err := cspreport.LoadSummary(context.Background(), store, cspreport.GroupQuery{Since: storetest.T0.Add(-cspreport.DefaultWindow), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Groups) != 2 || sum.Matched != 6 {
		t.Fatalf("LoadSummary(Limit 2): %d groups of %d, want 2 of 6", len(sum.Groups), sum.Matched)
	}
	var b bytes.Buffer
	if err := sum.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\n2 of 6 groups shown\n") {
		t.Errorf("the table does not say 2 of 6:\n%s", b.String())
	}
	h, err := cspreport.NewSummary(cspreport.SummaryConfig{Store: store, Limit: 3, Now: func() time.Time { return storetest.T0 }})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/admin/csp-reports", nil))
	if body := w.Body.String(); !strings.Contains(body, "3 of 6 groups seen in the last 24h0m0s") {
		t.Errorf("the page does not say 3 of 6 in its default window:\n%s", body)
	}
}
