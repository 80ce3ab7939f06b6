package passwordexpiry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/internal/check"
)

// A Reason says why a user must change their password. The empty Reason,
// [None], means they need not.
type Reason string

// The reasons of the suite. A [Store] keeps the first four; [MaxAge] is
// computed by the gate from the date of the last change, when
// [Config.MaxAge] is set. Applications may use reasons of their own that
// [Reason.Valid] accepts.
const (
	// None: no change is required.
	None Reason = ""
	// FirstLogin: the account was created with a password someone else
	// chose; set it when the account is created.
	FirstLogin Reason = "first_login"
	// AdminReset: an administrator reset the password.
	AdminReset Reason = "admin_reset"
	// Compromised: there is evidence the password is known to others (a
	// breach corpus or blocklist hit seen at login, a phishing report):
	// NIST SP 800-63B requires a change.
	Compromised Reason = "compromised"
	// Temporary: the password was issued for one use (a recovery).
	Temporary Reason = "temporary"
	// MaxAge: the password is older than Config.MaxAge (periodic expiry,
	// off by default; NIST SP 800-63B rev 4 forbids it, PCI DSS 8.3.9 may
	// ask for it).
	MaxAge Reason = "max_age"
)

var reasonRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// Valid reports whether r can be stored: 1 to 32 lower-case letters,
// digits and '_', starting with a letter. [None] is not valid: clear a
// requirement with [Store.Changed].
func (r Reason) Valid() bool { return reasonRE.MatchString(string(r)) }

// MaxUserIDLen is the longest user id a [Store] accepts, in bytes. A
// longer id is an error in every store (PostgreSQL could not index it).
const MaxUserIDLen = 512

// ErrInvalidUserID is returned (wrapped) by every [Store] for a user id it
// cannot keep: empty, longer than [MaxUserIDLen], not valid UTF-8, or
// holding a NUL byte (PostgreSQL refuses those in text). The stores refuse
// the same ids, so that moving from one store to another changes nothing.
var ErrInvalidUserID = errors.New("passwordexpiry: invalid user id")

// CheckUserID returns an error wrapping [ErrInvalidUserID] when a store
// cannot keep id, nil otherwise. Stores call it first.
func CheckUserID(id string) error {
	if why := check.UserID(id, MaxUserIDLen); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidUserID, why)
	}
	return nil
}

// CheckRequire returns the error a [Store] returns for the arguments of
// Require when they are invalid, nil otherwise. Stores call it first.
func CheckRequire(userID string, reason Reason, at time.Time) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if !reason.Valid() {
		return fmt.Errorf("passwordexpiry: reason %q: use one of the Reason constants (FirstLogin, AdminReset, Compromised, Temporary) or 1 to 32 of [a-z0-9_], starting with a letter", reason)
	}
	return checkTime(at)
}

// CheckChanged returns the error a [Store] returns for the arguments of
// Changed when they are invalid, nil otherwise. Stores call it first.
func CheckChanged(userID string, at time.Time) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	return checkTime(at)
}

func checkTime(at time.Time) error {
	if at.IsZero() {
		return errors.New("passwordexpiry: the time is zero: pass the time of the event")
	}
	return nil
}

// A Record is what a [Store] keeps about one user.
type Record struct {
	// ChangedAt is when the password was last changed, as reported to
	// [Store.Changed]; zero when unknown.
	ChangedAt time.Time
	// Reason is why a change is required; [None] when it is not.
	Reason Reason
	// RequiredAt is when Reason was set; zero when Reason is None.
	RequiredAt time.Time
}

// A Store keeps, per user, when the password was last changed and why a
// change is required. A user without a record is never required to change.
// Times are kept to the microsecond, in UTC. Implementations are safe for
// concurrent use, refuse the ids [CheckUserID] refuses, and return errors
// (never panic) when they cannot answer: the gate then fails closed.
//
// [MemoryStore] keeps records in memory; the subpackage
// passwordexpiry/sqlstore keeps them in SQLite or PostgreSQL.
type Store interface {
	// Get returns the user's record, and false when there is none.
	Get(ctx context.Context, userID string) (rec Record, found bool, err error)
	// Require records that the user must change their password, for
	// reason, from at. A later Require replaces the reason; ChangedAt is
	// kept.
	Require(ctx context.Context, userID string, reason Reason, at time.Time) error
	// Changed records that the user changed their password at at, and
	// clears any requirement.
	Changed(ctx context.Context, userID string, at time.Time) error
	// Delete forgets the user (for example when the account is deleted).
	// Deleting a user without a record is not an error.
	Delete(ctx context.Context, userID string) error
}

// MemoryStore is a [Store] in memory, for tests, examples and sites with a
// single process. Its records are lost when the process ends. The zero
// value is ready to use.
type MemoryStore struct {
	mu   sync.RWMutex
	recs map[string]Record
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, userID string) (Record, bool, error) {
	if err := CheckUserID(userID); err != nil {
		return Record{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return Record{}, false, err
	}
	s.mu.RLock()
	rec, ok := s.recs[userID]
	s.mu.RUnlock()
	return rec, ok, nil
}

// Require implements [Store].
func (s *MemoryStore) Require(ctx context.Context, userID string, reason Reason, at time.Time) error {
	return s.update(ctx, CheckRequire(userID, reason, at), userID, at, func(rec *Record, at time.Time) {
		rec.Reason, rec.RequiredAt = reason, at
	})
}

// Changed implements [Store].
func (s *MemoryStore) Changed(ctx context.Context, userID string, at time.Time) error {
	return s.update(ctx, CheckChanged(userID, at), userID, at, func(rec *Record, at time.Time) {
		*rec = Record{ChangedAt: at}
	})
}

func (s *MemoryStore) update(ctx context.Context, invalid error, userID string, at time.Time, fn func(*Record, time.Time)) error {
	if invalid != nil {
		return invalid
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		s.recs = map[string]Record{}
	}
	rec := s.recs[userID]
	fn(&rec, at.UTC().Truncate(time.Microsecond))
	s.recs[userID] = rec
	return nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, userID string) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.recs, userID)
	s.mu.Unlock()
	return nil
}
