package passkey

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/internal/check"
)

// Limits of what a [Store] keeps.
const (
	// HandleLen is the length of a user handle, in bytes: the WebAuthn
	// maximum, all random (WebAuthn §5.4.3: no personal data).
	HandleLen = 64
	// MaxUserIDLen is the longest user id a Store accepts, in bytes.
	MaxUserIDLen = 512
	// MaxCredentialIDLen is the longest credential id a Store accepts, in
	// bytes (WebAuthn §5.1: at most 1023).
	MaxCredentialIDLen = 1023
	// MaxNameLen is the longest passkey name kept, in bytes; a longer one
	// is cut at a character boundary.
	MaxNameLen = 64
)

// Errors a [Store] returns, wrapped.
var (
	// ErrInvalidUserID: an empty, over-long or non-UTF-8 user id, or one
	// holding a NUL byte.
	ErrInvalidUserID = errors.New("passkey: invalid user id")
	// ErrDuplicate: a credential with this id is registered already (to
	// this user or another), or a user handle is taken.
	ErrDuplicate = errors.New("passkey: already registered")
)

// CheckUserID returns an error wrapping [ErrInvalidUserID] when a store
// cannot keep id, nil otherwise. Stores call it first.
func CheckUserID(id string) error {
	if why := check.UserID(id, MaxUserIDLen); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidUserID, why)
	}
	return nil
}

// A Credential is one registered passkey, as a [Store] keeps it: what
// go-webauthn's "Storage" guidance asks to persist, plus what an account
// page shows. The user handle is per user, not per credential (see
// [Store.Handle]).
type Credential struct {
	// ID is the credential id the authenticator chose; unique in a store
	// (a store serves one RP ID).
	ID []byte
	// UserID is the application's id of the user who registered it.
	UserID string
	// PublicKey is the COSE public key.
	PublicKey []byte
	// AttestationType is the attestation's type ("none" for passkeys).
	AttestationType string
	// AAGUID names the authenticator's model (16 bytes, all zero for most
	// synced passkeys).
	AAGUID []byte
	// Transports are the transports the browser reported ("internal",
	// "hybrid", "usb" …), handed back in allowCredentials.
	Transports []string
	// SignCount is the last signature counter seen (0 forever for synced
	// passkeys).
	SignCount uint32
	// UserVerified is true once the authenticator verified the user (PIN,
	// biometrics) in a ceremony of this credential.
	UserVerified bool
	// BackupEligible (BE) is fixed for the life of the credential: a
	// change is refused.
	BackupEligible bool
	// BackupState (BS) is whether the credential is backed up now.
	BackupState bool
	// CloneWarning is set when a signature counter did not grow: the
	// credential may have been cloned, and it is refused from then on.
	CloneWarning bool
	// Name is what the user calls it ("laptop"); at most [MaxNameLen].
	Name string
	// CreatedAt is when it was registered; LastUsedAt when it last passed
	// a login (zero: never).
	CreatedAt, LastUsedAt time.Time
}

// A Use is what a successful login writes back on its credential.
type Use struct {
	// Challenge is the ceremony's challenge: a store refuses a second use
	// of the same challenge on the same credential, so that two
	// concurrent posts of one assertion never both pass, even when the
	// counter stays 0.
	Challenge []byte
	// SignCount is the assertion's signature counter.
	SignCount uint32
	// UserVerified is true when the authenticator verified the user; a
	// store keeps it once seen (it never goes back to false).
	UserVerified bool
	// BackupState is the assertion's BS flag (the passkey is backed up
	// now).
	BackupState bool
	// At is when the login happened.
	At time.Time
}

