// Package sqlstore is the SQL [totp.Store], on SQLite or PostgreSQL: two
// tables, bulwark_mfa_totp (secret, replay guard, attempt counter) and
// bulwark_mfa_recovery (hashed recovery codes), created and kept up to date
// by embedded migrations (component "mfa_totp" in
// bulwark_schema_migrations).
//
//	db, err := postgres.Open(ctx, "postgres://…") // sqldb/postgres; or sqlite.Open(ctx, "/var/lib/app/bulwark.db")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	v, err := totp.New(totp.Config{Store: store, Issuer: "Example"})
//
// The checks that change state (Attempt, Accept, Confirm, UseRecoveryCode)
// are single conditional statements, atomic in both dialects: two
// concurrent requests never both pass with one code. Every method returns
// an error, never panics, when the database cannot answer; the gate then
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

	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/sqldb"
)

// Component is the name under which the migrations are recorded.
const Component = "mfa_totp"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql), for tools that apply them themselves.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations") // never fails: the folder is embedded
	return sub
}

var (
	getRecord = sqldb.Portable(`SELECT secret, confirmed, last_step, failures, last_failure, enrolled_at,
		(SELECT COUNT(*) FROM bulwark_mfa_recovery r WHERE r.user_id = t.user_id)
		FROM bulwark_mfa_totp t WHERE user_id = ?`)
	deleteRecovery = sqldb.Portable(`DELETE FROM bulwark_mfa_recovery WHERE user_id = ?`)
	deleteRecord   = sqldb.Portable(`DELETE FROM bulwark_mfa_totp WHERE user_id = ?`)
	insertRecord   = sqldb.Portable(`INSERT INTO bulwark_mfa_totp (user_id, secret, confirmed, last_step, failures, last_failure, enrolled_at)
		VALUES (?, ?, FALSE, 0, 0, NULL, ?)`)
	confirm = sqldb.Portable(`UPDATE bulwark_mfa_totp SET confirmed = TRUE, last_step = ?1, failures = 0, last_failure = NULL
		WHERE user_id = ?2 AND secret = ?3 AND NOT confirmed AND last_step < ?1`)
	attempt = sqldb.Portable(`UPDATE bulwark_mfa_totp SET failures = failures + 1, last_failure = ?1
		WHERE user_id = ?2 AND NOT (failures >= ?3 AND last_failure IS NOT NULL AND last_failure > ?4)`)
	accept = sqldb.Portable(`UPDATE bulwark_mfa_totp SET last_step = ?1, failures = 0, last_failure = NULL
		WHERE user_id = ?2 AND confirmed AND last_step < ?1`)
	hasRecord      = sqldb.Portable(`SELECT COUNT(*) FROM bulwark_mfa_totp WHERE user_id = ?`)
	insertRecovery = sqldb.Portable(`INSERT INTO bulwark_mfa_recovery (user_id, code_hash) VALUES (?, ?)`)
	useRecovery    = sqldb.Portable(`DELETE FROM bulwark_mfa_recovery WHERE user_id = ? AND code_hash = ?`)
	clearFailures  = sqldb.Portable(`UPDATE bulwark_mfa_totp SET failures = 0, last_failure = NULL WHERE user_id = ?`)
)

// Store is the SQL [totp.Store]. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ totp.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "mfa_totp"). db is the one the application shares between the
// suite's stores (sqldb/sqlite.Open, sqldb/postgres.Open or sqldb.New);
// the store does not close it.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("mfa/totp/sqlstore: New: %w", err)
	}
	return &Store{db: db}, nil
}

