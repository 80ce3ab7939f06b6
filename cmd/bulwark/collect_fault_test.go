package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
)

// runCollector runs `bulwark collect` on a loopback port with its log in
// logs; it returns the server's base URL and a function that stops it
// (as SIGTERM does) and returns run's error and how long the stop took.
func runCollector(t *testing.T, logs io.Writer, args ...string) (string, func() (error, time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"collect", "-addr", "127.0.0.1:0", "-rate-limit", "0"}, args...), pw, logs)
		pw.CloseWithError(fmt.Errorf("collect returned: %v", err))
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("collect did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`http://\S+(/csp-report)`).FindStringSubmatch(line)
	if base == nil {
		cancel()
		t.Fatalf("no URL in %q", line)
	}
	var once sync.Once
	var stopErr error
	var took time.Duration
	stop := func() (error, time.Duration) {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(40 * time.Second):
				stopErr = errors.New("collect did not stop within 40s")
			}
			took = time.Since(start)
		})
		return stopErr, took
	}
	t.Cleanup(func() { stop() })
	return strings.TrimSuffix(base[0], base[1]), stop
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCollectHealthAndShutdown: /health (readiness) and /health/live
// answer 200 while the store writes; a stop returns nil, well within the
// documented bound.
func TestCollectHealthAndShutdown(t *testing.T) {
	var logs lockedBuffer
	base, stop := runCollector(t, &logs, "-db", filepath.Join(t.TempDir(), "reports.db"))
	for _, path := range []string{"/health", "/health/live"} {
		if code, body := get(t, base+path); code != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q", path, code, body)
		}
	}
	resp, err := http.Post(base+"/csp-report", "application/csp-report", strings.NewReader(collectLegacy))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("report: %d", resp.StatusCode)
	}
	err, took := stop()
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, logs.String())
	}
	t.Logf("shutdown took %v", took)
}

// failingStore is a MemoryStore whose Save fails.
type failingStore struct{ *cspreport.MemoryStore }

func (failingStore) Save(context.Context, *cspreport.Batch) ([]string, error) {
	return nil, errors.New("disk full at db.internal:5432")
}

