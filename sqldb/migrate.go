package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MigrationsTable is the table in which [DB.Migrate] records the versions it
// applied, one row per component and version.
const MigrationsTable = "bulwark_schema_migrations"

// ErrNewerSchema is returned (wrapped) by [DB.Migrate] when the database was
// migrated by a newer release than the running one: the code does not know
// the schema it would work on.
var ErrNewerSchema = errors.New("database schema is newer than this program")

var (
	createMigrationsTable = Query{
		SQLite: `CREATE TABLE IF NOT EXISTS ` + MigrationsTable + ` (
			component  TEXT      NOT NULL,
			version    INTEGER   NOT NULL,
			name       TEXT      NOT NULL,
			applied_at TIMESTAMP NOT NULL,
			PRIMARY KEY (component, version))`,
		Postgres: `CREATE TABLE IF NOT EXISTS ` + MigrationsTable + ` (
			component  TEXT        NOT NULL,
			version    INTEGER     NOT NULL,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (component, version))`,
	}
	// Migrations of one schema wait for each other, whatever the component:
	// the lock also covers the creation of the table. The first key is
	// bulwark's own (0x62756c77, "bulw"), the second the schema's.
	lockMigrations = Query{
		Postgres: `SELECT pg_advisory_xact_lock(1651862647, hashtext(COALESCE(current_schema(), '')))`,
	}
	selectSchemaVersion = Portable(`SELECT COALESCE(MAX(version), 0) FROM ` + MigrationsTable + ` WHERE component = ?`)
	insertMigration     = Portable(`INSERT INTO ` + MigrationsTable + ` (component, version, name, applied_at) VALUES (?, ?, ?, ?)`)
)

// migration is one version of a component's schema, in both dialects.
type migration struct {
	version int
	name    string             // "create_reports"
	files   map[Dialect]string // file names
	sql     map[Dialect]string
}

