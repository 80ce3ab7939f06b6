// Package sqlstore is the SQL [throttle.Store], on SQLite or PostgreSQL:
// one table, bulwark_throttle, created and kept up to date by embedded
// migrations (component "throttle" in bulwark_schema_migrations).
//
//	db, err := postgres.Open(ctx, "postgres://…") // sqldb/postgres; or sqlite.Open(ctx, "/var/lib/app/bulwark.db")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	th, err := throttle.New(throttle.Config{Store: store, Logger: sec})
//
// Take is one write transaction that locks each counter's row (an upsert,
// in the order of the keys, so two transactions never wait for each other
// in a circle) before it judges, so concurrent attempts on any number of
// instances never both take the last free attempt. Forgotten rows are
// deleted now and then by Take itself.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/throttle"
)

// Component is the name under which the migrations are recorded.
const Component = "throttle"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations, for tools that apply them
// themselves.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations") // never fails: the folder is embedded
	return sub
}

var (
	// lockRow makes sure the counter's row exists and locks it (the
	// upsert's row lock on PostgreSQL; the IMMEDIATE transaction on
	// SQLite), returning its values.
	lockRow = sqldb.Portable(`INSERT INTO bulwark_throttle (key, attempts, last_at, forget_at) VALUES (?, 0, ?, ?)
		ON CONFLICT (key) DO UPDATE SET key = excluded.key
		RETURNING attempts, last_at, forget_at`)
	countRow     = sqldb.Portable(`UPDATE bulwark_throttle SET attempts = ?, last_at = ?, forget_at = ? WHERE key = ?`)
	deleteRow    = sqldb.Portable(`DELETE FROM bulwark_throttle WHERE key = ?`)
	deletePrefix = sqldb.Portable(`DELETE FROM bulwark_throttle WHERE key LIKE ? ESCAPE '!'`)
	sweep        = sqldb.Portable(`DELETE FROM bulwark_throttle WHERE forget_at <= ?`)
)

// sweepEvery is how many Takes pass between two deletions of forgotten
// rows.
const sweepEvery = 256

// Store is the SQL [throttle.Store]. It is safe for concurrent use.
type Store struct {
	db    *sqldb.DB
	takes atomic.Uint64
}

var _ throttle.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "throttle"). db is the one the application shares between
// the suite's stores; the store does not close it. Instances of a fleet
// each call New on the same PostgreSQL database: the migrations and the
// counters hold under concurrency.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("throttle/sqlstore: New: %w", err)
	}
	return &Store{db: db}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// errRefused rolls back the transaction of a refused attempt.
var errRefused = errors.New("refused")

// Take implements [throttle.Store].
func (s *Store) Take(ctx context.Context, now time.Time, counters []throttle.Counter) (throttle.Verdict, error) {
	now = stamp(now)
	order := make([]int, len(counters))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(counters[a].Key, counters[b].Key) })
	var v throttle.Verdict
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		v = throttle.Verdict{Refused: -1}
		attempts := make([]int64, len(counters))
		for _, i := range order {
			c := counters[i]
			var n int64
			var last, forget time.Time
			if err := tx.QueryRowContext(ctx, s.db.Q(lockRow), c.Key, now, now).Scan(&n, &last, &forget); err != nil {
				return err
			}
			if !now.Before(forget) {
				n = 0
			}
			attempts[i] = n
			if until := stamp(last).Add(c.Rule.Wait(n)); n > 0 && now.Before(until) && (v.Refused < 0 || until.After(v.RetryAt)) {
				v.Refused, v.RetryAt = i, until
			}
		}
		if v.Refused >= 0 {
			return errRefused
		}
		v = throttle.Verdict{OK: true, Failures: make([]int64, len(counters))}
		for _, i := range order {
			c := counters[i]
			v.Failures[i] = attempts[i] + 1
			if _, err := tx.ExecContext(ctx, s.db.Q(countRow), v.Failures[i], now, now.Add(c.Rule.Forget), c.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errRefused) {
		return v, nil
	}
	if err != nil {
		return throttle.Verdict{}, fmt.Errorf("throttle/sqlstore: take: %w", err)
	}
	if s.takes.Add(1)%sweepEvery == 0 {
		// Best effort: a failed sweep is retried at the next one.
		_, _ = s.db.Writer().ExecContext(ctx, s.db.Q(sweep), now)
	}
	return v, nil
}

// Delete implements [throttle.Store].
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return ctx.Err()
	}
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, s.db.Q(deleteRow), k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("throttle/sqlstore: delete: %w", err)
	}
	return nil
}

// DeletePrefix implements [throttle.Store].
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("throttle/sqlstore: DeletePrefix: empty prefix")
	}
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(deletePrefix), r.Replace(prefix)+"%"); err != nil {
		return fmt.Errorf("throttle/sqlstore: delete prefix: %w", err)
	}
	return nil
}

// stamp is t as stored: UTC, to the microsecond (PostgreSQL's precision).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
