package totp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/internal/check"
)

// MaxUserIDLen is the longest user id a [Store] accepts, in bytes.
const MaxUserIDLen = 512

// ErrInvalidUserID is returned (wrapped) by every [Store] for a user id it
// cannot keep: empty, longer than [MaxUserIDLen], not valid UTF-8, or
// holding a NUL byte.
var ErrInvalidUserID = errors.New("totp: invalid user id")

// CheckUserID returns an error wrapping [ErrInvalidUserID] when a store
// cannot keep id, nil otherwise. Stores call it first.
func CheckUserID(id string) error {
	if why := check.UserID(id, MaxUserIDLen); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidUserID, why)
	}
	return nil
}

// A Record is what a [Store] keeps about one user's TOTP factor.
type Record struct {
	// Secret is the shared secret, base32 without padding.
	Secret string
	// Confirmed is true once the user proved, with a code, that their
	// authenticator holds Secret. An unconfirmed secret never passes a
	// challenge.
	Confirmed bool
	// LastStep is the last time step (Unix time / period) whose code was
	// accepted; a code of this step or an earlier one is a replay.
	LastStep int64
	// Failures counts the attempts since the last success (every attempt
	// counts until it succeeds).
	Failures int
	// LastFailure is when the last counted attempt was made.
	LastFailure time.Time
	// RecoveryCodes is how many unused recovery codes the user has.
	RecoveryCodes int
	// EnrolledAt is when the secret was stored (Enroll).
	EnrolledAt time.Time
}

// Limit is the attempt limit a [Store] applies in [Store.Attempt]: once a
// user has Max counted attempts without success, a new attempt is refused
// (and not counted) until Window has passed since the last counted one.
type Limit struct {
	// Max is how many failed attempts are counted before the user must
	// wait ([Config.MaxAttempts]).
	Max int
	// Window is how long after the last counted attempt a refused user
	// waits ([Config.LockWindow]).
	Window time.Duration
}

// A Store keeps users' TOTP secrets, replay guards, attempt counters and
// hashed recovery codes. Every method that checks and changes (Attempt,
// Accept, Confirm, UseRecoveryCode) does so atomically: two concurrent
// requests never both pass with one code. Implementations are safe for
// concurrent use, refuse the ids [CheckUserID] refuses, and return errors
// (never panic) when they cannot answer.
//
// [MemoryStore] keeps records in memory; the subpackage mfa/totp/sqlstore
// keeps them in SQLite or PostgreSQL.
type Store interface {
	// Get returns the user's record, and false when there is none.
	Get(ctx context.Context, userID string) (rec Record, found bool, err error)
	// Enroll stores a new, unconfirmed secret for the user at at, replacing
	// any record: the replay guard and the counters start again, and the
	// recovery codes are deleted. An empty secret or a zero time is an
	// error.
	Enroll(ctx context.Context, userID, secret string, at time.Time) error
	// Confirm marks the user's secret confirmed and records step as the
	// last accepted step, when the stored secret is still secret, is not
	// confirmed, and step is after the last one. It reports whether it did.
	Confirm(ctx context.Context, userID, secret string, step int64) (bool, error)
	// Attempt counts an attempt at at, unless the user is over the limit
	// (Max counted attempts, the last one less than Window before at): then
	// it reports false and counts nothing. A user without a record: false.
	//
	// Deprecated: the Verifier no longer calls it: attempts are throttled
	// per (user, client) by package throttle (Config.Throttle), so that a
	// stranger's guesses do not lock the user out. Stores keep it for
	// programs that call it.
	Attempt(ctx context.Context, userID string, at time.Time, limit Limit) (bool, error)
	// Accept records step as the last accepted step and clears the
	// attempt counter, when the user's secret is confirmed and step is
	// after the last accepted one; it reports false otherwise (a replay).
	Accept(ctx context.Context, userID string, step int64) (bool, error)
	// SetRecoveryCodes replaces the user's recovery codes with hashes
	// (each the hex SHA-256 of a code). The user must have a record.
	SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	// UseRecoveryCode deletes the recovery code whose hash is hash and
	// clears the attempt counter, reporting whether it existed.
	UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error)
	// Delete forgets the user's factor and recovery codes. Deleting a user
	// without a record is not an error.
	Delete(ctx context.Context, userID string) error
}

