package sqlstoretest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestForEachDialect(t *testing.T) {
	seen := map[sqldb.Dialect]bool{}
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		seen[db.Dialect()] = true
		if !strings.HasSuffix(t.Name(), "/"+db.Dialect().String()) {
			t.Errorf("subtest %s runs on %v", t.Name(), db.Dialect())
		}
		// Each database starts empty.
		if _, err := db.Writer().ExecContext(t.Context(), "CREATE TABLE t (x INTEGER)"); err != nil {
			t.Fatal(err)
		}
	})
	if !seen[sqldb.SQLite] {
		t.Error("SQLite did not run")
	}
}

// TestPostgresIsolation: two tests' databases share the server, not their
// tables, and each schema is gone when its test ends.
func TestPostgresIsolation(t *testing.T) {
	base := testenv.Postgres(t)
	var dsnA string
	t.Run("a", func(t *testing.T) {
		dsnA = sqlstoretest.PostgresDSN(t)
		a := sqlstoretest.Open(t, dsnA)
		b := sqlstoretest.Postgres(t)
		for _, db := range []*sqldb.DB{a, b} {
			if _, err := db.Writer().ExecContext(t.Context(), "CREATE TABLE same_name (x INTEGER)"); err != nil {
				t.Fatalf("the same table in two schemas: %v", err)
			}
		}
		if _, err := a.Writer().ExecContext(t.Context(), "INSERT INTO same_name VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := b.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM same_name").Scan(&n); err != nil || n != 0 {
			t.Errorf("b sees %d rows of a (err %v)", n, err)
		}
	})
	schema := dsnA[strings.Index(dsnA, "search_path=")+len("search_path="):]
	schema, _, _ = strings.Cut(schema, "&")
	db, err := sqlstoretest.OpenDSN(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n)
	if err != nil || n != 0 {
		t.Errorf("schema %s still there after its test (count %d, err %v)", schema, n, err)
	}
}
