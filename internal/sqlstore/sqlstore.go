// Package sqlstore is what the SQL stores of the suite share: opening a
// database from one DSN (SQLite, the embedded default, or PostgreSQL),
// writing each query once with its two dialects side by side, and embedded,
// versioned migrations for both dialects.
//
// A store (passwordexpiry, cspreport, mfa, sessions …) holds a [*DB] and uses
// plain database/sql on it, whatever the dialect:
//
//	db, err := sqlstore.Open(ctx, cfg.DSN) // "sqlite:/var/lib/app/bulwark.db" or "postgres://…"
//	err = db.Migrate(ctx, "cspreport", migrations) // //go:embed migrations/*.sql, then fs.Sub
//	err = db.WithTx(ctx, func(tx *sql.Tx) error {
//		_, err := tx.ExecContext(ctx, db.Q(insertReport), args...)
//		return err
//	})
//	rows, err := db.Reader().QueryContext(ctx, db.Q(listReports), since)
//
// # Reads and writes
//
// Write through [DB.Writer] or [DB.WithTx]; read through [DB.Reader]. On
// SQLite the writer is a single connection, so concurrent writers of one
// process queue in Go instead of failing with SQLITE_BUSY, and its
// transactions begin IMMEDIATE, so writers of several processes wait for
// each other (busy_timeout) instead of failing when they upgrade a read lock.
// The readers are a pool of read-only (query_only) connections that read
// beside the writer thanks to WAL; a write sent to [DB.Reader] fails, loudly.
// On PostgreSQL both are the same pool.
//
// Inside [DB.WithTx], use only the *sql.Tx: a statement sent to
// [DB.Writer] from inside the transaction waits for the one writer
// connection, which the transaction holds, forever.
//
// # Times
//
// Declare time columns TIMESTAMP in SQLite and TIMESTAMPTZ in PostgreSQL and
// pass and scan time.Time. On SQLite, times are written in UTC as
// "2006-01-02 15:04:05.999999999+00:00" (the driver's _time_format=sqlite and
// _timezone=UTC), which SQLite's date functions understand and which sorts
// and compares as text in time order, so `WHERE expires_at < ?` works in both
// dialects. PostgreSQL keeps microseconds, SQLite nanoseconds: truncate to
// the microsecond if a store compares times it read back with times it holds.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Dialect is the SQL dialect of a [DB].
type Dialect int

// The dialects a [DB] can speak.
const (
	// SQLite is the embedded database (modernc.org/sqlite, pure Go).
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL, through a pgx pool.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// DB is an open database of either dialect. It is safe for concurrent use.
// Open one per process and share it; close it when the process ends.
type DB struct {
	dialect Dialect
	reader  *sql.DB
	writer  *sql.DB
	pool    *pgxpool.Pool // PostgreSQL only
	file    string        // SQLite on a file only: its path
}

// File returns the path of an SQLite database's file, for stores that
// keep files of their own beside it; "" for PostgreSQL and in-memory
// databases.
func (db *DB) File() string { return db.file }

// Dialect reports which SQL dialect the database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Reader returns the handle for reads. On SQLite it is a pool of read-only
// connections (a write through it fails); on PostgreSQL it is the same
// handle as [DB.Writer].
func (db *DB) Reader() *sql.DB { return db.reader }

// Writer returns the handle for writes. On SQLite it holds a single
// connection, so writes queue instead of failing with SQLITE_BUSY; prefer
// [DB.WithTx] when a write has more than one statement.
func (db *DB) Writer() *sql.DB { return db.writer }

// Q returns the text of q for the database's dialect; see [Query.For].
func (db *DB) Q(q Query) string { return q.For(db.dialect) }

// Ping checks that the database answers, on the writer and the readers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", db.dialect, err)
	}
	if db.reader != db.writer {
		if err := db.reader.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping %s readers: %w", db.dialect, err)
		}
	}
	return nil
}

// Close closes every connection. Calling it more than once is harmless.
func (db *DB) Close() error {
	var errs []error
	if db.reader != db.writer {
		errs = append(errs, db.reader.Close())
	}
	errs = append(errs, db.writer.Close())
	if db.pool != nil {
		db.pool.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: close %s: %w", db.dialect, err)
	}
	return nil
}

// WithTx runs fn in a write transaction and commits it when fn returns nil.
// When fn returns an error, or panics, the transaction is rolled back and
// the error is returned as is (or the panic goes on). fn must use only tx:
// see the package documentation.
func (db *DB) WithTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin %s transaction: %w", db.dialect, err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		// Reached when fn failed, panicked or Commit failed. On a panic the
		// rollback runs and the panic then continues on its way.
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("sqlstore: rollback: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit %s transaction: %w", db.dialect, err)
	}
	done = true
	return nil
}

// OpenFor opens the database that dsn names (see [Open]) and builds a
// package's store on it with build (which migrates its schema). When build
// fails the database is closed again. It is what each store's own
// Open(ctx, dsn) does; the caller marks the store as owning the database.
func OpenFor[S any](ctx context.Context, dsn string, build func(context.Context, *DB) (S, error)) (S, error) {
	db, err := Open(ctx, dsn)
	if err != nil {
		var zero S
		return zero, err
	}
	s, err := build(ctx, db)
	if err != nil {
		db.Close()
	}
	return s, err
}

// MigrationsIn returns the migrations folder dir of an embedded file
// system, for [DB.Migrate]. It panics if dir is not in fsys: the folder is
// embedded at compile time.
func MigrationsIn(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
