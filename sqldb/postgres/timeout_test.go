package postgres_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb/postgres"
	"github.com/jackc/pgx/v5/pgconn"
)

// blackHole listens on 127.0.0.1 and accepts connections it never
// answers, as a paused (SIGSTOPped) server or a partition does.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestOpenHungServer: Open against a server that accepts and never
// answers fails within its connect timeout, the default one included,
// with an error that says it could not connect.
func TestOpenHungServer(t *testing.T) {
	addr := blackHole(t)
	for _, tt := range []struct {
		query string
		bound time.Duration
	}{
		{"&connect_timeout=1", time.Second},
		{"", postgres.DefaultConnectTimeout},
	} {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			db, err := postgres.Open(t.Context(), "postgres://u@"+addr+"/db?sslmode=disable"+tt.query)
			took := time.Since(start)
			if err == nil {
				db.Close()
				t.Fatal("Open of a hung server succeeded")
			}
			if !strings.Contains(err.Error(), "connect") || took > tt.bound+3*time.Second {
				t.Errorf("Open took %v (bound %v): %v", took, tt.bound, err)
			}
		})
	}
}

// TestStatementTimeout: statements get statement_timeout from the URL,
// 30s by default; a statement that runs longer is cancelled by the
// server (57014).
func TestStatementTimeout(t *testing.T) {
	dsn := sqlstoretest.PostgresDSN(t)
	db := sqlstoretest.Open(t, dsn)
	var v string
	if err := db.Writer().QueryRowContext(t.Context(), "SHOW statement_timeout").Scan(&v); err != nil || v != "30s" {
		t.Fatalf("default statement_timeout %q, %v; want 30s", v, err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	short, err := postgres.Open(t.Context(), dsn+sep+"statement_timeout=100ms")
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	_, err = short.Writer().ExecContext(t.Context(), "SELECT pg_sleep(2)")
	if pe, ok := errors.AsType[*pgconn.PgError](err); !ok || pe.Code != "57014" {
		t.Fatalf("pg_sleep(2) under statement_timeout=100ms: %v", err)
	}
}

// TestIdleInTransactionEnded: a client that vanishes in the middle of a
// transaction (here: it just stops) holds its row locks no longer than
// idle_in_transaction_session_timeout (30s by default): the server ends
// its session, and another client's write of the same row goes through.
func TestIdleInTransactionEnded(t *testing.T) {
	dsn := sqlstoretest.PostgresDSN(t)
	db := sqlstoretest.Open(t, dsn)
	var v string
	if err := db.Writer().QueryRowContext(t.Context(), "SHOW idle_in_transaction_session_timeout").Scan(&v); err != nil || v != "30s" {
		t.Fatalf("default idle_in_transaction_session_timeout %q, %v; want 30s", v, err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	short, err := postgres.Open(t.Context(), dsn+sep+"idle_in_transaction_session_timeout=200ms")
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	if _, err := short.Writer().ExecContext(t.Context(), "CREATE TABLE held (id int PRIMARY KEY, n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := short.Writer().ExecContext(t.Context(), "INSERT INTO held VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	tx, err := short.Writer().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // the server ended it
	if _, err := tx.ExecContext(t.Context(), "UPDATE held SET n = 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	// The vanished client: tx is never finished. Another write of the row
	// waits for its lock until the server ends the idle session.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := db.Writer().ExecContext(ctx, "UPDATE held SET n = 2 WHERE id = 1"); err != nil {
		t.Fatalf("the row stayed locked by an idle transaction: %v", err)
	}
}

// TestTimeoutOptionsValidated: a malformed timeout is an error that names
// the parameter and says what to write, before any connection is tried.
func TestTimeoutOptionsValidated(t *testing.T) {
	for _, q := range []string{"statement_timeout=soon", "statement_timeout=-1", "connect_timeout=x", "idle_in_transaction_session_timeout=later"} {
		db, err := postgres.Open(t.Context(), "postgres://u@127.0.0.1:1/db?sslmode=disable&"+q)
		if err == nil {
			db.Close()
			t.Errorf("%s: Open succeeded", q)
			continue
		}
		name, _, _ := strings.Cut(q, "=")
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming %s", q, err, name)
		}
	}
}
