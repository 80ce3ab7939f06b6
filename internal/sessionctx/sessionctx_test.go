package sessionctx_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
)

func TestCheck(t *testing.T) {
	sm, other := scs.New(), scs.New()
	loaded, err := sm.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := sessionctx.Check(loaded, sm, "mfa"); err != nil {
		t.Errorf("loaded: %v", err)
	}
	for name, ctx := range map[string]context.Context{"nothing loaded": context.Background(), "another manager's session": loaded} {
		err := sessionctx.Check(ctx, other, "mfa")
		if !errors.Is(err, sessionctx.ErrNotLoaded) || err.Error() != "mfa: the scs session is not loaded in the request context: put Sessions.LoadAndSave (the Chain's Sessions slot) before mfa" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRefuse(t *testing.T) {
	log, events := seclogtest.New(t)
	w := httptest.NewRecorder()
	sessionctx.Refuse(w, httptest.NewRequest("HEAD", "/", nil), log, sessionctx.Check(context.Background(), scs.New(), "identity"))
	if w.Code != 500 || w.Body.Len() != 0 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("HEAD: %d %q %v", w.Code, w.Body, w.Header())
	}
	got := events.Take()
	if len(got) != 1 || got[0].Name != "session.not_loaded" || got[0].Fields["middleware"] != "identity" {
		t.Errorf("events %v", got)
	}
}

// BenchmarkLoaded is the cost of the check on the happy path: one
// context lookup; the lookup's key, a string boxed into an interface,
// is its one allocation (16 B), as in every scs read.
func BenchmarkLoaded(b *testing.B) {
	sm, ctx := loaded(b)
	for b.Loop() {
		if !sessionctx.Loaded(ctx, sm) {
			b.Fatal("not loaded")
		}
	}
}

// BenchmarkGetString is one scs read, for comparison.
func BenchmarkGetString(b *testing.B) {
	sm, ctx := loaded(b)
	for b.Loop() {
		_ = sm.GetString(ctx, "user")
	}
}

// loaded returns a manager and a context that holds a new session of it,
// and starts counting allocations.
func loaded(b *testing.B) (*scs.SessionManager, context.Context) {
	sm := scs.New()
	ctx, err := sm.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return sm, ctx
}