var (
	migrationFileRE = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_-]+)\.(sqlite|postgres)\.sql$`)
	componentRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// Migrate brings the schema of component up to date with the migrations in
// fsys, and does nothing when it already is.
//
// fsys holds, at its root, one file per version and dialect, named
// VERSION_NAME.sqlite.sql and VERSION_NAME.postgres.sql, such as
// 0001_create_reports.sqlite.sql and 0001_create_reports.postgres.sql.
// Versions start at 1 and have no gaps; each has both dialect files, with
// the same NAME; files not ending in .sql are ignored. A file may hold
// several statements; an empty one is a version with nothing to do in that
// dialect. Typically:
//
//	//go:embed migrations/*.sql
//	var migrationFiles embed.FS
//	migrations, _ := fs.Sub(migrationFiles, "migrations")
//
// Each missing version is applied in its own write transaction with its row
// in [MigrationsTable], so a version that fails leaves nothing behind, and a
// migration cannot hold what PostgreSQL refuses in a transaction (CREATE
// INDEX CONCURRENTLY) nor change SQLite's foreign_keys setting. Instances that start together are safe: on
// PostgreSQL each transaction holds an advisory lock (pg_advisory_xact_lock)
// and reads the version again under it; on SQLite the transactions begin
// IMMEDIATE. Migrate refuses malformed migrations before touching the
// database, and refuses a database at a newer version than fsys knows
// ([ErrNewerSchema]).
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	if db == nil {
		// A store's New migrates first: this is where a nil db is caught,
		// once for every store.
		return errors.New("db is nil: open one with sqldb/sqlite.Open or sqldb/postgres.Open")
	}
	if !componentRE.MatchString(component) {
		return fmt.Errorf("sqldb: migrate: component %q: use 1 to 64 letters, digits, '_', '.' or '-', such as \"cspreport\"", component)
	}
	ms, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", component, err)
	}
	for {
		var applied bool
		err := db.WithTx(ctx, func(tx *sql.Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, db.Q(lockMigrations)); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, db.Q(createMigrationsTable)); err != nil {
				return fmt.Errorf("create %s: %w", MigrationsTable, err)
			}
			var cur int
			if err := tx.QueryRowContext(ctx, db.Q(selectSchemaVersion), component).Scan(&cur); err != nil {
				return fmt.Errorf("read version: %w", err)
			}
			if cur > len(ms) {
				return fmt.Errorf("%w: the database is at version %d, this program knows versions up to %d: "+
					"run the release that migrated it, or restore a backup made for this one", ErrNewerSchema, cur, len(ms))
			}
			if cur == len(ms) {
				return nil
			}
			m := ms[cur]
			if text := m.sql[db.dialect]; strings.TrimSpace(text) != "" {
				if _, err := tx.ExecContext(ctx, text); err != nil {
					return fmt.Errorf("apply %s: %w", m.files[db.dialect], err)
				}
			}
			if _, err := tx.ExecContext(ctx, db.Q(insertMigration), component, m.version, m.name, time.Now().UTC()); err != nil {
				return fmt.Errorf("record %s: %w", m.files[db.dialect], err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s on %s: %w", component, db.dialect, err)
		}
		if !applied {
			return nil
		}
	}
}

// SchemaVersion returns the latest version of component's schema applied to
// the database, or 0 when none is.
func (db *DB) SchemaVersion(ctx context.Context, component string) (int, error) {
	var exists, v int
	err := db.Reader().QueryRowContext(ctx, db.Q(migrationsTableExists)).Scan(&exists)
	if err == nil && exists > 0 {
		err = db.Reader().QueryRowContext(ctx, db.Q(selectSchemaVersion), component).Scan(&v)
	}
	if err != nil {
		return 0, fmt.Errorf("sqldb: schema version of %s on %s: %w", component, db.dialect, err)
	}
	return v, nil
}

var migrationsTableExists = Query{
	SQLite:   `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '` + MigrationsTable + `'`,
	Postgres: `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = '` + MigrationsTable + `'`,
}

// loadMigrations reads and checks the migrations at the root of fsys.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	if fsys == nil {
		return nil, errors.New("no migrations: fsys is nil")
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	byVersion := map[int]*migration{}
	var dirs []string
	for _, e := range entries {
		fname := e.Name()
		if e.IsDir() {
			dirs = append(dirs, fname)
			continue
		}
		if !strings.HasSuffix(fname, ".sql") {
			continue
		}
		m := migrationFileRE.FindStringSubmatch(fname)
		if m == nil {
			return nil, fmt.Errorf("migration file %q: name it VERSION_NAME.sqlite.sql or VERSION_NAME.postgres.sql, such as 0001_create_reports.sqlite.sql", fname)
		}
		version, err := strconv.Atoi(m[1])
		if err != nil || version < 1 {
			return nil, fmt.Errorf("migration file %q: the version must be a number from 1 up", fname)
		}
		d := SQLite
		if m[3] == "postgres" {
			d = Postgres
		}
		mig := byVersion[version]
		if mig == nil {
			mig = &migration{version: version, name: m[2], files: map[Dialect]string{}, sql: map[Dialect]string{}}
			byVersion[version] = mig
		}
		if prev, dup := mig.files[d]; dup {
			return nil, fmt.Errorf("migration files %q and %q: both are version %d for %s; give each version one file per dialect", prev, fname, version, d)
		}
		if mig.name != m[2] {
			var other string
			for _, f := range mig.files {
				other = f
			}
			return nil, fmt.Errorf("migration files %q and %q: version %d has two names; name both dialect files the same", other, fname, version)
		}
		b, err := fs.ReadFile(fsys, fname)
		if err != nil {
			return nil, fmt.Errorf("read migration: %w", err)
		}
		mig.files[d] = fname
		mig.sql[d] = string(b)
	}
	if len(byVersion) == 0 {
		if len(dirs) > 0 {
			return nil, fmt.Errorf("no migration files at the root of fsys, only directories %q: pass fs.Sub(fsys, %q)", dirs, dirs[0])
		}
		return nil, errors.New("no migration files (VERSION_NAME.sqlite.sql and VERSION_NAME.postgres.sql) at the root of fsys")
	}
	ms := make([]migration, 0, len(byVersion))
	for v := 1; len(ms) < len(byVersion); v++ {
		mig := byVersion[v]
		if mig == nil {
			return nil, fmt.Errorf("migration version %d is missing: versions must run 1, 2, 3 … without gaps", v)
		}
		for d, other := range map[Dialect]Dialect{SQLite: Postgres, Postgres: SQLite} {
			if _, ok := mig.files[d]; !ok {
				twin := strings.TrimSuffix(mig.files[other], "."+other.String()+".sql") + "." + d.String() + ".sql"
				return nil, fmt.Errorf("migration version %d has no %s file: add %s beside %s (it may be empty)", v, d, twin, mig.files[other])
			}
		}
		ms = append(ms, *mig)
	}
	return ms, nil
}
