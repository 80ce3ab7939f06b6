package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestOpenPing(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := sqldb.SQLite
		if strings.HasSuffix(t.Name(), "postgres") {
			want = sqldb.Postgres
		}
		if db.Dialect() != want {
			t.Errorf("Dialect() = %v, want %v", db.Dialect(), want)
		}
		if (db.Reader() == db.Writer()) != (want == sqldb.Postgres) {
			t.Errorf("Reader() == Writer() is %v on %v", db.Reader() == db.Writer(), want)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := db.Ping(t.Context()); err == nil {
			t.Error("Ping after Close succeeded")
		}
	})
}

func TestQueryDialects(t *testing.T) {
	create := sqldb.Query{
		SQLite:   `CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL, blob BLOB)`,
		Postgres: `CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT NOT NULL, blob BYTEA)`,
	}
	insert := sqldb.Portable(`INSERT INTO items (id, label, blob) VALUES (?, ?, ?)`)
	// A literal question mark stays one; ?2 is the same parameter twice.
	find := sqldb.Portable(`SELECT label || '?' FROM items WHERE id = ?1 OR id = ?1 + 1000 ORDER BY id`)
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		sqlstoretest.Exec(t, db.Writer(), db.Q(create))
		for i, label := range []string{"one", "two"} {
			sqlstoretest.Exec(t, db.Writer(), db.Q(insert), i+1, label, []byte{0, byte(i)})
		}
		var got string
		if err := db.Reader().QueryRowContext(ctx, db.Q(find), 2).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != "two?" {
			t.Errorf("got %q, want %q", got, "two?")
		}
		var b []byte
		if err := db.Reader().QueryRowContext(ctx, db.Q(sqldb.Portable(`SELECT blob FROM items WHERE id = ?`)), 2).Scan(&b); err != nil {
			t.Fatal(err)
		}
		if string(b) != "\x00\x01" {
			t.Errorf("blob = %q", b)
		}
		// A query without text for this dialect fails, and says why.
		_, err := db.Writer().ExecContext(ctx, db.Q(sqldb.Query{}))
		if err == nil || !strings.Contains(err.Error(), "sqldb_query_has_no_"+db.Dialect().String()+"_text") {
			t.Errorf("empty query: err = %v", err)
		}
	})
}

func TestTimes(t *testing.T) {
	create := sqldb.Query{
		SQLite:   `CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL)`,
		Postgres: `CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL)`,
	}
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		sqlstoretest.Exec(t, db.Writer(), db.Q(create))
		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			paris = time.FixedZone("CET", 3600)
		}
		base := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		// Times in different zones, with and without fractions: they must
		// compare in time order, not text order.
		times := []time.Time{
			base.In(paris),                              // 13:00:00.123456 +01:00
			base.Add(-30 * time.Minute),                 // 11:30 UTC
			base.Add(time.Second).Truncate(time.Second), // no fraction
			base.Add(10 * time.Microsecond).In(paris),
			time.Now(), // nanoseconds and a monotonic clock reading
		}
		for i, at := range times {
			sqlstoretest.Exec(t, db.Writer(), db.Q(sqldb.Portable(`INSERT INTO ev (id, at) VALUES (?, ?)`)), i, at)
		}
		for i, at := range times {
			var got time.Time
			if err := db.Reader().QueryRowContext(ctx, db.Q(sqldb.Portable(`SELECT at FROM ev WHERE id = ?`)), i).Scan(&got); err != nil {
				t.Fatal(err)
			}
			// PostgreSQL keeps microseconds (rounded), SQLite nanoseconds.
			if d := got.Sub(at); d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("time %d: got %v, want %v", i, got, at)
			}
		}
		if db.Dialect() == sqldb.SQLite {
			var text string
			if err := db.Reader().QueryRowContext(ctx, `SELECT at || '' FROM ev WHERE id = 0`).Scan(&text); err != nil {
				t.Fatal(err)
			}
			if want := "2026-03-01 12:00:00.123456+00:00"; text != want {
				t.Errorf("stored text %q, want %q", text, want)
			}
		}
		var n int
		q := db.Q(sqldb.Portable(`SELECT COUNT(*) FROM ev WHERE at < ?`))
		if err := db.Reader().QueryRowContext(ctx, q, base.In(paris)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 { // only 11:30 UTC is before 12:00:00.123456 UTC
			t.Errorf("times before %v: %d, want 1", base, n)
		}
		if err := db.Reader().QueryRowContext(ctx, q, base.Add(time.Millisecond)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("times before %v: %d, want 3", base.Add(time.Millisecond), n)
		}
	})
}

