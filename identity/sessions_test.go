package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
)

// draftSite is sessionSite with two more routes: POST /draft puts the
// query's text in the session under "draft", GET /draft reads it back.
func draftSite(t *testing.T, store *users) (http.Handler, *Sessions, *logSink) {
	t.Helper()
	h, s, sink := sessionSite(t, store)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /draft", func(w http.ResponseWriter, r *http.Request) {
		s.sm.Put(r.Context(), "draft", r.URL.Query().Get("text"))
	})
	mux.HandleFunc("GET /draft", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(s.sm.GetString(r.Context(), "draft")))
	})
	mux.Handle("/", h)
	return s.sm.LoadAndSave(mux), s, sink
}

// TestLoginAsAnotherUserClearsTheSession: bob logs in on the browser where
// alice was logged in; he must not see what alice left in the session.
// Logging in again as the same user, or from an anonymous session, keeps
// the session's data (a cart filled before login), as Django does.
func TestLoginAsAnotherUserClearsTheSession(t *testing.T) {
	store := newUsers()
	store.m["bob"] = Basic{UserID: "bob", IsActive: true}
	h, _, _ := draftSite(t, store)

	_, tok := do(t, h, "POST", "/login?user=alice", "")
	do(t, h, "POST", "/draft?text=alice's+private+draft", tok)
	_, tok = do(t, h, "POST", "/login?user=bob", tok)
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "bob" {
		t.Fatalf("after bob's login: %q", rec.Body.String())
	}
	if rec, _ := do(t, h, "GET", "/draft", tok); rec.Body.String() != "" {
		t.Errorf("bob sees %q, left in the session by alice", rec.Body.String())
	}

	for _, tc := range []struct{ name, first string }{
		{"same user again", "alice"},
		{"anonymous before login", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.first != "" {
				_, tok = do(t, h, "POST", "/login?user="+tc.first, "")
			}
			_, tok = do(t, h, "POST", "/draft?text=kept", tok)
			_, tok = do(t, h, "POST", "/login?user=alice", tok)
			if rec, _ := do(t, h, "GET", "/draft", tok); rec.Body.String() != "kept" {
				t.Errorf("draft after login: %q, want %q", rec.Body.String(), "kept")
			}
			if rec, _ := do(t, h, "GET", "/", tok); !strings.HasPrefix(rec.Body.String(), "alice") {
				t.Errorf("user after login: %q", rec.Body.String())
			}
		})
	}
}

// TestSessionReadersWithoutLoadAndSave: called from a handler whose
// request the manager's LoadAndSave never saw, the session readers answer
// "nobody" and RenewToken an error, where scs would panic.
func TestSessionReadersWithoutLoadAndSave(t *testing.T) {
	sm := scs.New()
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: func(context.Context, string) (User, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if id := s.UserID(ctx); id != "" {
		t.Errorf("UserID = %q", id)
	}
	if at := s.LoginTime(ctx); !at.IsZero() {
		t.Errorf("LoginTime = %v", at)
	}
	if err := RenewToken(ctx, sm); !errors.Is(err, ErrSessionNotLoaded) {
		t.Errorf("RenewToken = %v, want ErrSessionNotLoaded", err)
	}
}
