package sqldb_test

import (
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
)

// migrations returns an FS holding the given files, each with its text.
func migrations(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, text := range files {
		m[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return m
}

// Two versions, several statements per file, and a dialect-specific type.
var v1 = map[string]string{
	"0001_create_reports.sqlite.sql": `
		CREATE TABLE reports (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at TIMESTAMP NOT NULL);
		CREATE INDEX reports_at ON reports (at);`,
	"0001_create_reports.postgres.sql": `
		CREATE TABLE reports (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
		CREATE INDEX reports_at ON reports (at);`,
	"README.md": "ignored",
}

var v2 = map[string]string{
	"0002_add_source.sqlite.sql":   `ALTER TABLE reports ADD COLUMN source TEXT NOT NULL DEFAULT '';`,
	"0002_add_source.postgres.sql": `ALTER TABLE reports ADD COLUMN source TEXT NOT NULL DEFAULT '';`,
}

func union(sets ...map[string]string) map[string]string {
	all := map[string]string{}
	for _, s := range sets {
		for k, v := range s {
			all[k] = v
		}
	}
	return all
}

func version(t *testing.T, db *sqldb.DB, component string) int {
	t.Helper()
	v, err := db.SchemaVersion(t.Context(), component)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrate(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		if v := version(t, db, "reports"); v != 0 {
			t.Fatalf("version of a new database = %d", v)
		}
		// Apply.
		if err := db.Migrate(ctx, "reports", migrations(v1)); err != nil {
			t.Fatal(err)
		}
		if v := version(t, db, "reports"); v != 1 {
			t.Errorf("version = %d, want 1", v)
		}
		sqlstoretest.Exec(t, db.Writer(), db.Q(sqldb.Portable(`INSERT INTO reports (body, at) VALUES (?, CURRENT_TIMESTAMP)`)), "r1")

		// Again: nothing to do.
		if err := db.Migrate(ctx, "reports", migrations(v1)); err != nil {
			t.Fatalf("re-apply: %v", err)
		}
		if n := sqlstoretest.Count(t, db, sqldb.MigrationsTable); n != 1 {
			t.Errorf("%d rows in %s, want 1", n, sqldb.MigrationsTable)
		}

		// A new version is applied, the data stays.
		if err := db.Migrate(ctx, "reports", migrations(union(v1, v2))); err != nil {
			t.Fatal(err)
		}
		if v := version(t, db, "reports"); v != 2 {
			t.Errorf("version = %d, want 2", v)
		}
		var body, source string
		if err := db.Reader().QueryRowContext(ctx, "SELECT body, source FROM reports").Scan(&body, &source); err != nil {
			t.Fatal(err)
		}
		if body != "r1" || source != "" {
			t.Errorf("row = %q, %q", body, source)
		}
		var name string
		var n int
		row := db.Reader().QueryRowContext(ctx, db.Q(sqldb.Portable(
			`SELECT name, COUNT(*) OVER () FROM `+sqldb.MigrationsTable+` WHERE component = ? ORDER BY version DESC`)), "reports")
		if err := row.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		if name != "add_source" || n != 2 {
			t.Errorf("latest recorded migration %q of %d, want add_source of 2", name, n)
		}

		// Older code, newer database: refused.
		err := db.Migrate(ctx, "reports", migrations(v1))
		if !errors.Is(err, sqldb.ErrNewerSchema) || !strings.Contains(err.Error(), "at version 2, this program knows versions up to 1") {
			t.Errorf("newer database: err = %v", err)
		}

		// Components are independent.
		other := map[string]string{
			"0001_create_other.sqlite.sql":   "CREATE TABLE other (x INTEGER);",
			"0001_create_other.postgres.sql": "CREATE TABLE other (x INTEGER);",
		}
		if err := db.Migrate(ctx, "other", migrations(other)); err != nil {
			t.Fatal(err)
		}
		if a, b := version(t, db, "reports"), version(t, db, "other"); a != 2 || b != 1 {
			t.Errorf("versions reports=%d other=%d, want 2 and 1", a, b)
		}
	})
}

// TestMigrateFailureRollsBack: a version that fails leaves nothing behind
// (DDL is transactional in both dialects) and the next run tries it again.
func TestMigrateFailureRollsBack(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		bad := union(v1, map[string]string{
			"0002_broken.sqlite.sql":   "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;",
			"0002_broken.postgres.sql": "CREATE TABLE half (x INTEGER); SELECT * FROM no_such_table;",
		})
		err := db.Migrate(ctx, "reports", migrations(bad))
		if err == nil || !strings.Contains(err.Error(), "apply 0002_broken."+db.Dialect().String()+".sql") {
			t.Fatalf("err = %v, want it to name the failing file", err)
		}
		if v := version(t, db, "reports"); v != 1 {
			t.Errorf("version = %d, want 1 (the good version stays)", v)
		}
		if _, err := db.Reader().ExecContext(ctx, "SELECT * FROM half"); err == nil {
			t.Error("table half exists: the failed version was not rolled back")
		}
		if err := db.Migrate(ctx, "reports", migrations(union(v1, v2))); err != nil {
			t.Fatalf("after the fix: %v", err)
		}
	})
}