func TestWithTx(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		sqlstoretest.Exec(t, db.Writer(), "CREATE TABLE tx (x INTEGER)")
		insert := func(tx *sql.Tx, x int) error {
			_, err := tx.ExecContext(ctx, db.Q(sqldb.Portable("INSERT INTO tx (x) VALUES (?)")), x)
			return err
		}

		// Commit.
		if err := db.WithTx(ctx, func(tx *sql.Tx) error { return insert(tx, 1) }); err != nil {
			t.Fatal(err)
		}

		// An error rolls back, and comes back as it was.
		errBoom := errors.New("boom")
		err := db.WithTx(ctx, func(tx *sql.Tx) error {
			if err := insert(tx, 2); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom {
			t.Errorf("WithTx returned %v, want errBoom itself", err)
		}

		// A panic rolls back and goes on.
		func() {
			defer func() {
				if r := recover(); r != "kaboom" {
					t.Errorf("recovered %v, want the panic of fn", r)
				}
			}()
			_ = db.WithTx(ctx, func(tx *sql.Tx) error {
				if err := insert(tx, 3); err != nil {
					return err
				}
				panic("kaboom")
			})
			t.Error("WithTx did not re-panic")
		}()

		// A failing statement inside: the error is the statement's.
		err = db.WithTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO no_such_table VALUES (1)")
			return err
		})
		if err == nil {
			t.Error("bad statement: no error")
		}

		// Nothing leaked: the (single, on SQLite) writer connection is free.
		ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := db.WithTx(ctx2, func(tx *sql.Tx) error { return insert(tx, 4) }); err != nil {
			t.Fatalf("WithTx after rollbacks: %v (a leaked transaction?)", err)
		}
		rows, err := db.Reader().QueryContext(ctx, "SELECT x FROM tx ORDER BY x")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []int
		for rows.Next() {
			var x int
			if err := rows.Scan(&x); err != nil {
				t.Fatal(err)
			}
			got = append(got, x)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[1 4]" {
			t.Errorf("rows = %v, want [1 4]", got)
		}
		if s := db.Writer().Stats(); s.InUse != 0 {
			t.Errorf("writer connections in use after WithTx: %d", s.InUse)
		}

		// A canceled context: no transaction, an error.
		canceled, cancel2 := context.WithCancel(ctx)
		cancel2()
		if err := db.WithTx(canceled, func(tx *sql.Tx) error { return insert(tx, 5) }); err == nil {
			t.Error("WithTx with a canceled context succeeded")
		}
	})
}

// TestConcurrentWriters: many goroutines writing at once, through Writer and
// WithTx, while others read, never see SQLITE_BUSY nor lose a row.
func TestConcurrentWriters(t *testing.T) {
	const goroutines, perG = 8, 200
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		sqlstoretest.Exec(t, db.Writer(), "CREATE TABLE w (g INTEGER NOT NULL, i INTEGER NOT NULL, PRIMARY KEY (g, i))")
		insert := db.Q(sqldb.Portable("INSERT INTO w (g, i) VALUES (?, ?)"))
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					var n int
					if err := db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM w").Scan(&n); err != nil {
						t.Errorf("read: %v", err)
						return
					}
				}
			})
		}
		var writers sync.WaitGroup
		for g := range goroutines {
			writers.Go(func() {
				for i := range perG {
					var err error
					if (g+i)%2 == 0 {
						_, err = db.Writer().ExecContext(ctx, insert, g, i)
					} else {
						err = db.WithTx(ctx, func(tx *sql.Tx) error {
							// Read, then write: what fails with SQLITE_BUSY
							// when a deferred transaction upgrades its lock.
							var n int
							if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM w").Scan(&n); err != nil {
								return err
							}
							_, err := tx.ExecContext(ctx, insert, g, i)
							return err
						})
					}
					if err != nil {
						t.Errorf("insert %d/%d: %v", g, i, err)
						return
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		readers.Wait()
		if n := sqlstoretest.Count(t, db, "w"); n != goroutines*perG {
			t.Errorf("rows = %d, want %d", n, goroutines*perG)
		}
	})
}

// TestNew: New refuses what would fail later, with an error that says what
// to write: an unknown dialect, no writer, an SQLite writer that may open
// several connections (concurrent writes would fail with SQLITE_BUSY).
func TestNew(t *testing.T) {
	open := func(maxConns int) *sql.DB {
		h, err := sql.Open("sqlite", ":memory:") // sql.Open does not connect
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		h.SetMaxOpenConns(maxConns)
		return h
	}
	tests := []struct {
		name    string
		dialect sqldb.Dialect
		writer  *sql.DB
		want    string
	}{
		{"no dialect", 0, open(1), "dialect Dialect(0): use sqldb.SQLite or sqldb.Postgres"},
		{"no writer", sqldb.Postgres, nil, "writer is nil"},
		{"SQLite, unlimited writer", sqldb.SQLite, open(0), "may open unlimited connections: call writer.SetMaxOpenConns(1)"},
		{"SQLite, two-connection writer", sqldb.SQLite, open(2), "may open 2 connections"},
	}
	for _, tt := range tests {
		if _, err := sqldb.New(tt.dialect, tt.writer, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	w := open(1)
	db, err := sqldb.New(sqldb.SQLite, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if db.Writer() != w || db.Reader() != w {
		t.Error("with a nil reader, the writer must read too")
	}
	// A PostgreSQL pool has no connection limit to respect.
	if _, err := sqldb.New(sqldb.Postgres, open(0), nil); err != nil {
		t.Errorf("Postgres with an unlimited pool: %v", err)
	}
}