// A Store keeps users' handles and passkeys. [Store.Use] checks and
// changes atomically. Implementations are safe for concurrent use, refuse
// the user ids [CheckUserID] refuses, and return errors (never panic) when
// they cannot answer. A store serves one RP ID: give each RP ID its own
// database or schema.
//
// [MemoryStore] keeps them in memory; the subpackage mfa/passkey/sqlstore
// keeps them in SQLite or PostgreSQL.
type Store interface {
	// Handle returns the user's handle, and false when the user has none.
	Handle(ctx context.Context, userID string) (handle []byte, found bool, err error)
	// CreateHandle stores handle as the user's unless the user has one
	// already, atomically, and returns the user's handle (the one stored
	// first). A handle that another user holds is an error wrapping
	// [ErrDuplicate]. handle is [HandleLen] bytes.
	CreateHandle(ctx context.Context, userID string, handle []byte) ([]byte, error)
	// UserByHandle returns the id of the user whose handle is handle, and
	// false when there is none.
	UserByHandle(ctx context.Context, handle []byte) (userID string, found bool, err error)
	// Add stores a new credential (its UserID must have a handle). An id
	// that is stored already, for any user, is an error wrapping
	// [ErrDuplicate].
	Add(ctx context.Context, c Credential) error
	// Get returns the credential whose id is id, and false when there is
	// none.
	Get(ctx context.Context, id []byte) (c Credential, found bool, err error)
	// List returns the user's credentials, oldest first.
	List(ctx context.Context, userID string) ([]Credential, error)
	// Use writes back a successful login on the credential id when its
	// stored sign count is still prevCount, it is not flagged, and u's
	// challenge is not the last one it accepted; it reports false (and
	// changes nothing) otherwise: another request used the credential
	// first.
	Use(ctx context.Context, id []byte, prevCount uint32, u Use) (bool, error)
	// FlagClone sets the credential's CloneWarning. A missing credential
	// is not an error.
	FlagClone(ctx context.Context, id []byte) error
	// Delete removes the user's credential id, reporting whether it
	// existed (a credential of another user is not removed: false).
	Delete(ctx context.Context, userID string, id []byte) (bool, error)
}

// MemoryStore is a [Store] in memory, for tests, examples and sites with a
// single process. The zero value is ready to use.
type MemoryStore struct {
	mu      sync.Mutex
	handles map[string][]byte     // user id → handle
	users   map[string]string     // string(handle) → user id
	creds   map[string]*memCred   // string(credential id) → credential
	byUser  map[string][]*memCred // user id → credentials, oldest first

}

type memCred struct {
	Credential
	lastChallenge []byte
}

var _ Store = (*MemoryStore)(nil)

func (s *MemoryStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.handles == nil {
		s.handles, s.users, s.creds, s.byUser = map[string][]byte{}, map[string]string{}, map[string]*memCred{}, map[string][]*memCred{}
	}
	return nil
}

// Handle implements [Store].
func (s *MemoryStore) Handle(ctx context.Context, userID string) ([]byte, bool, error) {
	if err := CheckUserID(userID); err != nil {
		return nil, false, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	h, ok := s.handles[userID]
	return bytes.Clone(h), ok, nil
}

// CreateHandle implements [Store].
func (s *MemoryStore) CreateHandle(ctx context.Context, userID string, handle []byte) ([]byte, error) {
	if err := CheckUserID(userID); err != nil {
		return nil, err
	}
	if len(handle) != HandleLen {
		return nil, fmt.Errorf("passkey: CreateHandle: a handle of %d bytes, want %d", len(handle), HandleLen)
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if h, ok := s.handles[userID]; ok {
		return bytes.Clone(h), nil
	}
	if _, taken := s.users[string(handle)]; taken {
		return nil, fmt.Errorf("passkey: CreateHandle: %w", ErrDuplicate)
	}
	s.handles[userID] = bytes.Clone(handle)
	s.users[string(handle)] = userID
	return bytes.Clone(handle), nil
}

// UserByHandle implements [Store].
func (s *MemoryStore) UserByHandle(ctx context.Context, handle []byte) (string, bool, error) {
	if err := s.lock(ctx); err != nil {
		return "", false, err
	}
	defer s.mu.Unlock()
	id, ok := s.users[string(handle)]
	return id, ok, nil
}

// Add implements [Store].
func (s *MemoryStore) Add(ctx context.Context, c Credential) error {
	if err := CheckCredential(c); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.handles[c.UserID]; !ok {
		return errors.New("passkey: Add: the user has no handle (CreateHandle first)")
	}
	if _, dup := s.creds[string(c.ID)]; dup {
		return fmt.Errorf("passkey: Add: %w", ErrDuplicate)
	}
	mc := &memCred{Credential: cloneCredential(c)}
	mc.CreatedAt = Stamp(c.CreatedAt)
	mc.LastUsedAt = Stamp(c.LastUsedAt)
	s.creds[string(c.ID)] = mc
	s.byUser[c.UserID] = append(s.byUser[c.UserID], mc)
	return nil
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, id []byte) (Credential, bool, error) {
	if err := s.lock(ctx); err != nil {
		return Credential{}, false, err
	}
	defer s.mu.Unlock()
	mc, ok := s.creds[string(id)]
	if !ok {
		return Credential{}, false, nil
	}
	return cloneCredential(mc.Credential), true, nil
}

// List implements [Store].
func (s *MemoryStore) List(ctx context.Context, userID string) ([]Credential, error) {
	if err := CheckUserID(userID); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]Credential, 0, len(s.byUser[userID]))
	for _, mc := range s.byUser[userID] {
		out = append(out, cloneCredential(mc.Credential))
	}
	return out, nil
}

