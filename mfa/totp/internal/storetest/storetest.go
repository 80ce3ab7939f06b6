// Package storetest is the conformance suite every totp.Store passes: the
// memory store, and the SQL store on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/mfa/totp"
)

// OddIDs are user ids a store must keep and tell apart.
var OddIDs = []string{
	"alice", "Alice", "alice ", " alice", "ALICE",
	"42", "0", "-1", "user|with|pipes", "1|0|x|alice", "a'b", `a"b`, "a;DROP TABLE users;--",
	"%", "_", "a%b", "a_b", `a\b`, "\t", "line\nbreak", "émile", "e\u0301mile", "用户",
	"🙂", "\u202eevil", "\u00a0", "x\x7fy", strings.Repeat("z", totp.MaxUserIDLen),
}

// BadIDs are user ids every store refuses with totp.ErrInvalidUserID.
var BadIDs = []string{
	"", "nul\x00byte", "\xff\xfe", "\xc0\xae", strings.Repeat("z", totp.MaxUserIDLen+1),
}

const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) totp.Store) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	ctx := context.Background()
	limit := totp.Limit{Max: 3, Window: 10 * time.Minute}

	t.Run("NoRecord", func(t *testing.T) {
		s := newStore(t)
		if rec, found, err := s.Get(ctx, "nobody"); err != nil || found || rec != (totp.Record{}) {
			t.Fatalf("Get(nobody) = %+v, %v, %v; want zero, false, nil", rec, found, err)
		}
		for name, f := range map[string]func() (bool, error){
			"Attempt":         func() (bool, error) { return s.Attempt(ctx, "nobody", t0, limit) },
			"Accept":          func() (bool, error) { return s.Accept(ctx, "nobody", 5) },
			"Confirm":         func() (bool, error) { return s.Confirm(ctx, "nobody", secret, 5) },
			"UseRecoveryCode": func() (bool, error) { return s.UseRecoveryCode(ctx, "nobody", "00") },
		} {
			if ok, err := f(); ok || err != nil {
				t.Errorf("%s(nobody) = %v, %v; want false, nil", name, ok, err)
			}
		}
		if err := s.SetRecoveryCodes(ctx, "nobody", []string{"aa"}); !errors.Is(err, totp.ErrNoRecord) {
			t.Errorf("SetRecoveryCodes(nobody) = %v, want ErrNoRecord", err)
		}
		must(t, s.Delete(ctx, "nobody"))
		if _, found, _ := s.Get(ctx, "nobody"); found {
			t.Error("a record appeared")
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Enroll(ctx, "alice", secret, t0))
		rec := get(t, s, "alice")
		if rec.Secret != secret || rec.Confirmed || rec.LastStep != 0 || rec.Failures != 0 || !rec.EnrolledAt.Equal(t0.Truncate(time.Microsecond)) {
			t.Fatalf("after Enroll: %+v", rec)
		}
		is(t, "Accept before Confirm", false)(s.Accept(ctx, "alice", 100))
		is(t, "Confirm with another secret", false)(s.Confirm(ctx, "alice", "OTHERSECRET", 100))
		is(t, "Confirm", true)(s.Confirm(ctx, "alice", secret, 100))
		is(t, "Confirm twice", false)(s.Confirm(ctx, "alice", secret, 101))
		if rec := get(t, s, "alice"); !rec.Confirmed || rec.LastStep != 100 {
			t.Fatalf("after Confirm: %+v", rec)
		}
		is(t, "Accept the confirming step", false)(s.Accept(ctx, "alice", 100))
		is(t, "Accept an earlier step", false)(s.Accept(ctx, "alice", 99))
		is(t, "Accept the next step", true)(s.Accept(ctx, "alice", 101))
		is(t, "Accept it again (replay)", false)(s.Accept(ctx, "alice", 101))
		is(t, "Accept a later step", true)(s.Accept(ctx, "alice", 1<<40))
		if rec := get(t, s, "alice"); rec.LastStep != 1<<40 {
			t.Fatalf("LastStep = %d", rec.LastStep)
		}
		// Enrolling again starts over: unconfirmed, guard reset.
		must(t, s.Enroll(ctx, "alice", "NEWSECRET", t0.Add(time.Hour)))
		if rec := get(t, s, "alice"); rec.Secret != "NEWSECRET" || rec.Confirmed || rec.LastStep != 0 {
			t.Fatalf("after a second Enroll: %+v", rec)
		}
		must(t, s.Delete(ctx, "alice"))
		if _, found, err := s.Get(ctx, "alice"); err != nil || found {
			t.Fatalf("after Delete: found %v, err %v", found, err)
		}
		if err := s.Enroll(ctx, "alice", "", t0); err == nil {
			t.Error("Enroll with an empty secret = nil")
		}
		if err := s.Enroll(ctx, "alice", secret, time.Time{}); err == nil {
			t.Error("Enroll at the zero time = nil")
		}
	})

	t.Run("AttemptLimit", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Enroll(ctx, "bob", secret, t0))
		for i := range 3 {
			is(t, fmt.Sprintf("attempt %d", i+1), true)(s.Attempt(ctx, "bob", t0.Add(time.Duration(i)*time.Second), limit))
		}
		last := t0.Add(2 * time.Second)
		is(t, "attempt 4 (over the limit)", false)(s.Attempt(ctx, "bob", last.Add(time.Second), limit))
		is(t, "just inside the window", false)(s.Attempt(ctx, "bob", last.Add(limit.Window-time.Microsecond), limit))
		if rec := get(t, s, "bob"); rec.Failures != 3 || !rec.LastFailure.Equal(last.Truncate(time.Microsecond)) {
			t.Fatalf("refused attempts were counted: %+v", rec)
		}
		is(t, "window passed", true)(s.Attempt(ctx, "bob", last.Add(limit.Window), limit))
		is(t, "and locked again at once", false)(s.Attempt(ctx, "bob", last.Add(limit.Window+time.Second), limit))
		if rec := get(t, s, "bob"); rec.Failures != 4 {
			t.Fatalf("Failures = %d, want 4", rec.Failures)
		}
		// A success clears the counter.
		is(t, "Confirm", true)(s.Confirm(ctx, "bob", secret, 7))
		is(t, "attempt after success", true)(s.Attempt(ctx, "bob", last.Add(limit.Window+2*time.Second), limit))
		is(t, "Accept", true)(s.Accept(ctx, "bob", 8))
		if rec := get(t, s, "bob"); rec.Failures != 0 || !rec.LastFailure.IsZero() {
			t.Fatalf("after Accept: %+v", rec)
		}
	})

	t.Run("RecoveryCodes", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Enroll(ctx, "carol", secret, t0))
		must(t, s.SetRecoveryCodes(ctx, "carol", []string{"h1", "h2", "h2"}))
		if rec := get(t, s, "carol"); rec.RecoveryCodes != 2 {
			t.Fatalf("RecoveryCodes = %d, want 2", rec.RecoveryCodes)
		}
		for range 2 {
			is(t, "Attempt", true)(s.Attempt(ctx, "carol", t0, limit))
		}
		is(t, "use h1", true)(s.UseRecoveryCode(ctx, "carol", "h1"))
		is(t, "use h1 again", false)(s.UseRecoveryCode(ctx, "carol", "h1"))
		is(t, "use H2 (case)", false)(s.UseRecoveryCode(ctx, "carol", "H2"))
		if rec := get(t, s, "carol"); rec.RecoveryCodes != 1 || rec.Failures != 0 {
			t.Fatalf("after one use: %+v", rec)
		}
		must(t, s.SetRecoveryCodes(ctx, "carol", []string{"h3"}))
		is(t, "old code after a new set", false)(s.UseRecoveryCode(ctx, "carol", "h2"))
		must(t, s.Enroll(ctx, "carol", secret, t0))
		is(t, "code after a new enrolment", false)(s.UseRecoveryCode(ctx, "carol", "h3"))
		must(t, s.SetRecoveryCodes(ctx, "carol", []string{"h4"}))
		must(t, s.Delete(ctx, "carol"))
		must(t, s.Enroll(ctx, "carol", secret, t0))
		if rec := get(t, s, "carol"); rec.RecoveryCodes != 0 {
			t.Fatalf("codes survived Delete: %+v", rec)
		}
		// Codes are per user.
		must(t, s.Enroll(ctx, "dan", secret, t0))
		must(t, s.SetRecoveryCodes(ctx, "dan", []string{"shared"}))
		is(t, "another user's code", false)(s.UseRecoveryCode(ctx, "carol", "shared"))
	})

	t.Run("OddIDs", func(t *testing.T) {
		s := newStore(t)
		for i, id := range OddIDs {
			must(t, s.Enroll(ctx, id, fmt.Sprintf("SECRET%d", i), t0))
		}
		is(t, "Confirm alice", true)(s.Confirm(ctx, "alice", "SECRET0", 3))
		for i, id := range OddIDs {
			rec := get(t, s, id)
			if rec.Secret != fmt.Sprintf("SECRET%d", i) || rec.Confirmed != (id == "alice") {
				t.Errorf("%q: %+v", id, rec)
			}
		}
	})

	t.Run("BadIDs", func(t *testing.T) {
		s := newStore(t)
		for _, id := range BadIDs {
			calls := map[string]error{
				"Get":              func() error { _, _, err := s.Get(ctx, id); return err }(),
				"Enroll":           s.Enroll(ctx, id, secret, t0),
				"Confirm":          func() error { _, err := s.Confirm(ctx, id, secret, 1); return err }(),
				"Attempt":          func() error { _, err := s.Attempt(ctx, id, t0, limit); return err }(),
				"Accept":           func() error { _, err := s.Accept(ctx, id, 1); return err }(),
				"SetRecoveryCodes": s.SetRecoveryCodes(ctx, id, []string{"h"}),
				"UseRecoveryCode":  func() error { _, err := s.UseRecoveryCode(ctx, id, "h"); return err }(),
				"Delete":           s.Delete(ctx, id),
			}
			for name, err := range calls {
				if !errors.Is(err, totp.ErrInvalidUserID) {
					t.Errorf("%s(%q) = %v, want ErrInvalidUserID", name, id, err)
				}
			}
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		must(t, s.Enroll(ctx, "erin", secret, t0))
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Get(cctx, "erin"); err == nil {
			t.Error("Get with a canceled context = nil error")
		}
		if _, err := s.Accept(cctx, "erin", 5); err == nil {
			t.Error("Accept with a canceled context = nil error")
		}
		if _, err := s.Attempt(cctx, "erin", t0, limit); err == nil {
			t.Error("Attempt with a canceled context = nil error")
		}
	})

	// Concurrent requests with one code, or beyond the limit: exactly as
	// many pass as one at a time would.
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"frank", "grace"} {
			must(t, s.Enroll(ctx, id, secret, t0))
			is(t, "Confirm", true)(s.Confirm(ctx, id, secret, 10))
		}
		must(t, s.SetRecoveryCodes(ctx, "frank", []string{"once"}))
		var accepted, attempts, used atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		count := func(n *atomic.Int64) func(bool, error) {
			return func(ok bool, err error) {
				if err != nil {
					errs <- err
				} else if ok {
					n.Add(1)
				}
			}
		}
		for range 20 {
			wg.Go(func() {
				count(&accepted)(s.Accept(ctx, "frank", 11))
				count(&used)(s.UseRecoveryCode(ctx, "frank", "once"))
				count(&attempts)(s.Attempt(ctx, "grace", t0, totp.Limit{Max: 5, Window: time.Hour}))
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if accepted.Load() != 1 || used.Load() != 1 || attempts.Load() != 5 {
			t.Errorf("one step accepted %d times, one recovery code used %d times, %d attempts under a limit of 5; want 1, 1, 5",
				accepted.Load(), used.Load(), attempts.Load())
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// is returns a check of a (bool, error) result against want.
func is(t *testing.T, what string, want bool) func(bool, error) {
	return func(ok bool, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok != want {
			t.Fatalf("%s = %v, want %v", what, ok, want)
		}
	}
}

func get(t *testing.T, s totp.Store, id string) totp.Record {
	t.Helper()
	rec, found, err := s.Get(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("Get(%q) = found %v, err %v", id, found, err)
	}
	return rec
}
