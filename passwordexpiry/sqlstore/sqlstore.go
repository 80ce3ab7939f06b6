// Package sqlstore is the SQL [passwordexpiry.Store], on SQLite or
// PostgreSQL: one table, bulwark_password_expiry, created and kept up to
// date by embedded migrations (component "passwordexpiry" in
// bulwark_schema_migrations).
//
//	db, err := postgres.Open(ctx, "postgres://…") // sqldb/postgres; or sqlite.Open(ctx, "/var/lib/app/bulwark.db")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	gate, err := passwordexpiry.New(passwordexpiry.Config{Store: store, Sessions: sm})
//
// Reads go to the database's readers, writes to its writer (one
// connection on SQLite: see sqldb). Every method returns an
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

	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/sqldb"
)

// Component is the name under which the migrations are recorded.
const Component = "passwordexpiry"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql), for tools that apply them themselves.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations") // never fails: the folder is embedded
	return sub
}

var (
	getRecord     = sqldb.Portable(`SELECT changed_at, reason, required_at FROM bulwark_password_expiry WHERE user_id = ?`)
	upsertRequire = sqldb.Portable(`INSERT INTO bulwark_password_expiry (user_id, reason, required_at, updated_at)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET reason = excluded.reason, required_at = excluded.required_at, updated_at = excluded.updated_at`)
	upsertChanged = sqldb.Portable(`INSERT INTO bulwark_password_expiry (user_id, changed_at, reason, required_at, updated_at)
		VALUES (?, ?, '', NULL, ?)
		ON CONFLICT (user_id) DO UPDATE SET changed_at = excluded.changed_at, reason = '', required_at = NULL, updated_at = excluded.updated_at`)
	deleteRecord = sqldb.Portable(`DELETE FROM bulwark_password_expiry WHERE user_id = ?`)
)

// Store is the SQL [passwordexpiry.Store]. It is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

var _ passwordexpiry.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "passwordexpiry"). db is the one the application shares between the
// suite's stores (sqldb/sqlite.Open, sqldb/postgres.Open or sqldb.New);
// the store does not close it.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("passwordexpiry/sqlstore: New: %w", err)
	}
	return &Store{db: db, now: time.Now}, nil
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
