package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
)

// faultBound is the receiver's CommitTimeout in the fault tests (a
// commit on PostgreSQL is some ten round trips through the proxy, under
// -race on a loaded machine), and faultSlack what such a machine may add
// to it.
const (
	faultBound = time.Second
	faultSlack = 2 * time.Second
)

// faultRun drives a receiver on store through a fault: reports while
// the store works, while it fails (fail) and after it recovers (recover).
// Every request must be answered 204, or 503 with Retry-After, within
// faultBound+faultSlack; /health (Receiver.Check) must turn 503 during the
// fault and 200 after it; every report answered 204 must be in the store
// afterwards (read through check, a store on the same database opened
// without the fault); the log stays within a few lines.
func faultRun(t *testing.T, store cspreport.Store, fail, recover func(), check func() cspreport.Store) {
	log, rec := seclogtest.NewConfig(t, seclog.Config{Sampling: seclog.Sampling{Interval: time.Second, First: 5, Thereafter: 1000}})
	rc, err := cspreport.New(cspreport.Config{Store: store, Logger: log, CommitTimeout: faultBound, RateLimit: cspreport.RateLimit{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/csp-report", rc)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if rc.Check(r.Context()) != nil {
			w.WriteHeader(503)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second}

	var mu sync.Mutex
	acked := map[string]bool{}
	var seq atomic.Int64
	// What the test logs of the fault: when it began, the first 503's
	// answer (from the fault's start) and the slowest answer.
	var failedAt, first503 time.Time
	var slowest time.Duration
	send := func() int {
		host := fmt.Sprintf("h%d.evil.example", seq.Add(1))
		body := strings.Replace(faultLegacy, "evil.example", host, 1)
		start := time.Now()
		resp, err := client.Post(srv.URL+"/csp-report", "application/csp-report", strings.NewReader(body))
		took := time.Since(start)
		if err != nil {
			t.Errorf("request %s: %v after %v", host, err, took)
			return 0
		}
		resp.Body.Close()
		if took > faultBound+faultSlack {
			t.Errorf("request %s answered %d after %v, bound %v", host, resp.StatusCode, took, faultBound)
		}
		mu.Lock()
		slowest = max(slowest, took)
		if resp.StatusCode == 503 && first503.IsZero() {
			first503 = time.Now()
		}
		mu.Unlock()
		switch resp.StatusCode {
		case 204:
			mu.Lock()
			acked["https://"+host] = true
			mu.Unlock()
		case 503:
			if resp.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		default:
			t.Errorf("status %d", resp.StatusCode)
		}
		return resp.StatusCode
	}
	health := func() int {
		resp, err := client.Get(srv.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitHealth sends reports (4 at a time) until /health answers want,
	// for at most 15s.
	waitHealth := func(want int) {
		for deadline := time.Now().Add(15 * time.Second); health() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("/health never answered %d", want)
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { send() })
			}
			wg.Wait()
		}
	}

	for range 10 {
		if code := send(); code != 204 {
			t.Fatalf("before the fault: %d", code)
		}
	}
	mu.Lock()
	failedAt = time.Now()
	mu.Unlock()
	fail()
	waitHealth(503)
	unready := time.Since(failedAt)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				send()
			}
		})
	}
	wg.Wait()
	recover()
	recoveredAt := time.Now()
	waitHealth(200)
	ready := time.Since(recoveredAt)
	for range 10 {
		if code := send(); code != 204 {
			t.Fatalf("after recovery: %d", code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.Close(ctx); err != nil {
		t.Fatal(err)
	}

	gs, err := check().Groups(ctx, cspreport.GroupQuery{Limit: 1 << 20, Muted: true})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, g := range gs {
		stored[g.BlockedOrigin] = true
	}
	for h := range acked {
		if !stored[h] {
			t.Errorf("%s answered 204, not stored", h)
		}
	}
	events := rec.Take()
	count := map[string]int{}
	for _, e := range events {
		count[e.Name]++
	}
	t.Logf("%d requests, %d answered 204; %d log lines: %v", seq.Load(), len(acked), len(events), count)
	t.Logf("fault: first 503 answered %v after it began, /health 503 after %v, slowest answer %v; /health 200 %v after recovery", first503.Sub(failedAt).Round(time.Millisecond), unready.Round(time.Millisecond), slowest.Round(time.Millisecond), ready.Round(time.Millisecond))
	if count["cspreport.store_error"] < 1 || count["cspreport.store_recovered"] < 1 || count["cspreport.store_error"] > 3 {
		t.Errorf("store_error %d, store_recovered %d: want each state change logged, a few times at most", count["cspreport.store_error"], count["cspreport.store_recovered"])
	}
	// New groups are logged (one per acked host here, as every report
	// is its own group); the rest stays a few lines, whatever the rate.
	if other := len(events) - count["cspreport.violation"]; other > 40 {
		t.Errorf("%d log lines besides new groups: %v", other, count)
	}
}

const faultLegacy = `{"csp-report":{"document-uri":"https://shop.example/cart","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'","disposition":"enforce","blocked-uri":"https://evil.example/x.js","status-code":200}}`

// TestFaultPausedPostgres: the store's PostgreSQL stops answering (a
// proxy between them stops forwarding, as a SIGSTOPped server or a
// partition does) and comes back.
func TestFaultPausedPostgres(t *testing.T) {
	dsn := sqlstoretest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewFaultProxy(t, u.Host)
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	db := sqlstoretest.Open(t, u.String())
	store, err := sqlstore.New(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	faultRun(t, store, proxy.Pause, proxy.Resume, func() cspreport.Store {
		s, err := sqlstore.New(t.Context(), sqlstoretest.Open(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	start := time.Now()
	if err := store.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close after recovery: %v", time.Since(start))
}

// TestFaultSIGSTOPPostgres: the store's PostgreSQL, a cluster of the
// test's own, is paused (SIGSTOP of the postmaster and every process of
// it: open sessions hang, new connections are accepted by the kernel and
// never answered) and resumed (SIGCONT).
func TestFaultSIGSTOPPostgres(t *testing.T) {
	pg := testenv.PrivatePostgres(t)
	u, err := url.Parse(pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	store, err := sqlstore.New(t.Context(), sqlstoretest.Open(t, u.String()))
	if err != nil {
		t.Fatal(err)
	}
	faultRun(t, store, pg.Stop, pg.Cont, func() cspreport.Store {
		s, err := sqlstore.New(t.Context(), sqlstoretest.Open(t, pg.URL()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	start := time.Now()
	if err := store.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Logf("Close after recovery: %v", time.Since(start))
}

// TestFaultSQLiteWriteError: every write transaction of the store's
// SQLite database fails, as on a full disk (an error injected by a
// driver that wraps the real one), then works again.
func TestFaultSQLiteWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reports.db")
	var failing atomic.Bool
	_, store := openFaultySQLite(t, path, &failing)
	faultRun(t, store, func() { failing.Store(true) }, func() { failing.Store(false) }, func() cspreport.Store { return store })
	if err := store.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestFaultSQLiteCloseError: Close on a database that cannot be written
// returns the error (bulwark collect logs it and exits non-zero), and
// what the journal holds is folded by the next store that opens the
// database.
func TestFaultSQLiteCloseError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reports.db")
	var failing atomic.Bool
	db, store := openFaultySQLite(t, path, &failing)
	b := &cspreport.Batch{}
	b.Add(&cspreport.Report{GroupFP: "g", DetailFP: "d", Directive: "img-src", Disposition: "enforce", BlockedOrigin: "https://img.example", DocumentURL: "https://shop.example/", ReceivedAt: time.Now()})
	if _, err := store.Save(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	if err := store.Close(); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Close on a failing disk: %v", err)
	}
	db.Close()
	again, err := sqlstore.New(t.Context(), sqlstoretest.Open(t, path))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	gs, err := again.Groups(t.Context(), cspreport.GroupQuery{Muted: true})
	if err != nil || len(gs) != 1 || gs[0].Total != 1 {
		t.Fatalf("after reopening: %+v, %v", gs, err)
	}
}

// openFaultySQLite opens the SQLite file at path as sqlite.Open would,
// through a driver whose transactions fail while failing is set, and a
// store on it.
func openFaultySQLite(t *testing.T, path string, failing *atomic.Bool) (*sqldb.DB, *sqlstore.Store) {
	t.Helper()
	name := fmt.Sprintf("sqlite-faulty-%p", failing)
	base, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	sql.Register(name, faultDriver{base.Driver(), failing})
	base.Close()
	writer, err := sql.Open(name, path+"?_busy_timeout=5000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL&_time_format=sqlite&_timezone=UTC&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	db, err := sqldb.New(sqldb.SQLite, writer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return db, store
}

// errInjected is the write error of faultDriver: SQLite's own words for a
// full disk.
var errInjected = errors.New("database or disk is full (injected)")

type faultDriver struct {
	driver.Driver
	failing *atomic.Bool
}

func (d faultDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return faultConn{c, d.failing}, nil
}

// faultConn fails BeginTx while failing is set: every write of the
// store is in a transaction.
type faultConn struct {
	driver.Conn
	failing *atomic.Bool
}

func (c faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.failing.Load() {
		return nil, errInjected
	}
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c faultConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c faultConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
