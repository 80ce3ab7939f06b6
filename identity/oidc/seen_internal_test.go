package oidc

import (
	"fmt"
	"testing"
	"time"
)

// TestSeenTokensBounded: the replay cache of logout token ids refuses a
// jti until its token expires, and never holds more than
// maxSeenLogoutTokens: when full, the expired ones go, else the one that
// expires first.
func TestSeenTokensBounded(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var s seenTokens
	if !s.add("a", now.Add(time.Minute), now) || s.add("a", now.Add(time.Minute), now) {
		t.Fatal("a jti must be new once, then a replay")
	}
	if !s.add("a", now.Add(2*time.Minute), now.Add(time.Minute)) {
		t.Fatal("a jti whose token expired is new again")
	}
	for i := range maxSeenLogoutTokens - 1 {
		s.add(fmt.Sprint("t", i), now.Add(time.Hour+time.Duration(i)*time.Second), now)
	}
	if len(s.seen) != maxSeenLogoutTokens {
		t.Fatalf("%d held, want %d", len(s.seen), maxSeenLogoutTokens)
	}
	// Full: the one that expires first ("a") makes room.
	if !s.add("new", now.Add(2*time.Hour), now) || len(s.seen) != maxSeenLogoutTokens {
		t.Fatalf("after one more: %d held", len(s.seen))
	}
	if _, ok := s.seen["a"]; ok {
		t.Error(`"a", the first to expire, is still held`)
	}
	if s.add("t5", now.Add(time.Hour), now) {
		t.Error("a held jti was accepted again")
	}
	// Later, the expired entries go all at once when the cache is full.
	later := now.Add(time.Hour + 100*time.Second)
	s.add("late", later.Add(time.Minute), later)
	if len(s.seen) > maxSeenLogoutTokens-100 {
		t.Errorf("%d held after most expired, want at most %d", len(s.seen), maxSeenLogoutTokens-100)
	}
}
