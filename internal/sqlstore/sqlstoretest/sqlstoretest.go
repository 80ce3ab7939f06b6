// Package sqlstoretest gives the tests of SQL stores fresh databases of both
// dialects.
//
// A store's tests run the same suite on each dialect:
//
//	func TestStore(t *testing.T) {
//		sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
//			s, err := sqlstore_backed.New(t.Context(), db) // migrates
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
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ForEachDialect runs fn as a subtest per dialect ("sqlite", "postgres"),
// each on a fresh, empty database that is closed (and, on PostgreSQL,
// dropped) when the subtest ends.
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { t.Helper(); fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Helper(); fn(t, Postgres(t)) })
}

// SQLite opens a fresh SQLite database in t.TempDir(), closed when the test
// ends.
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, SQLiteDSN(t))
}

// SQLiteDSN returns the DSN of a new SQLite file in t.TempDir(), for tests
// that open it more than once.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "bulwark.db")
}

// Postgres opens a fresh, empty PostgreSQL schema of its own (see
// [PostgresDSN]), closed and dropped when the test ends.
func Postgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	return open(t, PostgresDSN(t))
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
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("sqlstoretest: %w", err)
	}
	defer db.Close()
	if _, err := db.Writer().ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("sqlstoretest: %s: %w", stmt, err)
	}
	return nil
}

func open(t testing.TB, dsn string) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqlstore.Open(ctx, dsn)
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
