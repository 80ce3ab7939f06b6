package totp_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/throttle"
)

// completeFrom posts code as the form field "code" from the client at
// remote (host:port) and returns Complete's error.
func (e *env) completeFrom(remote, user, code string) error {
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(form(code)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remote
	return e.v.Complete(r, user, "state")
}

// TestOwnerCodeAcceptedAfterStrangerGuesses: someone who knows alice's
// password guesses codes from another client until they are refused; alice's
// right code from her own client is still accepted (issue #14, item 5).
func TestOwnerCodeAcceptedAfterStrangerGuesses(t *testing.T) {
	e := newEnv(t, nil)
	wrong := "000000"
	if wrong == e.code(0) || wrong == e.code(1) || wrong == e.code(-1) {
		wrong = "111111"
	}
	const stranger, owner = "203.0.113.66:40000", "198.51.100.7:50000"
	for range 5 {
		wantErr(t, "stranger's wrong code", e.completeFrom(stranger, "alice", wrong), mfa.ErrInvalid)
	}
	wantErr(t, "stranger's sixth code", e.completeFrom(stranger, "alice", wrong), mfa.ErrLocked)
	wantErr(t, "owner's right code from her client", e.completeFrom(owner, "alice", e.code(0)), nil)
}

// switchStore is a throttle store that fails while down is set.
type switchStore struct {
	*throttle.MemoryStore
	down atomic.Bool
}

func (s *switchStore) Take(ctx context.Context, now time.Time, c []throttle.Counter) (throttle.Verdict, error) {
	if s.down.Load() {
		return throttle.Verdict{}, errDown
	}
	return s.MemoryStore.Take(ctx, now, c)
}

// TestThrottleStoreError: when the throttle's store cannot answer, Complete
// and Confirm fail with an error that is none of the refusals (the gate
// answers 503), never a pass, even with the right code.
func TestThrottleStoreError(t *testing.T) {
	store := &switchStore{MemoryStore: throttle.NewMemoryStore(0)}
	e := newEnv(t, func(c *totp.Config) {
		th, err := throttle.New(throttle.Config{Scope: "totp", Store: store, Logger: c.Logger, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Throttle = th
	})
	store.down.Store(true)
	err := e.complete("alice", form(e.code(0)))
	if !errors.Is(err, throttle.ErrUnavailable) {
		t.Fatalf("Complete = %v, want the throttle's ErrUnavailable", err)
	}
	for _, refusal := range []error{mfa.ErrInvalid, mfa.ErrReplay, mfa.ErrLocked, mfa.ErrNotEnrolled, mfa.ErrState} {
		if errors.Is(err, refusal) {
			t.Fatalf("a throttle store error reads as %v", refusal)
		}
	}
	if _, err := e.v.Enroll(context.Background(), "bob", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := e.v.Confirm(nil, "bob", "123456"); !errors.Is(err, throttle.ErrUnavailable) {
		t.Fatalf("Confirm = %v, want the throttle's ErrUnavailable", err)
	}
	store.down.Store(false)
	if err := e.complete("alice", form(e.code(0))); err != nil {
		t.Fatalf("Complete once the store is back: %v", err)
	}
}

// TestThrottleWithLimits: MaxAttempts and LockWindow belong to the default
// throttle; with Config.Throttle they are a mistake.
func TestThrottleWithLimits(t *testing.T) {
	th, err := throttle.New(throttle.Config{Scope: "totp"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []totp.Config{
		{Store: totp.NewMemoryStore(), Issuer: "x", Throttle: th, MaxAttempts: 3},
		{Store: totp.NewMemoryStore(), Issuer: "x", Throttle: th, LockWindow: time.Minute},
	} {
		if _, err := totp.New(c); err == nil || !strings.Contains(err.Error(), "Pair") {
			t.Errorf("New(%+v) = %v, want an error naming the Pair rule", c, err)
		}
	}
	if _, err := totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "x", LockWindow: 40 * 24 * time.Hour}); err == nil {
		t.Error("a LockWindow of 40 days: no error")
	}
}
