package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// startCollector runs `bulwark collect` on a free loopback port and returns
// the report URL and a function that stops it (as SIGTERM would) and
// returns its error.
func startCollector(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	line, stop := startCollectorLine(t, args...)
	m := regexp.MustCompile(`http://\S+/csp-report`).FindString(line)
	if m == "" {
		stop()
		t.Fatalf("no URL in %q", line)
	}
	return m, stop
}

// startCollectorLine runs `bulwark collect` as startCollector does and
// returns the line it printed when it started listening.
func startCollectorLine(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"collect", "-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("collect returned: %v", err))
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("collect did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("collect did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return line, stop
}

const collectLegacy = `{"csp-report":{"document-uri":"https://shop.example/cart?session=abc","referrer":"","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'; report-uri /csp-report","disposition":"enforce","blocked-uri":"https://evil.example/x.js","status-code":200}}`

const collectBatch = `[{"age":10,"type":"csp-violation","url":"https://shop.example/","user_agent":"UA","body":{"documentURL":"https://shop.example/","effectiveDirective":"img-src","blockedURL":"https://img.example/a.png","disposition":"report","originalPolicy":"img-src 'self'","statusCode":200}},{"age":1,"type":"deprecation","url":"https://shop.example/","body":{"id":"x"}}]`

// TestCollectAndReports: the collector stores what it answered 204 for,
// flushes on shutdown, and `bulwark reports` prints it as a table, JSON
// (with effective_directive and disposition) and CSV.
func TestCollectAndReports(t *testing.T) {
	db := filepath.Join(t.TempDir(), "reports.db")
	url, stop := startCollector(t, "-db", db, "-rate-limit", "0", "-keep-other", "-raw-events", "1")
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			body, ctype := collectLegacy, "application/csp-report"
			if i%2 == 1 {
				body, ctype = collectBatch, "application/reports+json"
			}
			resp, err := http.Post(url+"?v=7", ctype, strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 204 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	resp, err := http.Post(url, "text/plain", strings.NewReader(collectLegacy))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("text/plain: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("collect: %v", err)
	}

	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"reports", "-db", db, "--format", "json"}, &out, &errb); err != nil {
		t.Fatalf("reports: %v %s", err, errb.String())
	}
	var sum struct {
		Groups []struct {
			Directive   string `json:"effective_directive"`
			Disposition string `json:"disposition"`
			Total       int    `json:"total"`
			Document    string `json:"document_path"`
		} `json:"groups"`
		Counters []struct {
			Kind, Name string
			Count      int
		} `json:"counters"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	got := map[string]int{}
	for _, g := range sum.Groups {
		got[g.Directive+"/"+g.Disposition] = g.Total
	}
	if got["script-src-elem/enforce"] != 20 || got["img-src/report"] != 20 || len(got) != 2 {
		t.Errorf("groups %v, want 20 enforce script-src-elem and 20 report-only img-src", got)
	}
	if len(sum.Counters) != 1 || sum.Counters[0].Name != "deprecation" || sum.Counters[0].Count != 20 {
		t.Errorf("counters %+v", sum.Counters)
	}
	for _, args := range [][]string{{"--format", "csv"}, {}, {"--since", "1h"}} {
		out.Reset()
		if err := run(context.Background(), append([]string{"reports", "-db", db}, args...), &out, &errb); err != nil {
			t.Fatalf("reports %v: %v", args, err)
		}
		if !strings.Contains(out.String(), "script-src-elem") {
			t.Errorf("reports %v:\n%s", args, out.String())
		}
	}
	// -keep-other and -raw-events: the 20 deprecation reports apart, one
	// raw event per detail key.
	store, err := openReportStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if os, err := store.Others(context.Background(), time.Time{}, 100); err != nil || len(os) != 20 || os[0].Type != "deprecation" {
		t.Errorf("other reports: %d, %v", len(os), err)
	}
	gs, err := store.Groups(context.Background(), cspreport.GroupQuery{})
	if err != nil || len(gs) == 0 {
		t.Fatalf("groups %v %v", gs, err)
	}
	ds, err := store.Details(context.Background(), gs[0].Fingerprint, 0)
	if err != nil || len(ds) == 0 {
		t.Fatalf("details %v %v", ds, err)
	}
	if es, err := store.Events(context.Background(), ds[0].Fingerprint, 0); err != nil || len(es) != 1 {
		t.Errorf("raw events of one detail key: %d, %v (want 1)", len(es), err)
	}
	for _, args := range [][]string{{"--format", "xml"}, {"--since", "yesterday"}, {"-db", filepath.Join(t.TempDir(), "none.db")}} {
		if err := run(context.Background(), append([]string{"reports", "-db", db}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("reports %v: no error", args)
		}
	}
}

// TestCollectRateLimit: the collector limits by default.
func TestCollectRateLimit(t *testing.T) {
	url, _ := startCollector(t, "-db", filepath.Join(t.TempDir(), "r.db"), "-rate-limit", "1", "-burst", "2")
	codes := map[int]int{}
	for range 4 {
		resp, err := http.Post(url, "application/csp-report", strings.NewReader(collectLegacy))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[204] != 2 || codes[429] != 2 {
		t.Errorf("codes %v, want two 204 and two 429", codes)
	}
}

// TestDemoCSPReports: the demo receives reports at /csp-report without a
// session (no cookie is set), and shows them on /admin/csp-reports to
// staff only.
func TestDemoCSPReports(t *testing.T) {
	base, _ := startDemo(t)
	resp, err := http.Post(base+"csp-report", "application/csp-report", strings.NewReader(collectLegacy))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || len(resp.Cookies()) != 0 {
		t.Fatalf("report: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	anon := newClient(t, base)
	if r, _ := anon.do("GET", "/admin/csp-reports", nil, nil); r.StatusCode == 200 {
		t.Fatal("the summary is public")
	}
	alice := newClient(t, base)
	alice.login("alice", "alice-password", "/")
	if r, _ := alice.do("GET", "/admin/csp-reports", nil, nil); r.StatusCode == 200 {
		t.Fatal("the summary is open to a non-staff user")
	}
	admin := newClient(t, base)
	admin.login("admin", "admin-password", "/")
	r, body := admin.do("GET", "/admin/csp-reports?format=json", nil, nil)
	if r.StatusCode != 200 || !strings.Contains(body, `"effective_directive": "script-src-elem"`) {
		t.Fatalf("summary: %d\n%s", r.StatusCode, body)
	}
}

// TestCollectKill9: the collector is killed with SIGKILL in the middle of
// a load; every report that got a 204 is in the database afterwards.
func TestCollectKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a collector: not in -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bulwark")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "reports.db")
	cmd := exec.Command(bin, "collect", "-addr", "127.0.0.1:0", "-db", db, "-rate-limit", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url := regexp.MustCompile(`http://\S+/csp-report`).FindString(line)
	go io.Copy(io.Discard, stdout)

	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				host := fmt.Sprintf("w%di%d.evil.example", w, i)
				body := strings.Replace(collectLegacy, "evil.example", host, 1)
				resp, err := client.Post(url, "application/csp-report", strings.NewReader(body))
				if err != nil {
					return // the collector is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 204 {
					mu.Lock()
					acked["https://"+host] = true
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	close(stop)
	wg.Wait()

	stored := storedBlocked(t, db)
	missing := 0
	for h := range acked {
		if !stored[h] {
			missing++
		}
	}
	if len(acked) == 0 || missing > 0 {
		t.Fatalf("%d reports answered 204 before the kill, %d of them not in the database", len(acked), missing)
	}
	t.Logf("%d reports answered 204 before SIGKILL, all stored (%d groups in the database)", len(acked), len(stored))
}

// TestIsPostgresURL: the one rule by which every command's -db names
// PostgreSQL rather than an SQLite file.
func TestIsPostgresURL(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://h/db": true, "POSTGRES://h/db": true,
		"reports.db": false, "sqlite:postgres.db": false, "file:x.db": false, "postgres:x": false,
	} {
		if got := isPostgresURL(dsn); got != want {
			t.Errorf("isPostgresURL(%q) = %v, want %v", dsn, got, want)
		}
	}
}
