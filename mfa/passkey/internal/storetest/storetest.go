// Package storetest is the conformance suite every passkey.Store passes:
// the memory store, and the SQL store on SQLite and PostgreSQL.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/mfa/passkey"
)

// OddIDs are user ids a store must keep and tell apart.
var OddIDs = []string{
	"alice", "Alice", "alice ", "42", "user|with|pipes", "a'b", `a"b`, "a;DROP TABLE users;--",
	"%", "_", `a\b`, "line\nbreak", "émile", "e\u0301mile", "用户", "🙂", strings.Repeat("z", passkey.MaxUserIDLen),
}

// BadIDs are user ids every store refuses with passkey.ErrInvalidUserID.
var BadIDs = []string{"", "nul\x00byte", "\xff\xfe", strings.Repeat("z", passkey.MaxUserIDLen+1)}

func handle(b byte) []byte { return bytes.Repeat([]byte{b}, passkey.HandleLen) }

func cred(user string, id byte, at time.Time) passkey.Credential {
	return passkey.Credential{
		ID: []byte{id, 0, 0xff, id}, UserID: user, PublicKey: []byte{0xa5, 1, 2, id}, AttestationType: "none",
		AAGUID: bytes.Repeat([]byte{id}, 16), Transports: []string{"internal", "hybrid"}, SignCount: 1,
		UserVerified: true, BackupEligible: true, BackupState: false, Name: "laptop " + string(rune('a'+id%26)), CreatedAt: at,
	}
}

