package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
)

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, db *sqlstore.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestOpenPing(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		if err := db.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := sqlstore.SQLite
		if strings.HasSuffix(t.Name(), "postgres") {
			want = sqlstore.Postgres
		}
		if db.Dialect() != want {
			t.Errorf("Dialect() = %v, want %v", db.Dialect(), want)
		}
		if (db.Reader() == db.Writer()) != (want == sqlstore.Postgres) {
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

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ dsn, want string }{
		{"", "empty DSN"},
		{"   ", "empty DSN"},
		{"mysql://u@h/db", `unsupported database scheme "mysql": use "postgres://…"`},
		{"sqlite3:x.db", `unsupported database scheme "sqlite3"`},
		{"postgres:db", "must be a URL, postgres://user@host:port/database"},
		{"sqlite:", "names no file"},
		{"file:?mode=memory", "names no file"},
		{"sqlite:" + filepath.Join(dir, "x.db") + "?_journal_mode=SIDEWAYS", "_journal_mode"},
		{"sqlite:" + filepath.Join("/nonexistent-dir-bulwark", "x.db"), "does its directory exist"},
		{"postgres://u@h/db?pool_max_conns=zero", "PostgreSQL DSN"},
		{"postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", "connect to PostgreSQL"},
	}
	for _, tt := range tests {
		db, err := sqlstore.Open(t.Context(), tt.dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sqlstore: ") || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error = %q, want it to contain %q", tt.dsn, err, tt.want)
		}
	}
	// The list of accepted forms names every one of them.
	_, err := sqlstore.Open(t.Context(), "redis://localhost")
	for _, form := range []string{"postgres://", "postgresql://", "sqlite:PATH", "file:PATH", "plain file path", ":memory:"} {
		if err == nil || !strings.Contains(err.Error(), form) {
			t.Errorf("bad-scheme error %q does not mention %q", err, form)
		}
	}
}

func TestSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"), // sqlite:///abs/path
		"file:" + filepath.Join(dir, "c.db") + "?mode=rwc",
		filepath.Join(dir, "d.db"),
	} {
		t.Run(dsn, func(t *testing.T) {
			db, err := sqlstore.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			mustExec(t, db.Writer(), "CREATE TABLE t (x INTEGER)")
			mustExec(t, db.Writer(), "INSERT INTO t VALUES (1)")
			if n := count(t, db, "t"); n != 1 {
				t.Errorf("count = %d", n)
			}
			// Writer and readers all run with the suite's settings.
			for name, h := range map[string]*sql.DB{"writer": db.Writer(), "reader": db.Reader()} {
				for pragma, want := range map[string]string{
					"journal_mode": "wal", "busy_timeout": "5000", "foreign_keys": "1", "synchronous": "1",
				} {
					var got string
					if err := h.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, want)
					}
				}
			}
			// A write sent to the readers fails instead of racing the writer.
			if _, err := db.Reader().ExecContext(t.Context(), "INSERT INTO t VALUES (2)"); err == nil {
				t.Error("write through Reader() succeeded")
			}
		})
	}
}

func TestSQLiteDSNOverrides(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db") + "?_pragma=synchronous(FULL)&_busy_timeout=250"
	db, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]string{"synchronous": "2", "busy_timeout": "250", "journal_mode": "wal"} {
		var got string
		if err := db.Writer().QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestSQLiteMemory(t *testing.T) {
	for _, dsn := range []string{":memory:", "sqlite::memory:", "file::memory:", "file:bulwark-mem?mode=memory&cache=shared"} {
		t.Run(dsn, func(t *testing.T) {
			db, err := sqlstore.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Reader() != db.Writer() {
				t.Error("an in-memory database must have one connection for readers and writer")
			}
			mustExec(t, db.Writer(), "CREATE TABLE t (x INTEGER)")
			err = db.WithTx(t.Context(), func(tx *sql.Tx) error {
				_, err := tx.ExecContext(t.Context(), "INSERT INTO t VALUES (1)")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // an idle connection would be gone by now
			if n := count(t, db, "t"); n != 1 {
				t.Errorf("count = %d", n)
			}
		})
	}
}

func TestQueryDialects(t *testing.T) {
	create := sqlstore.Query{
		SQLite:   `CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL, blob BLOB)`,
		Postgres: `CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT NOT NULL, blob BYTEA)`,
	}
	insert := sqlstore.Portable(`INSERT INTO items (id, label, blob) VALUES (?, ?, ?)`)
	// A literal question mark stays one; ?2 is the same parameter twice.
	find := sqlstore.Portable(`SELECT label || '?' FROM items WHERE id = ?1 OR id = ?1 + 1000 ORDER BY id`)
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		mustExec(t, db.Writer(), db.Q(create))
		for i, label := range []string{"one", "two"} {
			mustExec(t, db.Writer(), db.Q(insert), i+1, label, []byte{0, byte(i)})
		}
		var got string
		if err := db.Reader().QueryRowContext(ctx, db.Q(find), 2).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != "two?" {
			t.Errorf("got %q, want %q", got, "two?")
		}
		var b []byte
		if err := db.Reader().QueryRowContext(ctx, db.Q(sqlstore.Portable(`SELECT blob FROM items WHERE id = ?`)), 2).Scan(&b); err != nil {
			t.Fatal(err)
		}
		if string(b) != "\x00\x01" {
			t.Errorf("blob = %q", b)
		}
		// A query without text for this dialect fails, and says why.
		_, err := db.Writer().ExecContext(ctx, db.Q(sqlstore.Query{}))
		if err == nil || !strings.Contains(err.Error(), "sqlstore_query_has_no_"+db.Dialect().String()+"_text") {
			t.Errorf("empty query: err = %v", err)
		}
	})
}

func TestIsUniqueViolation(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		mustExec(t, db.Writer(), "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER NOT NULL)")
		insert := db.Q(sqlstore.Portable("INSERT INTO u (id, email, n) VALUES (?, ?, ?)"))
		mustExec(t, db.Writer(), insert, 1, "a@example.com", 1)
		_, errPK := db.Writer().ExecContext(t.Context(), insert, 1, "b@example.com", 1)
		_, errUnique := db.Writer().ExecContext(t.Context(), insert, 2, "a@example.com", 1)
		_, errNotNull := db.Writer().ExecContext(t.Context(), insert, 3, "c@example.com", nil)
		for name, err := range map[string]error{"primary key": errPK, "unique": errUnique} {
			if !sqlstore.IsUniqueViolation(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("%s: IsUniqueViolation(%v) = false", name, err)
			}
		}
		if errNotNull == nil || sqlstore.IsUniqueViolation(errNotNull) {
			t.Errorf("NOT NULL: IsUniqueViolation(%v) = true", errNotNull)
		}
		if sqlstore.IsUniqueViolation(nil) || sqlstore.IsUniqueViolation(errors.New("x")) {
			t.Error("IsUniqueViolation of nil or a plain error")
		}
	})
}

