package postgres_test

import (
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

// TestTimeoutOptionsValidated: a malformed timeout is an error that names
// the parameter and says what to write, before any connection is tried.
func TestTimeoutOptionsValidated(t *testing.T) {
	for _, q := range []string{"statement_timeout=soon", "statement_timeout=-1", "connect_timeout=x"} {
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