// TestReadiness: /health answers 503 with Retry-After once a commit
// failed (and the probe fails too), without serving the error's text.
func TestReadiness(t *testing.T) {
	rcv, err := cspreport.New(cspreport.Config{Store: failingStore{cspreport.NewMemoryStore()}, Logger: seclog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close(context.Background())
	h := readiness(rcv)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 200 {
		t.Fatalf("before any commit: %d", w.Code)
	}
	r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(collectLegacy))
	r.Header.Set("Content-Type", "application/csp-report")
	rw := httptest.NewRecorder()
	rcv.ServeHTTP(rw, r)
	if rw.Code != 503 {
		t.Fatalf("report on a failing store: %d", rw.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || strings.Contains(w.Body.String(), "db.internal") {
		t.Fatalf("failing store: %d, Retry-After %q, body %q", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
}

// TestCollectHungPostgres: with its PostgreSQL hung (a proxy that stops
// forwarding), the collector answers a report 503 within the commit
// timeout, well before its write deadline; SIGTERM then returns within
// the documented 30s, with the store's error at close logged and
// returned (a non-zero exit).
func TestCollectHungPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the collector's real timeouts: not in -short")
	}
	dsn := sqlstoretest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewFaultProxy(t, u.Host)
	u.Host = proxy.Addr()
	collectHung(t, u.String(), proxy.Pause, proxy.Resume)
}

// TestCollectSIGSTOPPostgres: as TestCollectHungPostgres, with the
// collector's PostgreSQL a cluster of the test's own paused by SIGSTOP of
// all its processes.
func TestCollectSIGSTOPPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the collector's real timeouts: not in -short")
	}
	pg := testenv.PrivatePostgres(t)
	collectHung(t, pg.URL(), pg.Stop, pg.Cont)
}

// collectHung runs bulwark collect on the PostgreSQL of dsn, hangs it
// (pause) after one report, and checks the answer to the next one and a
// SIGTERM; resume lets the server go on at the end.
func collectHung(t *testing.T, dsn string, pause, resume func()) {
	var logs lockedBuffer
	base, stop := runCollector(t, &logs, "-db", dsn, "-retain", "0")
	post := func() (int, time.Duration) {
		start := time.Now()
		resp, err := http.Post(base+"/csp-report", "application/csp-report", strings.NewReader(collectLegacy))
		if err != nil {
			t.Fatalf("report after %v: %v", time.Since(start), err)
		}
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	if code, _ := post(); code != 204 {
		t.Fatalf("before the fault: %d", code)
	}
	pause()
	code, took := post()
	if code != 503 || took > cspreport.DefaultCommitTimeout+2*time.Second || took >= collectWriteTimeout {
		t.Fatalf("hung store: %d after %v", code, took)
	}
	t.Logf("hung store: 503 after %v", took)
	err, took := stop()
	if err == nil || !strings.Contains(err.Error(), "the store fails") {
		t.Errorf("collect on a hung store returned %v", err)
	}
	if took >= 30*time.Second || took > collectDrainTimeout+cspsql.CloseTimeout+3*time.Second {
		t.Errorf("shutdown on a hung store took %v", took)
	}
	out := logs.String()
	if !strings.Contains(out, "collect: closing the") {
		t.Errorf("no log line for the error at close:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("%d log lines:\n%s", n, out)
	}
	t.Logf("shutdown on a hung store: %v; %d log lines", took, strings.Count(out, "\n"))
	resume()
}

// TestCollectSIGTERMDuringFlood: a stop (SIGTERM) while 8 clients send
// distinct reports returns nil within the drain bound; every report
// answered 204 is in the database afterwards, every other answer is a
// 503 with Retry-After or a refused connection, never a 2xx then lost.
func TestCollectSIGTERMDuringFlood(t *testing.T) {
	db := filepath.Join(t.TempDir(), "reports.db")
	var logs lockedBuffer
	base, stop := runCollector(t, &logs, "-db", db)
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	halt := make(chan struct{})
	var sent sync.WaitGroup
	sent.Add(8)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				if i == 20 {
					sent.Done() // enough sent: the stop may come
				}
				select {
				case <-halt:
					if i < 20 {
						sent.Done()
					}
					return
				default:
				}
				host := fmt.Sprintf("w%di%d.evil.example", w, i)
				resp, err := client.Post(base+"/csp-report", "application/csp-report", strings.NewReader(strings.Replace(collectLegacy, "evil.example", host, 1)))
				if err != nil {
					if i < 20 {
						sent.Done()
					}
					return // the collector is gone
				}
				resp.Body.Close()
				switch {
				case resp.StatusCode == 204:
					mu.Lock()
					acked["https://"+host] = true
					mu.Unlock()
				case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
				default:
					t.Errorf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
				}
			}
		})
	}
	sent.Wait()
	err, took := stop()
	close(halt)
	wg.Wait()
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, logs.String())
	}
	if took > collectDrainTimeout+cspsql.CloseTimeout {
		t.Errorf("stop during a flood took %v", took)
	}
	stored := storedBlocked(t, db)
	for h := range acked {
		if !stored[h] {
			t.Errorf("%s answered 204, not stored", h)
		}
	}
	t.Logf("stop during a flood took %v; %d reports answered 204, all stored", took, len(acked))
}

// storedBlocked returns the blocked origins of the groups in the report
// database db, as `bulwark reports --format json` prints them.
func storedBlocked(t *testing.T, db string) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"reports", "-db", db, "--format", "json", "--limit", "1000000"}, &out, io.Discard); err != nil {
		t.Fatalf("reports: %v", err)
	}
	var sum struct {
		Groups []struct {
			Blocked string `json:"blocked_origin"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, g := range sum.Groups {
		stored[g.Blocked] = true
	}
	return stored
}