func TestTimes(t *testing.T) {
	create := sqlstore.Query{
		SQLite:   `CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL)`,
		Postgres: `CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMPTZ NOT NULL)`,
	}
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		mustExec(t, db.Writer(), db.Q(create))
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
			mustExec(t, db.Writer(), db.Q(sqlstore.Portable(`INSERT INTO ev (id, at) VALUES (?, ?)`)), i, at)
		}
		for i, at := range times {
			var got time.Time
			if err := db.Reader().QueryRowContext(ctx, db.Q(sqlstore.Portable(`SELECT at FROM ev WHERE id = ?`)), i).Scan(&got); err != nil {
				t.Fatal(err)
			}
			// PostgreSQL keeps microseconds (rounded), SQLite nanoseconds.
			if d := got.Sub(at); d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("time %d: got %v, want %v", i, got, at)
			}
		}
		if db.Dialect() == sqlstore.SQLite {
			var text string
			if err := db.Reader().QueryRowContext(ctx, `SELECT at || '' FROM ev WHERE id = 0`).Scan(&text); err != nil {
				t.Fatal(err)
			}
			if want := "2026-03-01 12:00:00.123456+00:00"; text != want {
				t.Errorf("stored text %q, want %q", text, want)
			}
		}
		var n int
		q := db.Q(sqlstore.Portable(`SELECT COUNT(*) FROM ev WHERE at < ?`))
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
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		mustExec(t, db.Writer(), "CREATE TABLE tx (x INTEGER)")
		insert := func(tx *sql.Tx, x int) error {
			_, err := tx.ExecContext(ctx, db.Q(sqlstore.Portable("INSERT INTO tx (x) VALUES (?)")), x)
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
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		mustExec(t, db.Writer(), "CREATE TABLE w (g INTEGER NOT NULL, i INTEGER NOT NULL, PRIMARY KEY (g, i))")
		insert := db.Q(sqlstore.Portable("INSERT INTO w (g, i) VALUES (?, ?)"))
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
		if n := count(t, db, "w"); n != goroutines*perG {
			t.Errorf("rows = %d, want %d", n, goroutines*perG)
		}
	})
}

// TestSQLiteSeveralHandles: two DBs on one file, as two processes would
// have, wait for each other (BEGIN IMMEDIATE, busy_timeout) instead of
// failing.
func TestSQLiteSeveralHandles(t *testing.T) {
	dsn := sqlstoretest.SQLiteDSN(t)
	var dbs []*sqlstore.DB
	for range 3 {
		db, err := sqlstore.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	mustExec(t, dbs[0].Writer(), "CREATE TABLE h (d INTEGER, g INTEGER, i INTEGER)")
	var wg sync.WaitGroup
	for d, db := range dbs {
		for g := range 3 {
			wg.Go(func() {
				for i := range 50 {
					err := db.WithTx(t.Context(), func(tx *sql.Tx) error {
						// Read, then write: the pattern that fails with
						// SQLITE_BUSY in a deferred transaction.
						var n int
						if err := tx.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM h").Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(t.Context(), "INSERT INTO h VALUES (?, ?, ?)", d, g, i)
						return err
					})
					if err != nil {
						t.Errorf("handle %d: %v", d, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if n := count(t, dbs[2], "h"); n != 3*3*50 {
		t.Errorf("rows = %d, want %d", n, 3*3*50)
	}
}

func TestOpenFor(t *testing.T) {
	ctx := context.Background()
	dsn := "sqlite:" + t.TempDir() + "/openfor.db"
	var seen *sqlstore.DB
	if _, err := sqlstore.OpenFor(ctx, dsn, func(_ context.Context, db *sqlstore.DB) (int, error) {
		seen = db
		return 0, errors.New("build failed")
	}); err == nil || err.Error() != "build failed" {
		t.Fatalf("OpenFor: %v, want the build error", err)
	}
	if err := seen.Ping(ctx); err == nil {
		t.Error("the database was left open after build failed")
	}
	n, err := sqlstore.OpenFor(ctx, dsn, func(_ context.Context, db *sqlstore.DB) (int, error) { defer db.Close(); return 7, nil })
	if err != nil || n != 7 {
		t.Errorf("OpenFor = %d, %v", n, err)
	}
	if _, err := sqlstore.OpenFor(ctx, "mysql://x", func(context.Context, *sqlstore.DB) (int, error) { return 0, nil }); err == nil {
		t.Error("a bad DSN gave no error")
	}
}