// Use implements [Store].
func (s *MemoryStore) Use(ctx context.Context, id []byte, prevCount uint32, u Use) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	mc, ok := s.creds[string(id)]
	if !ok || mc.CloneWarning || mc.SignCount != prevCount || bytes.Equal(mc.lastChallenge, u.Challenge) {
		return false, nil
	}
	mc.SignCount, mc.BackupState, mc.LastUsedAt = u.SignCount, u.BackupState, Stamp(u.At)
	mc.UserVerified = mc.UserVerified || u.UserVerified
	mc.lastChallenge = bytes.Clone(u.Challenge)
	return true, nil
}

// FlagClone implements [Store].
func (s *MemoryStore) FlagClone(ctx context.Context, id []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if mc, ok := s.creds[string(id)]; ok {
		mc.CloneWarning = true
	}
	return nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, userID string, id []byte) (bool, error) {
	if err := CheckUserID(userID); err != nil {
		return false, err
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	mc, ok := s.creds[string(id)]
	if !ok || mc.UserID != userID {
		return false, nil
	}
	delete(s.creds, string(id))
	s.byUser[userID] = slices.DeleteFunc(s.byUser[userID], func(c *memCred) bool { return c == mc })
	return true, nil
}

// CheckCredential returns an error when a store cannot keep c: an invalid
// user id, an empty or over-long credential id, no public key, a zero
// creation time. Stores call it in Add.
func CheckCredential(c Credential) error {
	if err := CheckUserID(c.UserID); err != nil {
		return err
	}
	switch {
	case len(c.ID) == 0 || len(c.ID) > MaxCredentialIDLen:
		return fmt.Errorf("passkey: a credential id of %d bytes: want 1 to %d", len(c.ID), MaxCredentialIDLen)
	case len(c.PublicKey) == 0:
		return errors.New("passkey: a credential without a public key")
	case c.CreatedAt.IsZero():
		return errors.New("passkey: a credential without its creation time")
	case len(c.Name) > MaxNameLen || !utf8.ValidString(c.Name):
		return fmt.Errorf("passkey: a credential name must be valid UTF-8 of at most %d bytes", MaxNameLen)
	}
	return nil
}

// Stamp is t as stores keep it: UTC, to the microsecond (PostgreSQL's
// precision); the zero time stays zero.
func Stamp(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func cloneCredential(c Credential) Credential {
	c.ID = bytes.Clone(c.ID)
	c.PublicKey = bytes.Clone(c.PublicKey)
	c.AAGUID = bytes.Clone(c.AAGUID)
	c.Transports = slices.Clone(c.Transports)
	return c
}
