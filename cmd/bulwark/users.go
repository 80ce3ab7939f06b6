package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// demoUser is one of the demo's accounts.
type demoUser struct {
	identity.Basic
	password string // only for seeding
}

// account is a user as the demo's store knows it. Its credential stamp is
// its password hash and its session epoch: a password change, an
// administrator's reset or a "log out everywhere" (a new epoch) ends every
// session made before, on every demo sharing the database
// (identity.CredentialStamper).
type account struct {
	identity.Basic
	hash  string
	epoch int64
}

// CredentialStamp implements identity.CredentialStamper.
func (a *account) CredentialStamp() string { return a.hash + "$" + strconv.FormatInt(a.epoch, 10) }

// demoAccounts are created on first start. They are a contract: external
// checks log in with them.
var demoAccounts = []demoUser{
	{identity.Basic{UserID: "alice", Name: "Alice", IsActive: true}, "alice-password"},
	{identity.Basic{UserID: "admin", Name: "Admin", IsActive: true, IsStaff: true, IsSuperuser: true}, "admin-password"},
	{identity.Basic{UserID: "expired", Name: "Expired Password", IsActive: true}, "expired-password"},
	{identity.Basic{UserID: "carol", Name: "Carol", IsActive: true}, "carol-password"}, // enrolled in TOTP
}

// pbkdf2Iterations follows OWASP's 2023 advice for PBKDF2-HMAC-SHA256.
const pbkdf2Iterations = 600_000

// hashPassword returns "pbkdf2-sha256$ITER$SALT$KEY" (base64).
func hashPassword(password string, iter int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iter, 32)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iter, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// passwordChecks counts the password hashes computed to check a login
// (tests read it: a throttled attempt must cost no hash).
var passwordChecks atomic.Int64

// checkPassword reports whether password matches the stored hash, in
// constant time with respect to the key.
func checkPassword(stored, password string) bool {
	passwordChecks.Add(1)
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[2])
	want, err2 := b64.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// userStore keeps the demo's users in its database.
type userStore struct {
	db *sqldb.DB
	// dummyHash is checked for unknown user names, so that a login
	// attempt takes as long whether the name exists or not.
	dummyHash string
	iter      int      // PBKDF2 iterations of new hashes
	created   []string // the accounts made by this start (first start)
}

func newUserStore(ctx context.Context, db *sqldb.DB, iter int) (*userStore, error) {
	files, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, "demo", files); err != nil {
		return nil, err
	}
	dummy, err := hashPassword("not a password", iter)
	if err != nil {
		return nil, err
	}
	s := &userStore{db: db, dummyHash: dummy, iter: iter}
	for _, a := range demoAccounts {
		created, err := s.seed(ctx, a, iter)
		if err != nil {
			return nil, fmt.Errorf("seed user %s: %w", a.UserID, err)
		}
		if created {
			s.created = append(s.created, a.UserID)
		}
	}
	return s, nil
}

var (
	qSeed = sqldb.Query{
		SQLite:   `INSERT INTO demo_users (id, name, password_hash, is_active, is_staff, is_superuser) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		Postgres: `INSERT INTO demo_users (id, name, password_hash, is_active, is_staff, is_superuser) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
	}
	qUser = sqldb.Portable(`SELECT id, name, password_hash, session_epoch, is_active, is_staff, is_superuser FROM demo_users WHERE id = ?`)
)

// seed creates a demo account unless it exists, and reports whether it did.
func (s *userStore) seed(ctx context.Context, a demoUser, iter int) (bool, error) {
	var exists int
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(sqldb.Portable(`SELECT 1 FROM demo_users WHERE id = ?`)), a.UserID).Scan(&exists)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	hash, err := hashPassword(a.password, iter)
	if err != nil {
		return false, err
	}
	res, err := s.db.Writer().ExecContext(ctx, s.db.Q(qSeed), a.UserID, a.Name, hash, a.IsActive, a.IsStaff, a.IsSuperuser)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// lookup returns the user with the given id, nil when there is none.
