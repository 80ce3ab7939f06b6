// Package sqlstore is the SQL [passkey.Store], on SQLite or PostgreSQL:
// two tables, bulwark_passkey_user (the per-user handle) and
// bulwark_passkey_credential (the passkeys), created and kept up to date
// by embedded migrations (component "mfa_passkey" in
// bulwark_schema_migrations).
//
//	db, err := postgres.Open(ctx, "postgres://…") // sqldb/postgres; or sqlite.Open(ctx, "/var/lib/app/bulwark.db")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	pk, err := passkey.New(passkey.Config{Store: store, …})
//
// CreateHandle and Use are single statements, atomic in both dialects:
// two concurrent registrations of one user get one handle, and two
// concurrent uses of one assertion never both pass. Every method returns
// an error, never panics, when the database cannot answer; the ceremonies
// then fail closed. A database serves one RP ID.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/sqldb"
)

// Component is the name under which the migrations are recorded.
const Component = "mfa_passkey"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql), for tools that apply them themselves.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations") // never fails: the folder is embedded
	return sub
}

const columns = `id, user_id, public_key, attestation_type, aaguid, transports, sign_count,
	user_verified, backup_eligible, backup_state, clone_warning, name, created_at, last_used_at`

var (
	getHandle    = sqldb.Portable(`SELECT handle FROM bulwark_passkey_user WHERE user_id = ?`)
	insertHandle = sqldb.Portable(`INSERT INTO bulwark_passkey_user (user_id, handle) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	userOf       = sqldb.Portable(`SELECT user_id FROM bulwark_passkey_user WHERE handle = ?`)
	insertCred   = sqldb.Portable(`INSERT INTO bulwark_passkey_credential (` + columns + `, last_challenge)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	getCred   = sqldb.Portable(`SELECT ` + columns + ` FROM bulwark_passkey_credential WHERE id = ?`)
	listCreds = sqldb.Portable(`SELECT ` + columns + ` FROM bulwark_passkey_credential WHERE user_id = ? ORDER BY created_at, id`)
	use       = sqldb.Portable(`UPDATE bulwark_passkey_credential
		SET sign_count = ?1, user_verified = (user_verified OR ?2), backup_state = ?3, last_used_at = ?4, last_challenge = ?5
		WHERE id = ?6 AND sign_count = ?7 AND NOT clone_warning AND last_challenge <> ?5`)
	flagClone  = sqldb.Portable(`UPDATE bulwark_passkey_credential SET clone_warning = TRUE WHERE id = ?`)
	deleteCred = sqldb.Portable(`DELETE FROM bulwark_passkey_credential WHERE user_id = ? AND id = ?`)
)

// Store is the SQL [passkey.Store]. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ passkey.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "mfa_passkey"). db is the one the application shares between
// the suite's stores (sqldb/sqlite.Open, sqldb/postgres.Open or
// sqldb.New); the store does not close it.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("mfa/passkey/sqlstore: New: %w", err)
	}
	return &Store{db: db}, nil
}

// Ping reports whether the database answers; the passkey verifier's
// Health calls it.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func wrap(what string, err error) error {
	return fmt.Errorf("mfa/passkey/sqlstore: %s: %w", what, err)
}

// Handle implements [passkey.Store].
func (s *Store) Handle(ctx context.Context, userID string) ([]byte, bool, error) {
	if err := passkey.CheckUserID(userID); err != nil {
		return nil, false, err
	}
	var h []byte
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(getHandle), userID).Scan(&h)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap("handle", err)
	}
	return h, true, nil
}

// CreateHandle implements [passkey.Store]: one INSERT … ON CONFLICT DO
// NOTHING, then the user's handle is read back (the writer's view).
func (s *Store) CreateHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if err := passkey.CheckUserID(userID); err != nil {
		return nil, err
	}
	if len(handle) != passkey.HandleLen {
		return nil, fmt.Errorf("mfa/passkey/sqlstore: CreateHandle: a handle of %d bytes, want %d", len(handle), passkey.HandleLen)
	}
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(insertHandle), userID, handle); err != nil {
		return nil, wrap("create handle", err)
	}
	var h []byte
	err := s.db.Writer().QueryRowContext(ctx, s.db.Q(getHandle), userID).Scan(&h)
	switch {
	case errors.Is(err, sql.ErrNoRows): // the insert met another user's handle
		return nil, fmt.Errorf("mfa/passkey/sqlstore: create handle: %w", passkey.ErrDuplicate)
	case err != nil:
		return nil, wrap("create handle", err)
	}
	return h, nil
}

