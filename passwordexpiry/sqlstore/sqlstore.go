// Package sqlstore is the SQL [passwordexpiry.Store], on SQLite or
// PostgreSQL: one table, bulwark_password_expiry, created and kept up to
// date by embedded migrations (component "passwordexpiry" in
// bulwark_schema_migrations).
//
//	store, err := sqlstore.Open(ctx, "postgres://…") // or "sqlite:/var/lib/app/bulwark.db"
//	defer store.Close()
//	gate, err := passwordexpiry.New(passwordexpiry.Config{Store: store, Sessions: sm})
//
// Reads go to the database's readers, writes to its writer (one
// connection on SQLite: see internal/sqlstore). Every method returns an
// error, never panics, when the database cannot answer; the gate then
// fails closed.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	isql "github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/passwordexpiry"
)

// Component is the name under which the migrations are recorded.
const Component = "passwordexpiry"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql), for tools that apply them themselves.
func Migrations() fs.FS { return isql.MigrationsIn(migrationFiles, "migrations") }

var (
	getRecord     = isql.Portable(`SELECT changed_at, reason, required_at FROM bulwark_password_expiry WHERE user_id = ?`)
	upsertRequire = isql.Portable(`INSERT INTO bulwark_password_expiry (user_id, reason, required_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, required_at = excluded.required_at, updated_at = excluded.updated_at`)
	upsertChanged = isql.Portable(`INSERT INTO bulwark_password_expiry (user_id, changed_at, reason, required_at, updated_at)
		VALUES (?, ?, '', NULL, ?)
		ON CONFLICT (user_id) DO UPDATE SET changed_at = excluded.changed_at, reason = '', required_at = NULL, updated_at = excluded.updated_at`)
	deleteRecord = isql.Portable(`DELETE FROM bulwark_password_expiry WHERE user_id = ?`)
)

// Store is the SQL [passwordexpiry.Store]. It is safe for concurrent use.
type Store struct {
	db  *isql.DB
	own bool // Close closes db
	now func() time.Time
}

var _ passwordexpiry.Store = (*Store)(nil)

// Open opens the database that dsn names ("postgres://…", "sqlite:PATH",
// a file path; see internal/sqlstore.Open), brings its schema up to date
// and returns the store. Close it when the process ends.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := isql.OpenFor(ctx, dsn, New)
	if err != nil {
		return nil, err
	}
	s.own = true
	return s, nil
}

// New returns the store on db, an open database shared with the suite's
// other stores, after bringing its schema up to date. Closing the store
// does not close db.
func New(ctx context.Context, db *isql.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("passwordexpiry/sqlstore: New: db is nil: open one with Open(ctx, dsn)")
	}
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("passwordexpiry/sqlstore: %w", err)
	}
	return &Store{db: db, now: time.Now}, nil
}

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if !s.own {
		return nil
	}
	return s.db.Close()
}

// Get implements [passwordexpiry.Store].
func (s *Store) Get(ctx context.Context, userID string) (passwordexpiry.Record, bool, error) {
	if err := passwordexpiry.CheckUserID(userID); err != nil {
		return passwordexpiry.Record{}, false, err
	}
	var changed, required sql.NullTime
	var reason string
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(getRecord), userID).Scan(&changed, &reason, &required)
	if errors.Is(err, sql.ErrNoRows) {
		return passwordexpiry.Record{}, false, nil
	}
	if err != nil {
		return passwordexpiry.Record{}, false, fmt.Errorf("passwordexpiry/sqlstore: get: %w", err)
	}
	rec := passwordexpiry.Record{Reason: passwordexpiry.Reason(reason)}
	if changed.Valid {
		rec.ChangedAt = changed.Time.UTC()
	}
	if required.Valid && rec.Reason != passwordexpiry.None {
		rec.RequiredAt = required.Time.UTC()
	}
	return rec, true, nil
}

// Require implements [passwordexpiry.Store].
func (s *Store) Require(ctx context.Context, userID string, reason passwordexpiry.Reason, at time.Time) error {
	if err := passwordexpiry.CheckRequire(userID, reason, at); err != nil {
		return err
	}
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(upsertRequire), userID, string(reason), stamp(at), stamp(s.now())); err != nil {
		return fmt.Errorf("passwordexpiry/sqlstore: require: %w", err)
	}
	return nil
}

// Changed implements [passwordexpiry.Store].
func (s *Store) Changed(ctx context.Context, userID string, at time.Time) error {
	if err := passwordexpiry.CheckChanged(userID, at); err != nil {
		return err
	}
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(upsertChanged), userID, stamp(at), stamp(s.now())); err != nil {
		return fmt.Errorf("passwordexpiry/sqlstore: changed: %w", err)
	}
	return nil
}

// Delete implements [passwordexpiry.Store].
func (s *Store) Delete(ctx context.Context, userID string) error {
	if err := passwordexpiry.CheckUserID(userID); err != nil {
		return err
	}
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(deleteRecord), userID); err != nil {
		return fmt.Errorf("passwordexpiry/sqlstore: delete: %w", err)
	}
	return nil
}

// stamp is t as stored: UTC, to the microsecond (PostgreSQL's precision).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
