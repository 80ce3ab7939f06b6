package sqlite_test

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ dsn, want string }{
		{"", "empty DSN"},
		{"   ", "empty DSN"},
		{"mysql://u@h/db", `unsupported scheme "mysql": use a plain file path`},
		{"sqlite3:x.db", `unsupported scheme "sqlite3"`},
		{"postgres://u@h/db", "names a PostgreSQL database: open it with sqldb/postgres.Open"},
		{"POSTGRESQL://u@h/db", "names a PostgreSQL database"},
		{"sqlite:", "names no file"},
		{"file:?mode=memory", "names no file"},
		{"sqlite:" + filepath.Join(dir, "x.db") + "?_journal_mode=SIDEWAYS", "_journal_mode"},
		{"sqlite:" + filepath.Join("/nonexistent-dir-bulwark", "x.db"), "directory /nonexistent-dir-bulwark does not exist"},
	}
	for _, tt := range tests {
		db, err := sqlite.Open(t.Context(), tt.dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sqldb/sqlite: ") {
			t.Errorf("Open(%q) error = %q, want it to contain %q", tt.dsn, err, tt.want)
		}
	}
	// The list of accepted forms names every one of them.
	_, err := sqlite.Open(t.Context(), "redis://localhost")
	for _, form := range []string{"sqlite:PATH", "file:PATH", "plain file path", ":memory:"} {
		if err == nil || !strings.Contains(err.Error(), form) {
			t.Errorf("bad-scheme error %q does not mention %q", err, form)
		}
	}
}

// TestOpenMissingDirectory: Open creates the database file, never its
// directory: a DSN whose directory does not exist (a typo in a deployment's
// path) is an error that says so, in each DSN form, and the directory is
// still not there afterwards.
func TestOpenMissingDirectory(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ dsn, want string }{
		{filepath.Join(missing, "x.db"), "directory " + missing + " does not exist"},
		{"sqlite:" + filepath.Join(missing, "x.db"), "directory " + missing + " does not exist"},
		{"sqlite://" + filepath.Join(missing, "x.db"), "directory " + missing + " does not exist"},
		{"file:" + filepath.Join(missing, "x.db") + "?mode=rwc", "directory " + missing + " does not exist"},
		{"file://" + filepath.Join(missing, "x.db"), "directory " + missing + " does not exist"},
		{filepath.Join(notDir, "x.db"), notDir + " is not a directory"},
	}
	for _, tt := range tests {
		db, err := sqlite.Open(t.Context(), tt.dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q) error = %q, want it to contain %q", tt.dsn, err, tt.want)
		}
		if strings.Contains(tt.want, "does not exist") && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) error = %v, want it to be fs.ErrNotExist", tt.dsn, err)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the missing directory: %v, want it still missing", err)
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
			db, err := sqlite.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			sqlstoretest.Exec(t, db.Writer(), "CREATE TABLE t (x INTEGER)")
			sqlstoretest.Exec(t, db.Writer(), "INSERT INTO t VALUES (1)")
			if n := sqlstoretest.Count(t, db, "t"); n != 1 {
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
	db, err := sqlite.Open(t.Context(), dsn)
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
			db, err := sqlite.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Reader() != db.Writer() {
				t.Error("an in-memory database must have one connection for readers and writer")
			}
			sqlstoretest.Exec(t, db.Writer(), "CREATE TABLE t (x INTEGER)")
			err = db.WithTx(t.Context(), func(tx *sql.Tx) error {
				_, err := tx.ExecContext(t.Context(), "INSERT INTO t VALUES (1)")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond) // an idle connection would be gone by now
			if n := sqlstoretest.Count(t, db, "t"); n != 1 {
				t.Errorf("count = %d", n)
			}
		})
	}
}

// TestSQLiteSeveralHandles: two DBs on one file, as two processes would
// have, wait for each other (BEGIN IMMEDIATE, busy_timeout) instead of
// failing.
func TestSQLiteSeveralHandles(t *testing.T) {
	dsn := sqlstoretest.SQLiteDSN(t)
	var dbs []*sqldb.DB
	for range 3 {
		dbs = append(dbs, sqlstoretest.Open(t, dsn))
	}
	sqlstoretest.Exec(t, dbs[0].Writer(), "CREATE TABLE h (d INTEGER, g INTEGER, i INTEGER)")
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
	if n := sqlstoretest.Count(t, dbs[2], "h"); n != 3*3*50 {
		t.Errorf("rows = %d, want %d", n, 3*3*50)
	}
}
