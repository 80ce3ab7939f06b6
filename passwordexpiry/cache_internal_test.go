package passwordexpiry

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/seclog"
)

// FuzzCachedValue: whatever the session holds under SessionKey, reading it
// never panics, and a value is trusted only when it is exactly what
// remember writes, about the right user, fresh and within the bound.
func FuzzCachedValue(f *testing.F) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	fresh := strconv.FormatInt(now.Add(30*time.Second).UnixNano(), 10)
	for _, seed := range []string{
		"", "1|", "1||", "1|||", "1|" + fresh + "||alice", "1|" + fresh + "|compromised|alice",
		"1|" + fresh + "|compromised|bob", "2|" + fresh + "||alice", "1|-1||alice", "1|99999999999999999999||alice",
		"1| 123||alice", "1|+" + fresh + "||alice", "1|" + fresh + "|a|b|alice", "\x00", "1|" + fresh + "||alice|",
	} {
		f.Add(seed)
	}
	sm := scs.New()
	m, err := New(Config{Store: NewMemoryStore(), Sessions: sm, Logger: seclog.Discard(), Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ctx, err := sm.Load(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		sm.Put(ctx, SessionKey, v)
		reason, ok := m.cached(ctx, "alice", now)
		if !ok {
			return
		}
		// Trusted: it must parse back to a fresh verdict about alice.
		var until int64
		rest := v[len("1|"):]
		i := 0
		for rest[i] != '|' {
			i++
		}
		until, err = strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			t.Fatalf("%q trusted with an unparsable time", v)
		}
		if left := until - now.UnixNano(); left <= 0 || left > int64(m.ttl) {
			t.Fatalf("%q trusted outside the bound", v)
		}
		if want := "1|" + rest[:i] + "|" + string(reason) + "|alice"; v != want {
			t.Fatalf("%q trusted, but reads as %q", v, want)
		}
	})
}

// TestSessionWithoutLoadAndSave: no session loaded, no panic: Changed
// and Require leave the session alone (Check reports the chain's mistake,
// see TestSessionNotLoaded in the root package).
func TestSessionWithoutLoadAndSave(t *testing.T) {
	m, err := New(Config{Store: NewMemoryStore(), Sessions: scs.New(), Logger: seclog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if sm := m.session(httptest.NewRequest("GET", "/", nil), "alice"); sm != nil {
		t.Fatal("a session without LoadAndSave")
	}
}
