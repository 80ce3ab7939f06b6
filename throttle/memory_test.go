package throttle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/throttle"
)

// TestMemoryStoreBounded: a flood of new keys never grows the store past
// its bound, forgotten counters go first, and a counter with attempts
// outlives the flood's one-attempt counters.
func TestMemoryStoreBounded(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rule := throttle.Rule{Free: 3, Base: time.Hour, Max: time.Hour, Forget: 2 * time.Hour}
	s := throttle.NewMemoryStore(10)
	hot := []throttle.Counter{{Key: "hot", Rule: rule}}
	for range 3 {
		if _, err := s.Take(ctx, now, hot); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		if _, err := s.Take(ctx, now, []throttle.Counter{{Key: fmt.Sprint("flood-", i), Rule: rule}}); err != nil {
			t.Fatal(err)
		}
		if n := s.Len(); n > 10 {
			t.Fatalf("after %d keys the store holds %d counters, more than its 10", i+1, n)
		}
	}
	if v, _ := s.Take(ctx, now, hot); v.OK {
		t.Fatal("the flood evicted the counter with attempts")
	}
	// Forgotten counters make room first, all of them.
	later := now.Add(3 * time.Hour)
	if _, err := s.Take(ctx, later, []throttle.Counter{{Key: "new", Rule: rule}}); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("after the counters were forgotten: %d counters, want 1", n)
	}
	if s := throttle.NewMemoryStore(-1); s == nil {
		t.Fatal("NewMemoryStore(-1) = nil")
	}
	if err := throttle.NewMemoryStore(0).DeletePrefix(ctx, ""); err == nil {
		t.Fatal("DeletePrefix of an empty prefix: no error")
	}
}

// TestMemoryStoreForgottenCountsAgain: a forgotten counter that is still
// held starts again from one.
func TestMemoryStoreForgottenCountsAgain(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rule := throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Minute}
	s := throttle.NewMemoryStore(0)
	c := []throttle.Counter{{Key: "k", Rule: rule}}
	s.Take(ctx, now, c)
	s.Take(ctx, now.Add(2*time.Second), c)
	v, _ := s.Take(ctx, now.Add(2*time.Second+time.Minute), c)
	if !v.OK || v.Failures[0] != 1 {
		t.Fatalf("%+v, want a fresh count of 1", v)
	}
}

// Equivalent mutants in MemoryStore.makeRoom, which picks a counter to
// drop from a sample of eight: `fewest < 0` as `fewest <= 0` (a counter
// holds at least one attempt, so fewest is never 0), `e.failures <
// fewest` as `<=` (which of two counters with the fewest attempts goes
// is not specified), and `n++` as `n--` (the whole map is sampled: the
// same or a better choice, at a higher cost). TestMemoryStoreBounded
// checks what is specified: the bound, forgotten counters first, and a
// counter with attempts outliving a flood of one-attempt counters.