// It is identity.SessionsConfig.Lookup: called on every request of a
// logged-in session, it reads the credential stamp from the database, so
// a change made on one demo is seen by every other.
func (s *userStore) lookup(ctx context.Context, id string) (identity.User, error) {
	u, err := s.load(ctx, id)
	if u == nil || err != nil {
		return nil, err
	}
	return u, nil
}

func (s *userStore) load(ctx context.Context, id string) (*account, error) {
	var u account
	err := s.db.Reader().QueryRowContext(ctx, s.db.Q(qUser), id).Scan(&u.UserID, &u.Name, &u.hash, &u.epoch, &u.IsActive, &u.IsStaff, &u.IsSuperuser)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// authenticate checks a user name and password. It returns the user, nil
// for wrong credentials, or an error when the store failed.
func (s *userStore) authenticate(ctx context.Context, name, password string) (identity.User, error) {
	if len(name) > 150 || len(password) > 1024 {
		checkPassword(s.dummyHash, password[:min(len(password), 1024)])
		return nil, nil
	}
	u, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		checkPassword(s.dummyHash, password)
		return nil, nil
	}
	if !checkPassword(u.hash, password) || !u.IsActive {
		return nil, nil
	}
	return u, nil
}

var (
	qSetPassword = sqldb.Portable(`UPDATE demo_users SET password_hash = ? WHERE id = ?`)
	qNewEpoch    = sqldb.Portable(`UPDATE demo_users SET session_epoch = session_epoch + 1 WHERE id = ?`)
)

// revoke starts a new session epoch for the user: every session made
// before ends at its next request (identity.SessionsConfig.Revoke).
func (s *userStore) revoke(ctx context.Context, id string) error {
	_, err := s.db.Writer().ExecContext(ctx, s.db.Q(qNewEpoch), id)
	return err
}

// setPassword stores a new password for the user: the user's own change
// (the change handler then keeps its session with passwordexpiry.Changed)
// and an administrator's reset alike end every session made under the old
// one.
func (s *userStore) setPassword(ctx context.Context, id, password string) error {
	hash, err := hashPassword(password, s.iter)
	if err != nil {
		return err
	}
	_, err = s.db.Writer().ExecContext(ctx, s.db.Q(qSetPassword), hash, id)
	return err
}

// noPassword is the password hash of an account made by a login at an
// identity provider: no password matches it (checkPassword reads four
// fields), so the account is reached through the provider only.
const noPassword = "!"

// federated reports whether the account was made by a provider login.
func (a *account) federated() bool { return a.hash == noPassword }

// federatedID is the demo's account id of the provider's user (issuer,
// subject): the pair, never the e-mail or the provider's user name, which
// the provider may reuse. It holds "|" and the issuer's "://", which no
// password account's id does, so a provider user can never become one of
// them.
func federatedID(issuer, subject string) string { return issuer + "|" + subject }

var qUpsertFederated = sqldb.Query{
	SQLite: `INSERT INTO demo_users (id, name, password_hash, is_active, is_staff, is_superuser) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, is_staff = excluded.is_staff`,
	Postgres: `INSERT INTO demo_users (id, name, password_hash, is_active, is_staff, is_superuser) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, is_staff = excluded.is_staff`,
}

// federatedLogin is the demo's oidc.Config.Claims: it finds the account of
// the provider's user (issuer, subject), creating it at the first login,
// and sets its name and staff flag from the ID token at every login, so
// that a role taken away at the provider is taken away here at the next
// login. Staff is the role (or group) "staff". An account disabled here
// stays disabled: the returned user is inactive, and the login refused.
func (s *userStore) federatedLogin(ctx context.Context, c *oidc.Claims) (identity.User, error) {
	name := c.Name
	if name == "" {
		name = c.PreferredUsername
	}
	id := federatedID(c.Issuer, c.Subject)
	if _, err := s.db.Writer().ExecContext(ctx, s.db.Q(qUpsertFederated), id, name, noPassword, true, c.Has("staff"), false); err != nil {
		return nil, err
	}
	return s.lookup(ctx, id)
}
