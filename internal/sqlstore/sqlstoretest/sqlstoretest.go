// Package sqlstoretest gives the tests of SQL stores fresh databases of both
// dialects.
//
// A store's tests run the same suite on each dialect:
//
//	func TestStore(t *testing.T) {
//		sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
//			s, err := sqlstore.New(t.Context(), db) // migrates
//			…
//		})
//	}
//
// SQLite always runs, on a new file in t.TempDir(). PostgreSQL runs when
// BULWARK_POSTGRES_URL is set (see [testenv.Postgres]: it skips otherwise, and
// fails under BULWARK_REQUIRE_SERVERS=1), each test in a new schema of its
// own that is dropped when the test ends, so that tests and packages running
// in parallel never see each other's tables.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/postgres"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ForEachDialect runs fn as a subtest per dialect ("sqlite", "postgres"),
// each on a fresh, empty database that is closed (and, on PostgreSQL,
// dropped) when the subtest ends.
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { t.Helper(); fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Helper(); fn(t, Postgres(t)) })
}

// SQLite opens a fresh SQLite database in t.TempDir(), closed when the test
// ends.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	return Open(t, SQLiteDSN(t))
}

// SQLiteDSN returns the DSN of a new SQLite file in t.TempDir(), for tests
// that open it more than once.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "bulwark.db")
}

// Postgres opens a fresh, empty PostgreSQL schema of its own (see
// [PostgresDSN]), closed and dropped when the test ends.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	return Open(t, PostgresDSN(t))
}

// PostgresDSN creates a new schema with a random name on the server of
// BULWARK_POSTGRES_URL, drops it (CASCADE) when the test ends, and returns
// a DSN whose connections all use it alone (search_path), for tests that
// open it more than once. It skips the test when BULWARK_POSTGRES_URL is
// unset, or fails it under BULWARK_REQUIRE_SERVERS=1.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := testenv.Postgres(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL (got an unparsable one or another scheme)", testenv.EnvPostgres)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "bulwark_test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin(ctx, base, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context() is already done when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin(ctx, base, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs one statement on its own short-lived connection.
func admin(ctx context.Context, dsn, stmt string) error {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("sqlstoretest: %w", err)
	}
	defer db.Close()
	if _, err := db.Writer().ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("sqlstoretest: %s: %w", stmt, err)
	}
	return nil
}

// Open opens the database of dsn, one that [SQLiteDSN] or [PostgresDSN]
// returned, with sqldb/sqlite or sqldb/postgres, and closes it when the
// test ends (closing it sooner is harmless), for tests that open one
// database more than once, as several processes would.
func Open(t testing.TB, dsn string) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := OpenDSN(ctx, dsn)
	if err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("sqlstoretest: %v", err)
		}
	})
	return db
}

// SCSPostgres makes t's own schema (see [PostgresDSN]) with the table of
// scs's PostgreSQL store (its README), and returns a func that opens one
// more client of it, with its own pool (closed when t ends), as each
// instance of a multi-instance test has.
func SCSPostgres(t testing.TB) func() scs.Store {
	t.Helper()
	dsn := PostgresDSN(t)
	ctx := context.Background()
	newPool := func() *pgxpool.Pool {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		return pool
	}
	if _, err := newPool().Exec(ctx, `CREATE TABLE sessions (
		token TEXT PRIMARY KEY, data BYTEA NOT NULL, expiry TIMESTAMPTZ NOT NULL);
		CREATE INDEX sessions_expiry_idx ON sessions (expiry)`); err != nil {
		t.Fatal(err)
	}
	return func() scs.Store { return pgxstore.NewWithCleanupInterval(newPool(), 0) }
}

// OpenDSN opens the database of dsn with sqldb/postgres when it is a
// postgres:// or postgresql:// URL, else with sqldb/sqlite, for tests that
// open and close a database themselves (a crash, a restart).
func OpenDSN(ctx context.Context, dsn string) (*sqldb.DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// CheckNew checks, on each dialect, the constructor that every SQL store
// of the suite has, New(ctx, *sqldb.DB): New(nil) is an error that says how
// to open a database; New brings component's schema up to date; use
// works on the new store; neither the store nor its Close (if it has one)
// closes the database, which is the application's, shared by the stores;
// and New on a closed database is an error.
func CheckNew[S any](t *testing.T, component string, newStore func(context.Context, *sqldb.DB) (S, error), use func(t *testing.T, s S)) {
	t.Helper()
	if _, err := newStore(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "sqldb/sqlite.Open") {
		t.Errorf("New(nil): err = %v, want one naming sqldb/sqlite.Open", err)
	}
	ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s, err := newStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		use(t, s)
		if v, err := db.SchemaVersion(ctx, component); err != nil || v == 0 {
			t.Errorf("schema version %d, %v: New did not migrate %s", v, err, component)
		}
		if c, ok := any(s).(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("the store closed the shared database: %v", err)
		}
		db.Close()
		if _, err := newStore(ctx, db); err == nil {
			t.Error("New on a closed database: nil error")
		}
	})
}

// Exec runs query on h (a DB's Writer or Reader) and fails the test if it
// fails.
func Exec(t testing.TB, h *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := h.ExecContext(t.Context(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// Count returns the number of rows of table, read through db's readers.
func Count(t testing.TB, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
