package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
)

// suggestDB returns a report database filled through a real receiver:
// on each origin, a CDN script twelve clients need and an injected one
// a single client reports.
func suggestDB(t *testing.T, origins ...string) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "reports.db")
	store, err := openReportStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := seclogtest.New(t)
	rc, err := cspreport.New(cspreport.Config{Store: store, Logger: log, RateLimit: cspreport.RateLimit{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(client, ua, doc, blocked string) {
		body := fmt.Sprintf(`{"csp-report":{"document-uri":%q,"effective-directive":"script-src-elem","violated-directive":"script-src-elem",`+
			`"original-policy":"default-src 'self'; script-src 'self'; report-uri /csp-report","disposition":"enforce","blocked-uri":%q}}`, doc, blocked)
		r := httptest.NewRequest(http.MethodPost, "/csp-report", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/csp-report")
		r.Header.Set("User-Agent", ua)
		r.RemoteAddr = client + ":40000"
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("report: %d %s", w.Code, w.Body)
		}
	}
	uas := []string{"Mozilla/5.0 Chrome/131.0.0.0 Safari/537.36", "Mozilla/5.0 (X11; rv:133.0) Gecko/20100101 Firefox/133.0"}
	for _, o := range origins {
		for i := range 12 {
			post(fmt.Sprintf("203.0.%d.7", i), uas[i%2], fmt.Sprintf("%s/p%d", o, i%3), "https://cdn.example.net/lib.js")
		}
		post("198.51.100.23", uas[0], o+"/account", "https://evil.example/x.js")
	}
	if err := rc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return db
}

// suggestOutput runs `bulwark suggest` with args.
func suggestOutput(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"suggest"}, args...), &out, &errb)
	return out.String(), err
}

// TestSuggestJSONContract: the keys and types external checks rely on,
// exactly (docs/cspreport.md, "The policy assistant").
func TestSuggestJSONContract(t *testing.T) {
	db := suggestDB(t, "https://app.example.com")
	out, err := suggestOutput(t, "-db", db, "-since", "168h", "-format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if keys := slices.Sorted(maps.Keys(doc)); !slices.Equal(keys, []string{"policy", "suggestions", "suspicious"}) {
		t.Fatalf("top-level keys %q", keys)
	}
	fields := []string{"browsers", "clients", "directive", "documents", "first_seen", "last_seen", "origin", "source"}
	check := func(name string, want []string) []map[string]any {
		var items []map[string]any
		if err := json.Unmarshal(doc[name], &items); err != nil || len(items) != 1 {
			t.Fatalf("%s: %v %s", name, err, doc[name])
		}
		for _, it := range items {
			if keys := slices.Sorted(maps.Keys(it)); !slices.Equal(keys, want) {
				t.Errorf("%s keys %q, want %q", name, keys, want)
			}
			for _, k := range []string{"first_seen", "last_seen"} {
				if _, err := time.Parse(time.RFC3339, it[k].(string)); err != nil {
					t.Errorf("%s %s: %v", name, k, err)
				}
			}
			for _, k := range []string{"clients", "documents", "browsers"} {
				if _, ok := it[k].(float64); !ok {
					t.Errorf("%s %s = %#v, want a number", name, k, it[k])
				}
			}
		}
		return items
	}
	sugg := check("suggestions", fields)
	susp := check("suspicious", slices.Sorted(slices.Values(append(slices.Clone(fields), "reason"))))
	if s := sugg[0]; s["origin"] != "https://app.example.com" || s["directive"] != "script-src-elem" ||
		s["source"] != "https://cdn.example.net" || s["documents"] != 3.0 || s["browsers"] != 2.0 {
		t.Errorf("suggestion %v", s)
	}
	if s := susp[0]; s["source"] != "https://evil.example" || s["reason"] != "few-clients" {
		t.Errorf("suspicious %v", s)
	}
	var policy string
	if err := json.Unmarshal(doc["policy"], &policy); err != nil ||
		policy != "default-src 'self'; script-src 'self' https://cdn.example.net; report-uri /csp-report" {
		t.Errorf("policy %q (%v)", policy, err)
	}
}

// TestSuggestOrigins: with several origins, -origin chooses one; without
// it the command fails and lists them.
func TestSuggestOrigins(t *testing.T) {
	db := suggestDB(t, "https://a.example", "https://b.example")
	if _, err := suggestOutput(t, "-db", db); err == nil || !strings.Contains(err.Error(), "https://a.example, https://b.example") {
		t.Errorf("no -origin: %v", err)
	}
	out, err := suggestOutput(t, "-db", db, "-origin", "https://b.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Origin https://b.example", "https://cdn.example.net", "few-clients",
		"script-src 'self' https://cdn.example.net", "Latest enforced policy"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "a.example") {
		t.Errorf("text output of b.example shows a.example:\n%s", out)
	}
}

// TestSuggestFlags: each mistake names its flag.
func TestSuggestFlags(t *testing.T) {
	db := suggestDB(t, "https://a.example")
	for _, tt := range []struct{ args []string }{
		{[]string{"-db", db, "-format", "xml"}},
		{[]string{"-db", db, "-since", "-1h"}},
		{[]string{"-db", db, "-min-clients", "0"}},
		{[]string{"-db", db, "-window", "0s"}},
		{[]string{"-db", filepath.Join(t.TempDir(), "none.db")}},
	} {
		if _, err := suggestOutput(t, tt.args...); err == nil || !strings.HasPrefix(err.Error(), "suggest: ") {
			t.Errorf("%q: %v", tt.args, err)
		}
	}
}