// Ping reports whether the database answers; the TOTP verifier's Health
// calls it.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// Get implements [totp.Store].
func (s *Store) Get(ctx context.Context, userID string) (totp.Record, bool, error) {
	if err := totp.CheckUserID(userID); err != nil {
		return totp.Record{}, false, err
	}
	var rec totp.Record
	var lastFailure sql.NullTime
	var enrolled time.Time
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(getRecord), userID).Scan(
		&rec.Secret, &rec.Confirmed, &rec.LastStep, &rec.Failures, &lastFailure, &enrolled, &rec.RecoveryCodes)
	if errors.Is(err, sql.ErrNoRows) {
		return totp.Record{}, false, nil
	}
	if err != nil {
		return totp.Record{}, false, fmt.Errorf("mfa/totp/sqlstore: get: %w", err)
	}
	if lastFailure.Valid {
		rec.LastFailure = lastFailure.Time.UTC()
	}
	rec.EnrolledAt = enrolled.UTC()
	return rec, true, nil
}

// Enroll implements [totp.Store].
func (s *Store) Enroll(ctx context.Context, userID, secret string, at time.Time) error {
	if err := totp.CheckUserID(userID); err != nil {
		return err
	}
	if secret == "" || at.IsZero() {
		return errors.New("mfa/totp/sqlstore: Enroll: empty secret or zero time")
	}
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Q(deleteRecovery), userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(deleteRecord), userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Q(insertRecord), userID, secret, stamp(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("mfa/totp/sqlstore: enroll: %w", err)
	}
	return nil
}

// Confirm implements [totp.Store].
func (s *Store) Confirm(ctx context.Context, userID, secret string, step int64) (bool, error) {
	if err := totp.CheckUserID(userID); err != nil {
		return false, err
	}
	return s.update(ctx, "confirm", confirm, step, userID, secret)
}

// Attempt implements [totp.Store].
func (s *Store) Attempt(ctx context.Context, userID string, at time.Time, limit totp.Limit) (bool, error) {
	if err := totp.CheckUserID(userID); err != nil {
		return false, err
	}
	at = stamp(at)
	return s.update(ctx, "attempt", attempt, at, userID, limit.Max, at.Add(-limit.Window))
}

// Accept implements [totp.Store].
func (s *Store) Accept(ctx context.Context, userID string, step int64) (bool, error) {
	if err := totp.CheckUserID(userID); err != nil {
		return false, err
	}
	return s.update(ctx, "accept", accept, step, userID)
}

// update runs a conditional UPDATE and reports whether it changed a row.
func (s *Store) update(ctx context.Context, what string, q sqldb.Query, args ...any) (bool, error) {
	res, err := s.db.Writer().ExecContext(ctx, s.db.Q(q), args...)
	if err != nil {
		return false, fmt.Errorf("mfa/totp/sqlstore: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mfa/totp/sqlstore: %s: %w", what, err)
	}
	return n == 1, nil
}

// SetRecoveryCodes implements [totp.Store].
func (s *Store) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	if err := totp.CheckUserID(userID); err != nil {
		return err
	}
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.db.Q(hasRecord), userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return totp.ErrNoRecord
		}
		if _, err := tx.ExecContext(ctx, s.db.Q(deleteRecovery), userID); err != nil {
			return err
		}
		seen := make(map[string]bool, len(hashes))
		for _, h := range hashes {
			if seen[h] {
				continue // the same hash twice: one code (a duplicate row would abort a PostgreSQL transaction)
			}
			seen[h] = true
			if _, err := tx.ExecContext(ctx, s.db.Q(insertRecovery), userID, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mfa/totp/sqlstore: set recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode implements [totp.Store].
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error) {
	if err := totp.CheckUserID(userID); err != nil {
		return false, err
	}
	used := false
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.db.Q(useRecovery), userID, hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			return nil
		}
		used = true
		_, err = tx.ExecContext(ctx, s.db.Q(clearFailures), userID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mfa/totp/sqlstore: use recovery code: %w", err)
	}
	return used, nil
}

// Delete implements [totp.Store].
func (s *Store) Delete(ctx context.Context, userID string) error {
	if err := totp.CheckUserID(userID); err != nil {
		return err
	}
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Q(deleteRecovery), userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Q(deleteRecord), userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("mfa/totp/sqlstore: delete: %w", err)
	}
	return nil
}

// stamp is t as stored: UTC, to the microsecond (PostgreSQL's precision).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
