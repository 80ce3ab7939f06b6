// Package storetest is the conformance suite every passwordexpiry.Store
// passes: the memory store, and the SQL store on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/passwordexpiry"
)

// OddIDs are user ids a store must keep and tell apart.
var OddIDs = []string{
	"alice", "Alice", "alice ", " alice", "ALICE",
	"42", "0", "-1", "user|with|pipes", "1|0|x|alice", "a'b", `a"b`, "a;DROP TABLE users;--",
	"%", "_", "a%b", "a_b", `a\b`, "\t", "line\nbreak", "émile", "e\u0301mile", "用户",
	"🙂", "\u202eevil", "\u00a0", "x\x7fy", strings.Repeat("z", passwordexpiry.MaxUserIDLen),
	"bulwark.passwordexpiry",
}

// BadIDs are user ids every store refuses with passwordexpiry.ErrInvalidUserID.
var BadIDs = []string{
	"", "nul\x00byte", "\xff\xfe", "\xc0\xae", strings.Repeat("z", passwordexpiry.MaxUserIDLen+1),
}

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) passwordexpiry.Store) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	ctx := context.Background()

	t.Run("NoRecord", func(t *testing.T) {
		s := newStore(t)
		rec, found, err := s.Get(ctx, "nobody")
		if err != nil || found || rec != (passwordexpiry.Record{}) {
			t.Fatalf("Get(nobody) = %+v, %v, %v; want zero, false, nil", rec, found, err)
		}
		if err := s.Delete(ctx, "nobody"); err != nil {
			t.Fatalf("Delete(nobody) = %v", err)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Require(ctx, "alice", passwordexpiry.FirstLogin, t0))
		want(t, s, "alice", passwordexpiry.Record{Reason: passwordexpiry.FirstLogin, RequiredAt: t0.Truncate(time.Microsecond)})

		t1 := t0.Add(time.Hour)
		must(t, s.Changed(ctx, "alice", t1))
		want(t, s, "alice", passwordexpiry.Record{ChangedAt: t1.Truncate(time.Microsecond)})

		t2 := t1.Add(time.Hour)
		must(t, s.Require(ctx, "alice", passwordexpiry.Compromised, t2))
		want(t, s, "alice", passwordexpiry.Record{ChangedAt: t1.Truncate(time.Microsecond), Reason: passwordexpiry.Compromised, RequiredAt: t2.Truncate(time.Microsecond)})

		t3 := t2.Add(time.Hour)
		must(t, s.Require(ctx, "alice", passwordexpiry.AdminReset, t3))
		want(t, s, "alice", passwordexpiry.Record{ChangedAt: t1.Truncate(time.Microsecond), Reason: passwordexpiry.AdminReset, RequiredAt: t3.Truncate(time.Microsecond)})

		must(t, s.Delete(ctx, "alice"))
		if _, found, err := s.Get(ctx, "alice"); err != nil || found {
			t.Fatalf("after Delete: found %v, err %v", found, err)
		}
	})

	t.Run("ChangedWithoutFlag", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Changed(ctx, "bob", t0))
		want(t, s, "bob", passwordexpiry.Record{ChangedAt: t0.Truncate(time.Microsecond)})
	})

	t.Run("TimesInUTC", func(t *testing.T) {
		s := newStore(t)
		paris := time.FixedZone("UTC+1", 3600)
		at := time.Date(2026, 11, 23, 11, 0, 0, 0, paris)
		must(t, s.Changed(ctx, "carol", at))
		rec, _, err := s.Get(ctx, "carol")
		must(t, err)
		if !rec.ChangedAt.Equal(at) || rec.ChangedAt.Location() != time.UTC {
			t.Fatalf("ChangedAt = %v, want %v in UTC", rec.ChangedAt, at.UTC())
		}
	})

	t.Run("Reasons", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []passwordexpiry.Reason{passwordexpiry.FirstLogin, passwordexpiry.AdminReset, passwordexpiry.Compromised, passwordexpiry.Temporary, "custom_policy_2"} {
			must(t, s.Require(ctx, "dan", r, t0))
			rec, _, err := s.Get(ctx, "dan")
			must(t, err)
			if rec.Reason != r {
				t.Errorf("Reason = %q, want %q", rec.Reason, r)
			}
		}
		for _, r := range []passwordexpiry.Reason{passwordexpiry.None, "Upper", "with space", "9lives", passwordexpiry.Reason(strings.Repeat("a", 33)), "a|b"} {
			if err := s.Require(ctx, "dan", r, t0); err == nil {
				t.Errorf("Require(reason %q) = nil, want an error", r)
			}
		}
		if err := s.Require(ctx, "dan", passwordexpiry.Temporary, time.Time{}); err == nil {
			t.Error("Require at the zero time = nil, want an error")
		}
		if err := s.Changed(ctx, "dan", time.Time{}); err == nil {
			t.Error("Changed at the zero time = nil, want an error")
		}
	})

	t.Run("OddIDs", func(t *testing.T) {
		s := newStore(t)
		for i, id := range OddIDs {
			must(t, s.Require(ctx, id, passwordexpiry.Temporary, t0.Add(time.Duration(i)*time.Second)))
		}
		for i, id := range OddIDs {
			want(t, s, id, passwordexpiry.Record{Reason: passwordexpiry.Temporary, RequiredAt: t0.Add(time.Duration(i) * time.Second).Truncate(time.Microsecond)})
		}
		// Clearing one clears no other (no LIKE, no case folding, no trimming).
		must(t, s.Changed(ctx, "alice", t0))
		for _, id := range OddIDs[1:] {
			rec, _, err := s.Get(ctx, id)
			must(t, err)
			if rec.Reason != passwordexpiry.Temporary {
				t.Errorf("%q: changing alice cleared it", id)
			}
		}
	})

	t.Run("BadIDs", func(t *testing.T) {
		s := newStore(t)
		for _, id := range BadIDs {
			calls := map[string]error{
				"Get":     func() error { _, _, err := s.Get(ctx, id); return err }(),
				"Require": s.Require(ctx, id, passwordexpiry.Temporary, t0),
				"Changed": s.Changed(ctx, id, t0),
				"Delete":  s.Delete(ctx, id),
			}
			for name, err := range calls {
				if !errors.Is(err, passwordexpiry.ErrInvalidUserID) {
					t.Errorf("%s(%q) = %v, want ErrInvalidUserID", name, id, err)
				}
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Get(cctx, "erin"); err == nil {
			t.Error("Get with a canceled context = nil error")
		}
		if err := s.Require(cctx, "erin", passwordexpiry.Temporary, t0); err == nil {
			t.Error("Require with a canceled context = nil error")
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := range 20 {
			wg.Go(func() {
				id := fmt.Sprintf("user-%d", i%5)
				for j := range 5 {
					at := t0.Add(time.Duration(j) * time.Second)
					if err := s.Require(ctx, id, passwordexpiry.Compromised, at); err != nil {
						errs <- err
					}
					if _, _, err := s.Get(ctx, id); err != nil {
						errs <- err
					}
					if err := s.Changed(ctx, id, at); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func want(t *testing.T, s passwordexpiry.Store, id string, rec passwordexpiry.Record) {
	t.Helper()
	got, found, err := s.Get(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("Get(%q) = found %v, err %v", id, found, err)
	}
	if !got.ChangedAt.Equal(rec.ChangedAt) || got.Reason != rec.Reason || !got.RequiredAt.Equal(rec.RequiredAt) {
		t.Fatalf("Get(%q) = %+v, want %+v", id, got, rec)
	}
}
