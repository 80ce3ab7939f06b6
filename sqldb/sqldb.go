// Package sqldb is the database handle that every SQL store of the suite
// takes: one [*DB] per process, shared by cspreport/sqlstore,
// mfa/totp/sqlstore, passwordexpiry/sqlstore, throttle/sqlstore and the
// application's own tables, on SQLite or PostgreSQL.
//
// The package links no driver. Open a database with the subpackage of the
// driver you use, which links that driver alone:
//
//	db, err := sqlite.Open(ctx, "/var/lib/app/bulwark.db") // sqldb/sqlite: modernc.org/sqlite
//	db, err := postgres.Open(ctx, "postgres://app@db/app") // sqldb/postgres: pgx
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db) // each store migrates its own tables
//
// or wrap *sql.DB handles you opened yourself with [New]. An SQLite-only
// program then carries no PostgreSQL driver, and the reverse.
//
// # Reads and writes
//
// Write through [DB.Writer] or [DB.WithTx]; read through [DB.Reader]. On
// SQLite the writer is a single connection, so concurrent writers of one
// process queue in Go instead of failing with SQLITE_BUSY, and (opened by
// sqldb/sqlite) its transactions begin IMMEDIATE, so writers of several
// processes wait for each other (busy_timeout) instead of failing when
// they upgrade a read lock. The readers are a pool of read-only
// (query_only) connections that read beside the writer thanks to WAL; a
// write sent to [DB.Reader] fails, loudly. On PostgreSQL both are the same
// pool.
//
// Inside [DB.WithTx], use only the *sql.Tx: a statement sent to
// [DB.Writer] from inside the transaction waits for the one writer
// connection, which the transaction holds, forever.
//
// # Queries and migrations
//
// A [Query] holds one statement in both dialects, side by side; [Portable]
// writes it once when only the placeholders differ, and [DB.Q] picks the
// text at run time. [DB.Migrate] applies a component's embedded, versioned
// migrations, once, even when several instances start together.
//
// # Times
//
// Declare time columns TIMESTAMP in SQLite and TIMESTAMPTZ in PostgreSQL and
// pass and scan time.Time. On SQLite opened by sqldb/sqlite, times are
// written in UTC as "2006-01-02 15:04:05.999999999+00:00", which SQLite's
// date functions understand and which sorts and compares as text in time
// order, so `WHERE expires_at < ?` works in both dialects. PostgreSQL keeps
// microseconds, SQLite nanoseconds: truncate to the microsecond if a store
// compares times it read back with times it holds.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Dialect is the SQL dialect of a [DB]: which text of a [Query] runs, and
// which migration files apply.
type Dialect int

// The dialects a [DB] can speak.
const (
	// SQLite is the embedded database (sqldb/sqlite opens it with
	// modernc.org/sqlite, pure Go).
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL (sqldb/postgres opens it with pgx).
	Postgres
)

// String returns "sqlite" or "postgres", the word used in migration file
// names.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// DB is an open database of either dialect: a writer handle and a reader
// handle. It is safe for concurrent use. Open one per process, share it
// between the stores, and close it when the process ends.
type DB struct {
	dialect Dialect
	reader  *sql.DB
	writer  *sql.DB
}

// New returns the DB made of handles you opened yourself, with a driver of
// your choice: writer takes the writes and transactions, reader the reads;
// a nil reader means writer does both. The DB owns them: [DB.Close] closes
// both.
//
// On SQLite, writer must hold at most one connection
// (writer.SetMaxOpenConns(1)), or concurrent writes fail with SQLITE_BUSY;
// New refuses any other setting. Give its DSN a busy timeout, WAL and, if
// the driver can, IMMEDIATE transactions, and open reader query-only: what
// sqldb/sqlite.Open does, which is the simpler way. On PostgreSQL, pass one
// pool as writer and leave reader nil (or pass a replica's pool as reader,
// if the stores may read a little behind their writes: they are not
// written for that).
//
// New does not connect; call [DB.Ping] to check that the database answers.
func New(d Dialect, writer, reader *sql.DB) (*DB, error) {
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("sqldb: New: dialect %v: use sqldb.SQLite or sqldb.Postgres", d)
	}
	if writer == nil {
		return nil, errors.New("sqldb: New: writer is nil: pass the *sql.DB that takes the writes")
	}
	if reader == nil {
		reader = writer
	}
	if d == SQLite {
		if n := writer.Stats().MaxOpenConnections; n != 1 {
			return nil, fmt.Errorf("sqldb: New: the SQLite writer may open %s connections: call writer.SetMaxOpenConns(1), "+
				"so that writes queue instead of failing with SQLITE_BUSY", maxConns(n))
		}
	}
	return &DB{dialect: d, reader: reader, writer: writer}, nil
}

func maxConns(n int) string {
	if n <= 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

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
		return fmt.Errorf("sqldb: ping %s: %w", db.dialect, err)
	}
	if db.reader != db.writer {
		if err := db.reader.PingContext(ctx); err != nil {
			return fmt.Errorf("sqldb: ping %s readers: %w", db.dialect, err)
		}
	}
	return nil
}

// Close closes every connection, the readers' and the writer's. Close the
// stores first: they stop their background work and write what they hold.
// Calling Close more than once is harmless.
func (db *DB) Close() error {
	var errs []error
	if db.reader != db.writer {
		errs = append(errs, db.reader.Close())
	}
	errs = append(errs, db.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqldb: close %s: %w", db.dialect, err)
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
		return fmt.Errorf("sqldb: begin %s transaction: %w", db.dialect, err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		// Reached when fn failed, panicked or Commit failed. On a panic the
		// rollback runs and the panic then continues on its way.
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("sqldb: rollback: %w", rbErr))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit %s transaction: %w", db.dialect, err)
	}
	done = true
	return nil
}