func TestMigrateRefusesBadFiles(t *testing.T) {
	tests := []struct {
		name string
		fsys fs.FS
		want string
		comp string // "reports" when empty
	}{
		{"gap", migrations(union(v1, map[string]string{
			"0003_x.sqlite.sql": "", "0003_x.postgres.sql": "",
		})), "migration version 2 is missing: versions must run 1, 2, 3 … without gaps", ""},
		{"not from 1", migrations(v2), "migration version 1 is missing", ""},
		{"missing postgres", migrations(map[string]string{
			"0001_a.sqlite.sql": "SELECT 1;",
		}), "migration version 1 has no postgres file: add 0001_a.postgres.sql beside 0001_a.sqlite.sql", ""},
		{"missing sqlite", migrations(union(v1, map[string]string{
			"0002_b.postgres.sql": "SELECT 1;",
		})), "migration version 2 has no sqlite file: add 0002_b.sqlite.sql beside 0002_b.postgres.sql", ""},
		{"duplicate version", migrations(union(v1, map[string]string{
			"1_create_reports.sqlite.sql": "",
		})), `both are version 1 for sqlite`, ""},
		{"two names", migrations(map[string]string{
			"0001_a.sqlite.sql": "", "0001_b.postgres.sql": "",
		}), "version 1 has two names", ""},
		{"bad name", migrations(union(v1, map[string]string{
			"0002_add.sql": "",
		})), `migration file "0002_add.sql": name it VERSION_NAME.sqlite.sql or VERSION_NAME.postgres.sql`, ""},
		{"version 0", migrations(map[string]string{
			"0000_a.sqlite.sql": "", "0000_a.postgres.sql": "",
		}), "the version must be a number from 1 up", ""},
		{"empty", migrations(nil), "no migration files", ""},
		{"nil", nil, "fsys is nil", ""},
		{"embedded directory", fstest.MapFS{
			"migrations/0001_a.sqlite.sql":   {Data: []byte("")},
			"migrations/0001_a.postgres.sql": {Data: []byte("")},
		}, `pass fs.Sub(fsys, "migrations")`, ""},
		{"bad component", migrations(v1), `component "my reports"`, "my reports"},
		{"long component", migrations(v1), `component "` + strings.Repeat("x", 65), strings.Repeat("x", 65)},
	}
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			comp := tt.comp
			if comp == "" {
				comp = "reports"
			}
			err := db.Migrate(t.Context(), comp, tt.fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
			}
		}
		// Refused before touching the database.
		if v := version(t, db, "reports"); v != 0 {
			t.Errorf("version = %d after refused migrations", v)
		}
		var n int
		err := db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+sqldb.MigrationsTable).Scan(&n)
		if err == nil {
			t.Errorf("%s was created by refused migrations", sqldb.MigrationsTable)
		}
		if err := db.Migrate(t.Context(), "", migrations(v1)); err == nil || !strings.Contains(err.Error(), `component ""`) {
			t.Errorf("empty component: err = %v", err)
		}
	})
}

// TestMigrateConcurrent: instances starting together, each with its own
// handle, apply each version once. The migrations are not idempotent (a
// second CREATE TABLE would fail), so any double application shows.
func TestMigrateConcurrent(t *testing.T) {
	three := union(v1, v2, map[string]string{
		"0003_add_table.sqlite.sql":   "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (1);",
		"0003_add_table.postgres.sql": "CREATE TABLE extra (x INTEGER); INSERT INTO extra VALUES (1);",
	})
	audit := map[string]string{
		"0001_create_audit.sqlite.sql":   "CREATE TABLE audit (x INTEGER);",
		"0001_create_audit.postgres.sql": "CREATE TABLE audit (x INTEGER);",
	}
	for _, tc := range []struct {
		name string
		dsn  func(testing.TB) string
	}{
		{"sqlite", sqlstoretest.SQLiteDSN},
		{"postgres", sqlstoretest.PostgresDSN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			const instances = 8
			var dbs []*sqldb.DB
			for range instances {
				dbs = append(dbs, sqlstoretest.Open(t, dsn))
			}
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() {
					// Two components at once as well.
					for comp, files := range map[string]map[string]string{"reports": three, "audit": audit} {
						if err := db.Migrate(t.Context(), comp, migrations(files)); err != nil {
							t.Errorf("instance %d: %v", i, err)
						}
					}
				})
			}
			wg.Wait()
			db := dbs[0]
			if a, b := version(t, db, "reports"), version(t, db, "audit"); a != 3 || b != 1 {
				t.Errorf("versions reports=%d audit=%d, want 3 and 1", a, b)
			}
			if n := sqlstoretest.Count(t, db, "extra"); n != 1 {
				t.Errorf("extra has %d rows: version 3 applied %d times", n, n)
			}
		})
	}
}