// MemoryStore is a [Store] in memory, for tests, examples and sites with a
// single process. The zero value is ready to use.
type MemoryStore struct {
	mu   sync.Mutex
	recs map[string]*memRecord
}

type memRecord struct {
	Record
	codes map[string]bool
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

var _ Store = (*MemoryStore)(nil)

// do runs fn on the user's record under the lock, after the checks every
// method makes.
func (s *MemoryStore) do(ctx context.Context, userID string, fn func(rec *memRecord, found bool) error) error {
	if err := CheckUserID(userID); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		s.recs = map[string]*memRecord{}
	}
	rec, found := s.recs[userID]
	return fn(rec, found)
}

// Get implements [Store].
func (s *MemoryStore) Get(ctx context.Context, userID string) (rec Record, found bool, err error) {
	err = s.do(ctx, userID, func(r *memRecord, ok bool) error {
		if ok {
			rec, found = r.Record, true
			rec.RecoveryCodes = len(r.codes)
		}
		return nil
	})
	return rec, found, err
}

// Enroll implements [Store].
func (s *MemoryStore) Enroll(ctx context.Context, userID, secret string, at time.Time) error {
	if secret == "" || at.IsZero() {
		return errors.New("totp: Enroll: empty secret or zero time")
	}
	return s.do(ctx, userID, func(*memRecord, bool) error {
		s.recs[userID] = &memRecord{Record: Record{Secret: secret, EnrolledAt: at.UTC().Truncate(time.Microsecond)}}
		return nil
	})
}

// Confirm implements [Store].
func (s *MemoryStore) Confirm(ctx context.Context, userID, secret string, step int64) (ok bool, err error) {
	err = s.do(ctx, userID, func(r *memRecord, found bool) error {
		if found && !r.Confirmed && r.Secret == secret && step > r.LastStep {
			r.Confirmed, r.LastStep, r.Failures, r.LastFailure = true, step, 0, time.Time{}
			ok = true
		}
		return nil
	})
	return ok, err
}

// Attempt implements [Store].
func (s *MemoryStore) Attempt(ctx context.Context, userID string, at time.Time, limit Limit) (ok bool, err error) {
	at = at.UTC().Truncate(time.Microsecond)
	err = s.do(ctx, userID, func(r *memRecord, found bool) error {
		if !found {
			return nil
		}
		if r.Failures >= limit.Max && r.LastFailure.After(at.Add(-limit.Window)) {
			return nil
		}
		r.Failures++
		r.LastFailure = at
		ok = true
		return nil
	})
	return ok, err
}

// Accept implements [Store].
func (s *MemoryStore) Accept(ctx context.Context, userID string, step int64) (ok bool, err error) {
	err = s.do(ctx, userID, func(r *memRecord, found bool) error {
		if found && r.Confirmed && step > r.LastStep {
			r.LastStep, r.Failures, r.LastFailure = step, 0, time.Time{}
			ok = true
		}
		return nil
	})
	return ok, err
}

// SetRecoveryCodes implements [Store].
func (s *MemoryStore) SetRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	return s.do(ctx, userID, func(r *memRecord, found bool) error {
		if !found {
			return fmt.Errorf("totp: SetRecoveryCodes: %w", ErrNoRecord)
		}
		r.codes = make(map[string]bool, len(hashes))
		for _, h := range hashes {
			r.codes[h] = true
		}
		return nil
	})
}

// UseRecoveryCode implements [Store].
func (s *MemoryStore) UseRecoveryCode(ctx context.Context, userID, hash string) (ok bool, err error) {
	err = s.do(ctx, userID, func(r *memRecord, found bool) error {
		if found && r.codes[hash] {
			delete(r.codes, hash)
			r.Failures, r.LastFailure = 0, time.Time{}
			ok = true
		}
		return nil
	})
	return ok, err
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, userID string) error {
	return s.do(ctx, userID, func(*memRecord, bool) error {
		delete(s.recs, userID)
		return nil
	})
}

// ErrNoRecord is returned (wrapped) by SetRecoveryCodes for a user who
// has no TOTP record.
var ErrNoRecord = errors.New("totp: the user has no TOTP record")
