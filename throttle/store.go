package throttle

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// A Counter is one key of an attempt and the [Rule] it is judged by.
type Counter struct {
	// Key names the counter in the store: the throttle builds it from
	// the scope and hashes of the account and client, so it holds no
	// personal data and a store can use it as is.
	Key string
	// Rule decides the counter's waits and when it is forgotten.
	Rule Rule
}

// A Verdict is what [Store.Take] decided.
type Verdict struct {
	// OK is true when every counter allowed the attempt: each was counted.
	OK bool
	// Failures holds, when OK, each counter's count after this attempt, in
	// the order of the counters given.
	Failures []int64
	// Refused is, when not OK, the index of the counter whose wait ends
	// last.
	Refused int
	// RetryAt is, when not OK, when that wait ends: the earliest time an
	// attempt can pass (sent as Retry-After).
	RetryAt time.Time
}

// A Store keeps the counters. Its methods are safe for concurrent use,
// return an error (never panic) when the store cannot answer, and honour
// the context.
//
// A counter holds the attempts counted since it was last deleted or
// forgotten, and the time of the last one. It is forgotten (it reads as
// zero attempts) once Rule.Forget has passed since its last attempt.
//
// [MemoryStore] keeps counters in the process; throttle/redisstore and
// throttle/sqlstore (SQLite, PostgreSQL) share them between instances.
type Store interface {
	// Take judges every counter at now, atomically: when one of them must
	// still wait (Rule.Wait of its attempts has not passed since its last
	// one), nothing is counted and the verdict names the counter whose wait
	// ends last; otherwise each counter counts one attempt at now.
	Take(ctx context.Context, now time.Time, counters []Counter) (Verdict, error)
	// Delete forgets the counters with these keys.
	Delete(ctx context.Context, keys ...string) error
	// DeletePrefix forgets every counter whose key begins with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// DefaultMaxEntries is how many counters a [MemoryStore] keeps at most,
// unless told otherwise.
const DefaultMaxEntries = 100_000

// MemoryStore is a [Store] in the process's memory, for a site with one
// instance. It keeps at most a bounded number of counters: when full, it
// drops the forgotten ones, then, if it must, a counter with few attempts
// (a sample of eight, the one with the fewest), so that a flood of new keys
// cannot grow the memory nor evict the counters of an attack in progress.
type MemoryStore struct {
	mu  sync.Mutex
	m   map[string]*entry
	max int
}

type entry struct {
	failures int64
	last     time.Time
	forget   time.Time // the counter reads as zero from then on
}

// NewMemoryStore returns an empty MemoryStore that keeps at most
// maxEntries counters (0 means [DefaultMaxEntries]).
func NewMemoryStore(maxEntries int) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &MemoryStore{m: make(map[string]*entry), max: maxEntries}
}

var _ Store = (*MemoryStore)(nil)

// Len returns how many counters the store holds, forgotten ones included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Take implements [Store].
func (s *MemoryStore) Take(ctx context.Context, now time.Time, counters []Counter) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := Verdict{Refused: -1}
	for i, c := range counters {
		e := s.m[c.Key]
		if e == nil || !now.Before(e.forget) {
			continue
		}
		if until := e.last.Add(c.Rule.Wait(e.failures)); now.Before(until) && (v.Refused < 0 || until.After(v.RetryAt)) {
			v.Refused, v.RetryAt = i, until
		}
	}
	if v.Refused >= 0 {
		return v, nil
	}
	v = Verdict{OK: true, Failures: make([]int64, len(counters))}
	for i, c := range counters {
		e := s.m[c.Key]
		if e == nil {
			s.makeRoom(now)
			e = &entry{}
			s.m[c.Key] = e
		} else if !now.Before(e.forget) {
			e.failures = 0
		}
		e.failures++
		e.last = now
		e.forget = now.Add(c.Rule.Forget)
		v.Failures[i] = e.failures
	}
	return v, nil
}

// makeRoom makes room for one more counter; s.mu is held.
func (s *MemoryStore) makeRoom(now time.Time) {
	if len(s.m) < s.max {
		return
	}
	for k, e := range s.m {
		if !now.Before(e.forget) {
			delete(s.m, k)
		}
	}
	if len(s.m) < s.max {
		return
	}
	// Map iteration order is random: a sample of eight.
	var victim string
	var fewest int64 = -1
	n := 0
	for k, e := range s.m {
		if fewest < 0 || e.failures < fewest {
			victim, fewest = k, e.failures
		}
		if n++; n == 8 {
			break
		}
	}
	delete(s.m, victim)
}

// Delete implements [Store].
func (s *MemoryStore) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.m, k)
	}
	return nil
}

// DeletePrefix implements [Store].
func (s *MemoryStore) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if prefix == "" {
		return errors.New("throttle: DeletePrefix: empty prefix")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			delete(s.m, k)
		}
	}
	return nil
}