// UserByHandle implements [passkey.Store].
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (string, bool, error) {
	var id string
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(userOf), handle).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, wrap("user by handle", err)
	}
	return id, true, nil
}

// Add implements [passkey.Store].
func (s *Store) Add(ctx context.Context, c passkey.Credential) error {
	if err := passkey.CheckCredential(c); err != nil {
		return err
	}
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		var h []byte
		err := tx.QueryRowContext(ctx, s.db.Q(getHandle), c.UserID).Scan(&h)
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("the user has no handle (CreateHandle first)")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.db.Q(insertCred), c.ID, c.UserID, c.PublicKey, c.AttestationType, nonNil(c.AAGUID),
			strings.Join(c.Transports, ","), int64(c.SignCount), c.UserVerified, c.BackupEligible, c.BackupState,
			c.Name, passkey.Stamp(c.CreatedAt), nullTime(c.LastUsedAt), []byte{})
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(passkey.ErrDuplicate, err)
		}
		return nil
	})
	if err != nil {
		return wrap("add", err)
	}
	return nil
}

// Get implements [passkey.Store].
func (s *Store) Get(ctx context.Context, id []byte) (passkey.Credential, bool, error) {
	c, err := scan(s.db.Reader().QueryRowContext(ctx, s.db.Q(getCred), id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return passkey.Credential{}, false, nil
	case err != nil:
		return passkey.Credential{}, false, wrap("get", err)
	}
	return c, true, nil
}

// List implements [passkey.Store].
func (s *Store) List(ctx context.Context, userID string) ([]passkey.Credential, error) {
	if err := passkey.CheckUserID(userID); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Q(listCreds), userID)
	if err != nil {
		return nil, wrap("list", err)
	}
	defer rows.Close()
	var out []passkey.Credential
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, wrap("list", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list", err)
	}
	return out, nil
}

// Use implements [passkey.Store]: one conditional UPDATE.
func (s *Store) Use(ctx context.Context, id []byte, prevCount uint32, u passkey.Use) (bool, error) {
	res, err := s.db.Writer().ExecContext(ctx, s.db.Q(use), int64(u.SignCount), u.UserVerified, u.BackupState,
		passkey.Stamp(u.At), nonNil(u.Challenge), id, int64(prevCount))
	if err != nil {
		return false, wrap("use", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("use", err)
	}
	return n == 1, nil
}

// FlagClone implements [passkey.Store].
func (s *Store) FlagClone(ctx context.Context, id []byte) error {
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(flagClone), id); err != nil {
		return wrap("flag clone", err)
	}
	return nil
}

// Delete implements [passkey.Store].
func (s *Store) Delete(ctx context.Context, userID string, id []byte) (bool, error) {
	if err := passkey.CheckUserID(userID); err != nil {
		return false, err
	}
	res, err := s.db.Writer().ExecContext(ctx, s.db.Q(deleteCred), userID, id)
	if err != nil {
		return false, wrap("delete", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, wrap("delete", err)
	}
	return n == 1, nil
}

// scan reads a row of the columns above.
func scan(row interface{ Scan(...any) error }) (passkey.Credential, error) {
	var (
		c          passkey.Credential
		transports string
		count      int64
		created    time.Time
		lastUsed   sql.NullTime
	)
	err := row.Scan(&c.ID, &c.UserID, &c.PublicKey, &c.AttestationType, &c.AAGUID, &transports, &count,
		&c.UserVerified, &c.BackupEligible, &c.BackupState, &c.CloneWarning, &c.Name, &created, &lastUsed)
	if err != nil {
		return passkey.Credential{}, err
	}
	if transports != "" {
		c.Transports = strings.Split(transports, ",")
	}
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	c.SignCount = uint32(count)
	c.CreatedAt = created.UTC()
	if lastUsed.Valid {
		c.LastUsedAt = lastUsed.Time.UTC()
	}
	return c, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: passkey.Stamp(t), Valid: true}
}
