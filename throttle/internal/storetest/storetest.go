// Package storetest is the one test suite every throttle.Store passes:
// the memory store, Redis, SQLite and PostgreSQL.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/throttle"
)

// t0 is the suite's clock origin.
var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var rule = throttle.Rule{Free: 2, Base: time.Second, Max: 4 * time.Second, Forget: time.Minute}

// Run runs the suite; newStore returns an empty store for each subtest
// (keys of different subtests never meet: each uses its own names).
func Run(t *testing.T, newStore func(t *testing.T) throttle.Store) {
	t.Run("FreeThenWait", func(t *testing.T) {
		s := newStore(t)
		c := []throttle.Counter{{Key: "t:p:free", Rule: rule}}
		// Table: at offset, want allowed (and then the count) or the retry time.
		for i, step := range []struct {
			at      time.Duration
			ok      bool
			count   int64
			retryAt time.Duration
		}{
			{0, true, 1, 0},
			{0, true, 2, 0}, // the second free attempt
			{0, false, 0, time.Second},
			{time.Second - time.Microsecond, false, 0, time.Second},
			{time.Second, true, 3, 0},
			{time.Second + time.Second, false, 0, 3 * time.Second}, // waits 2s after the third
			{3 * time.Second, true, 4, 0},
			{6 * time.Second, false, 0, 7 * time.Second}, // 4s: Max
			{7 * time.Second, true, 5, 0},
			{10 * time.Second, false, 0, 11 * time.Second}, // still Max
		} {
			v := take(t, s, t0.Add(step.at), c)
			if v.OK != step.ok {
				t.Fatalf("step %d at +%v: OK %v, want %v (%+v)", i, step.at, v.OK, step.ok, v)
			}
			if step.ok && (len(v.Failures) != 1 || v.Failures[0] != step.count) {
				t.Fatalf("step %d: failures %v, want [%d]", i, v.Failures, step.count)
			}
			if !step.ok && (!v.RetryAt.Equal(t0.Add(step.retryAt)) || v.Refused != 0) {
				t.Fatalf("step %d: retry at %v (counter %d), want +%v", i, v.RetryAt.Sub(t0), v.Refused, step.retryAt)
			}
		}
	})
	t.Run("Forget", func(t *testing.T) {
		s := newStore(t)
		c := []throttle.Counter{{Key: "t:p:forget", Rule: rule}}
		for range 3 {
			take(t, s, t0, c)
		}
		if v := take(t, s, t0.Add(time.Minute-time.Microsecond), c); v.OK && v.Failures[0] == 1 {
			t.Fatalf("forgotten before Forget: %+v", v)
		}
		if v := take(t, s, t0.Add(2*time.Minute), c); !v.OK || v.Failures[0] != 1 {
			t.Fatalf("after Forget: %+v, want a fresh count of 1", v)
		}
	})
	t.Run("AllOrNothing", func(t *testing.T) {
		s := newStore(t)
		a := throttle.Counter{Key: "t:p:all-a", Rule: rule}
		b := throttle.Counter{Key: "t:c:all-b", Rule: throttle.Rule{Free: 1, Base: 10 * time.Second, Max: 10 * time.Second, Forget: time.Minute}}
		take(t, s, t0, []throttle.Counter{b}) // b is now waiting
		v := take(t, s, t0, []throttle.Counter{a, b})
		if v.OK || v.Refused != 1 || !v.RetryAt.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("b waiting: %+v, want refused by counter 1 until +10s", v)
		}
		// a was not counted: alone it still has both free attempts.
		for i := range 2 {
			if v := take(t, s, t0, []throttle.Counter{a}); !v.OK || v.Failures[0] != int64(i+1) {
				t.Fatalf("a alone, attempt %d: %+v", i+1, v)
			}
		}
		// Both waiting: the later wait is reported.
		v = take(t, s, t0, []throttle.Counter{a, b})
		if v.OK || v.Refused != 1 {
			t.Fatalf("both waiting: %+v, want counter 1 (the later)", v)
		}
		v = take(t, s, t0.Add(10*time.Second), []throttle.Counter{a, b})
		if !v.OK || v.Failures[0] != 3 || v.Failures[1] != 2 {
			t.Fatalf("after both waits: %+v, want [3 2]", v)
		}
	})
	t.Run("LaterWaitWins", func(t *testing.T) {
		// The first counter waits longer than the second: it is named.
		s := newStore(t)
		long := throttle.Counter{Key: "t:a:later-long", Rule: throttle.Rule{Free: 1, Base: time.Minute, Max: time.Minute, Forget: time.Hour}}
		short := throttle.Counter{Key: "t:p:later-short", Rule: throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Hour}}
		take(t, s, t0, []throttle.Counter{long, short})
		v := take(t, s, t0, []throttle.Counter{long, short})
		if v.OK || v.Refused != 0 || !v.RetryAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%+v, want counter 0 until +1m", v)
		}
		v = take(t, s, t0, []throttle.Counter{short, long})
		if v.OK || v.Refused != 1 || !v.RetryAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%+v, want counter 1 until +1m", v)
		}
	})
	t.Run("NoFreeAttempt", func(t *testing.T) {
		// A counter without attempts never waits, even with Free 0.
		s := newStore(t)
		c := []throttle.Counter{{Key: "t:p:nofree", Rule: throttle.Rule{Free: 0, Base: time.Second, Max: time.Second, Forget: time.Hour}}}
		if v := take(t, s, t0, c); !v.OK || v.Failures[0] != 1 {
			t.Fatalf("first attempt: %+v", v)
		}
		if v := take(t, s, t0, c); v.OK {
			t.Fatalf("second attempt: %+v, want a wait", v)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		c := []throttle.Counter{{Key: "t:p:del-1", Rule: rule}, {Key: "t:c:del-2", Rule: rule}}
		take(t, s, t0, c)
		take(t, s, t0, c)
		if err := s.Delete(context.Background(), "t:p:del-1", "t:p:nothing"); err != nil {
			t.Fatal(err)
		}
		if v := take(t, s, t0, c[:1]); !v.OK || v.Failures[0] != 1 {
			t.Fatalf("deleted counter: %+v, want a fresh count", v)
		}
		if v := take(t, s, t0, c[1:]); v.OK {
			t.Fatalf("the other counter was deleted too: %+v", v)
		}
		if err := s.Delete(context.Background()); err != nil {
			t.Fatalf("Delete of no key: %v", err)
		}
		take(t, s, t0, c[:1])
		take(t, s, t0, c[:1])
		if err := s.Delete(context.Background(), "t:p:del-1", "t:c:del-2"); err != nil {
			t.Fatal(err)
		}
		if v := take(t, s, t0, c); !v.OK || v.Failures[0] != 1 || v.Failures[1] != 1 {
			t.Fatalf("after deleting both: %+v, want fresh counts", v)
		}
	})
	t.Run("DeletePrefix", func(t *testing.T) {
		s := newStore(t)
		keys := []string{"t:p:acct1:x", "t:p:acct1:y", "t:p:acct10:x", "t:a:acct1"}
		for _, k := range keys {
			take(t, s, t0, []throttle.Counter{{Key: k, Rule: throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Minute}}})
		}
		if err := s.DeletePrefix(context.Background(), "t:p:acct1:"); err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			v := take(t, s, t0, []throttle.Counter{{Key: k, Rule: throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Minute}}})
			if wantOK := i < 2; v.OK != wantOK {
				t.Errorf("%s after DeletePrefix(t:p:acct1:): OK %v, want %v", k, v.OK, wantOK)
			}
		}
		if err := s.DeletePrefix(context.Background(), "t:p:nothing-here:"); err != nil {
			t.Errorf("DeletePrefix matching nothing: %v", err)
		}
		if err := s.DeletePrefix(context.Background(), ""); err == nil {
			t.Error("DeletePrefix of an empty prefix: no error (it would forget every counter)")
		}
		// Wildcards of LIKE and of Redis's MATCH are plain characters.
		take(t, s, t0, []throttle.Counter{{Key: "t:p:acctX:y", Rule: throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Minute}}})
		for _, p := range []string{"t:p:acct_:", "t:p:acct%", "t:p:acct*", "t:p:acct?:", "t:p:acct[X]:"} {
			if err := s.DeletePrefix(context.Background(), p); err != nil {
				t.Fatal(err)
			}
		}
		if v := take(t, s, t0, []throttle.Counter{{Key: "t:p:acctX:y", Rule: throttle.Rule{Free: 1, Base: time.Second, Max: time.Second, Forget: time.Minute}}}); v.OK {
			t.Error("a wildcard in a prefix matched another key")
		}
	})
	t.Run("DeletePrefixMany", func(t *testing.T) {
		s := newStore(t)
		r := throttle.Rule{Free: 1, Base: time.Hour, Max: time.Hour, Forget: 2 * time.Hour}
		for i := range 600 {
			take(t, s, t0, []throttle.Counter{{Key: fmt.Sprintf("t:p:many:%03d", i), Rule: r}})
		}
		if err := s.DeletePrefix(context.Background(), "t:p:many:"); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 299, 499, 500, 599} {
			if v := take(t, s, t0, []throttle.Counter{{Key: fmt.Sprintf("t:p:many:%03d", i), Rule: r}}); !v.OK {
				t.Errorf("key %d of 600 survived DeletePrefix", i)
			}
		}
	})
	t.Run("Parallel", func(t *testing.T) {
		// 50 attempts at once on a counter with 5 free ones: exactly 5 pass
		// (no read-modify-write race).
		s := newStore(t)
		c := []throttle.Counter{{Key: "t:p:par", Rule: throttle.Rule{Free: 5, Base: time.Hour, Max: time.Hour, Forget: 2 * time.Hour}}, {Key: "t:c:par", Rule: throttle.Rule{Free: 1000, Base: time.Hour, Max: time.Hour, Forget: 2 * time.Hour}}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, counts := 0, map[int64]bool{}
		for range 50 {
			wg.Go(func() {
				v, err := s.Take(context.Background(), t0, c)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if v.OK {
					ok++
					counts[v.Failures[0]] = true
				}
			})
		}
		wg.Wait()
		if ok != 5 || len(counts) != 5 {
			t.Fatalf("%d of 50 parallel attempts passed (counts %v); want 5, each with its own count", ok, counts)
		}
	})
	t.Run("Canceled", func(t *testing.T) {
		s := newStore(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Take(ctx, t0, []throttle.Counter{{Key: "t:p:cancel", Rule: rule}}); err == nil {
			t.Error("Take on a canceled context: no error")
		}
		if err := s.Delete(ctx, "t:p:cancel"); err == nil {
			t.Error("Delete on a canceled context: no error")
		}
		if err := s.DeletePrefix(ctx, "t:p:"); err == nil {
			t.Error("DeletePrefix on a canceled context: no error")
		}
	})
}

func take(t *testing.T, s throttle.Store, now time.Time, c []throttle.Counter) throttle.Verdict {
	t.Helper()
	v, err := s.Take(context.Background(), now, c)
	if err != nil {
		t.Fatal(fmt.Errorf("Take: %w", err))
	}
	return v
}