// Run runs the suite; newStore returns a fresh, empty store.
func Run(t *testing.T, newStore func(t *testing.T) passkey.Store) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	ctx := context.Background()

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		if h, found, err := s.Handle(ctx, "nobody"); err != nil || found || h != nil {
			t.Fatalf("Handle(nobody) = %x, %v, %v", h, found, err)
		}
		if id, found, err := s.UserByHandle(ctx, handle(1)); err != nil || found || id != "" {
			t.Fatalf("UserByHandle = %q, %v, %v", id, found, err)
		}
		if c, found, err := s.Get(ctx, []byte{1}); err != nil || found || c.ID != nil {
			t.Fatalf("Get = %+v, %v, %v", c, found, err)
		}
		if l, err := s.List(ctx, "nobody"); err != nil || len(l) != 0 {
			t.Fatalf("List = %+v, %v", l, err)
		}
		if ok, err := s.Use(ctx, []byte{1}, 0, passkey.Use{Challenge: []byte("c"), At: t0}); ok || err != nil {
			t.Fatalf("Use = %v, %v", ok, err)
		}
		if err := s.FlagClone(ctx, []byte{1}); err != nil {
			t.Fatalf("FlagClone = %v", err)
		}
		if ok, err := s.Delete(ctx, "nobody", []byte{1}); ok || err != nil {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
	})

	t.Run("Handles", func(t *testing.T) {
		s := newStore(t)
		h, err := s.CreateHandle(ctx, "alice", handle(1))
		if err != nil || !bytes.Equal(h, handle(1)) {
			t.Fatalf("CreateHandle = %x, %v", h, err)
		}
		// The first handle stays.
		if h, err := s.CreateHandle(ctx, "alice", handle(2)); err != nil || !bytes.Equal(h, handle(1)) {
			t.Fatalf("second CreateHandle = %x, %v; want the first", h, err)
		}
		if _, err := s.CreateHandle(ctx, "bob", handle(1)); !errors.Is(err, passkey.ErrDuplicate) {
			t.Fatalf("CreateHandle with alice's handle: %v, want ErrDuplicate", err)
		}
		if _, err := s.CreateHandle(ctx, "bob", []byte("short")); err == nil {
			t.Fatal("CreateHandle with a short handle: nil error")
		}
		if got, found, err := s.Handle(ctx, "alice"); err != nil || !found || !bytes.Equal(got, handle(1)) {
			t.Fatalf("Handle = %x, %v, %v", got, found, err)
		}
		if id, found, err := s.UserByHandle(ctx, handle(1)); err != nil || !found || id != "alice" {
			t.Fatalf("UserByHandle = %q, %v, %v", id, found, err)
		}
	})

	t.Run("ConcurrentHandles", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range got {
			wg.Go(func() { got[i], errs[i] = s.CreateHandle(ctx, "alice", handle(byte(i+1))) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("concurrent CreateHandle %d = %x, %v; want one handle for all", i, got[i], errs[i])
			}
		}
	})

	t.Run("AddGetList", func(t *testing.T) {
		s := newStore(t)
		if err := s.Add(ctx, cred("alice", 1, t0)); err == nil {
			t.Fatal("Add for a user without a handle: nil error")
		}
		for i, u := range []string{"alice", "bob"} {
			if _, err := s.CreateHandle(ctx, u, handle(byte(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		c1, c2 := cred("alice", 1, t0), cred("alice", 2, t0.Add(time.Second))
		c2.Transports, c2.AAGUID, c2.BackupEligible, c2.UserVerified, c2.SignCount = nil, nil, false, false, 0
		for _, c := range []passkey.Credential{c1, c2, cred("bob", 3, t0)} {
			if err := s.Add(ctx, c); err != nil {
				t.Fatalf("Add %x: %v", c.ID, err)
			}
		}
		dup := cred("bob", 1, t0) // alice's id, for bob
		if err := s.Add(ctx, dup); !errors.Is(err, passkey.ErrDuplicate) {
			t.Fatalf("Add of a stored id: %v, want ErrDuplicate", err)
		}
		want := []passkey.Credential{stamped(c1), stamped(c2)}
		got, err := s.List(ctx, "alice")
		if err != nil || !equal(got, want) {
			t.Fatalf("List(alice) =\n%+v, %v; want\n%+v", got, err, want)
		}
		if c, found, err := s.Get(ctx, c2.ID); err != nil || !found || !equal([]passkey.Credential{c}, want[1:]) {
			t.Fatalf("Get = %+v, %v, %v", c, found, err)
		}
		for _, bad := range []passkey.Credential{
			{ID: []byte{9}, UserID: "alice", PublicKey: []byte{1}},          // no time
			{ID: nil, UserID: "alice", PublicKey: []byte{1}, CreatedAt: t0}, // no id
			{ID: []byte{9}, UserID: "alice", CreatedAt: t0},                 // no key
			{ID: make([]byte, passkey.MaxCredentialIDLen+1), UserID: "alice", PublicKey: []byte{1}, CreatedAt: t0},
		} {
			if err := s.Add(ctx, bad); err == nil {
				t.Errorf("Add(%+v): nil error", bad)
			}
		}
	})

	t.Run("Use", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.CreateHandle(ctx, "alice", handle(1)); err != nil {
			t.Fatal(err)
		}
		c := cred("alice", 1, t0)
		c.BackupEligible, c.UserVerified = true, false
		if err := s.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Minute)
		u := passkey.Use{Challenge: []byte("challenge-1"), SignCount: 5, UserVerified: true, BackupState: true, At: at}
		if ok, err := s.Use(ctx, c.ID, 0, u); ok || err != nil {
			t.Fatalf("Use with a stale count = %v, %v", ok, err)
		}
		if ok, err := s.Use(ctx, c.ID, 1, u); !ok || err != nil {
			t.Fatalf("Use = %v, %v", ok, err)
		}
		got, _, _ := s.Get(ctx, c.ID)
		if got.SignCount != 5 || !got.UserVerified || !got.BackupState || !got.LastUsedAt.Equal(passkey.Stamp(at)) || got.CloneWarning {
			t.Fatalf("after Use: %+v", got)
		}
		// The same challenge again, even with the new count: refused.
		if ok, err := s.Use(ctx, c.ID, 5, passkey.Use{Challenge: []byte("challenge-1"), SignCount: 6, At: at}); ok || err != nil {
			t.Fatalf("Use of the same challenge = %v, %v", ok, err)
		}
		// UV once seen stays.
		if ok, err := s.Use(ctx, c.ID, 5, passkey.Use{Challenge: []byte("challenge-2"), SignCount: 6, At: at}); !ok || err != nil {
			t.Fatalf("Use = %v, %v", ok, err)
		}
		if got, _, _ := s.Get(ctx, c.ID); !got.UserVerified || got.BackupState {
			t.Fatalf("after a use without UV: %+v", got)
		}
		if err := s.FlagClone(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Get(ctx, c.ID); !got.CloneWarning {
			t.Fatal("FlagClone did not flag")
		}
		if ok, err := s.Use(ctx, c.ID, 6, passkey.Use{Challenge: []byte("challenge-3"), SignCount: 7, At: at}); ok || err != nil {
			t.Fatalf("Use of a flagged credential = %v, %v", ok, err)
		}
	})

	t.Run("ConcurrentUse", func(t *testing.T) {
		for _, count := range []uint32{0, 7} {
			s := newStore(t)
			if _, err := s.CreateHandle(ctx, "alice", handle(1)); err != nil {
				t.Fatal(err)
			}
			c := cred("alice", 1, t0)
			c.SignCount = count
			if err := s.Add(ctx, c); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var passed atomic.Int32
			for range 8 {
				wg.Go(func() {
					next := count
					if count != 0 {
						next++
					}
					ok, err := s.Use(ctx, c.ID, count, passkey.Use{Challenge: []byte("one assertion"), SignCount: next, At: t0})
					if err != nil {
						t.Error(err)
					}
					if ok {
						passed.Add(1)
					}
				})
			}
			wg.Wait()
			if n := passed.Load(); n != 1 {
				t.Fatalf("count %d: %d of 8 concurrent uses of one assertion passed", count, n)
			}
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := newStore(t)
		for i, u := range []string{"alice", "bob"} {
			if _, err := s.CreateHandle(ctx, u, handle(byte(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		a, b := cred("alice", 1, t0), cred("bob", 2, t0)
		for _, c := range []passkey.Credential{a, b} {
			if err := s.Add(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.Delete(ctx, "alice", b.ID); ok || err != nil {
			t.Fatalf("alice deletes bob's = %v, %v", ok, err)
		}
		if ok, err := s.Delete(ctx, "alice", a.ID); !ok || err != nil {
			t.Fatalf("Delete = %v, %v", ok, err)
		}
		if _, found, _ := s.Get(ctx, a.ID); found {
			t.Fatal("deleted credential still found")
		}
		if l, _ := s.List(ctx, "bob"); len(l) != 1 {
			t.Fatalf("bob's: %+v", l)
		}
		// The id is free again (a re-registration).
		if err := s.Add(ctx, a); err != nil {
			t.Fatalf("Add after Delete: %v", err)
		}
	})

	t.Run("OddIDs", func(t *testing.T) {
		s := newStore(t)
		for i, id := range OddIDs {
			if _, err := s.CreateHandle(ctx, id, handle(byte(i+1))); err != nil {
				t.Fatalf("CreateHandle(%q): %v", id, err)
			}
			if err := s.Add(ctx, cred(id, byte(i+1), t0)); err != nil {
				t.Fatalf("Add(%q): %v", id, err)
			}
		}
		for i, id := range OddIDs {
			l, err := s.List(ctx, id)
			if err != nil || len(l) != 1 || l[0].UserID != id || l[0].ID[0] != byte(i+1) {
				t.Fatalf("List(%q) = %+v, %v", id, l, err)
			}
			if u, found, err := s.UserByHandle(ctx, handle(byte(i+1))); err != nil || !found || u != id {
				t.Fatalf("UserByHandle = %q, %v, %v; want %q", u, found, err, id)
			}
		}
	})

	t.Run("BadIDs", func(t *testing.T) {
		s := newStore(t)
		for _, id := range BadIDs {
			errs := map[string]error{
				"Handle":       func() error { _, _, err := s.Handle(ctx, id); return err }(),
				"CreateHandle": func() error { _, err := s.CreateHandle(ctx, id, handle(1)); return err }(),
				"Add":          s.Add(ctx, cred(id, 1, t0)),
				"List":         func() error { _, err := s.List(ctx, id); return err }(),
				"Delete":       func() error { _, err := s.Delete(ctx, id, []byte{1}); return err }(),
			}
			for name, err := range errs {
				if !errors.Is(err, passkey.ErrInvalidUserID) {
					t.Errorf("%s(%q): %v, want ErrInvalidUserID", name, id, err)
				}
			}
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Handle(cctx, "alice"); err == nil {
			t.Fatal("Handle on a canceled context: nil error")
		}
	})
}

// stamped is c as a store gives it back.
func stamped(c passkey.Credential) passkey.Credential {
	c.CreatedAt = passkey.Stamp(c.CreatedAt)
	c.LastUsedAt = passkey.Stamp(c.LastUsedAt)
	return c
}

// equal compares credentials field by field (nil and empty slices alike).
func equal(a, b []passkey.Credential) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if fmt.Sprintf("%+v", norm(a[i])) != fmt.Sprintf("%+v", norm(b[i])) {
			return false
		}
	}
	return true
}

func norm(c passkey.Credential) passkey.Credential {
	if len(c.AAGUID) == 0 {
		c.AAGUID = nil
	}
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	c.Transports = slices.Clip(c.Transports)
	return c
}
