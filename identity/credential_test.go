package identity

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/gomodule/redigo/redis"
)

// stamped is a user whose sessions end when its stamp changes.
type stamped struct {
	Basic
	stamp string
}

func (u stamped) CredentialStamp() string { return u.stamp }

// setStamp changes a user's stamp in the test's user store (a password
// change or an administrator's reset, as the database would see it).
func (u *users) setStamp(id, stamp string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.m[id] = stamped{Basic: u.m[id].(stamped).Basic, stamp: stamp}
}

// revoke is SessionsConfig.Revoke for the test's user store: a new stamp.
func (u *users) revoke(_ context.Context, id string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	old := u.m[id].(stamped)
	u.m[id] = stamped{Basic: old.Basic, stamp: old.stamp + "+1"}
	return nil
}

func stampedUsers() *users {
	return &users{m: map[string]User{
		"alice": stamped{Basic: alice, stamp: "pw1"},
		"bob":   stamped{Basic: Basic{UserID: "bob", IsActive: true}, stamp: ""},
		"plain": Basic{UserID: "plain", IsActive: true},
	}}
}

// credSite is one application instance with its own session manager on
// store: POST /login?user=ID, GET / (who is asking), POST /password?stamp=S
// (the session's user changes their password, then Reauthenticate), POST
// /everywhere, POST /others, POST /draft and GET /draft.
func credSite(t *testing.T, store scs.Store, us *users) (http.Handler, *logSink) {
	t.Helper()
	log, sink := testLogger(t)
	sm := scs.New()
	sm.Store = store
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: us.lookup, Revoke: us.revoke, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Authenticators: []Authenticator{s}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	fail := func(w http.ResponseWriter, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/", whoami)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		u, _ := us.lookup(r.Context(), r.URL.Query().Get("user"))
		fail(w, s.Login(r, u))
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		if u := FromRequest(r); u != nil {
			us.setStamp(u.ID(), r.URL.Query().Get("stamp"))
		}
		fail(w, s.Reauthenticate(r))
	})
	mux.HandleFunc("POST /everywhere", func(w http.ResponseWriter, r *http.Request) { fail(w, s.LogoutEverywhere(r)) })
	mux.HandleFunc("POST /others", func(w http.ResponseWriter, r *http.Request) { fail(w, s.LogoutOthers(r)) })
	mux.HandleFunc("POST /draft", func(w http.ResponseWriter, r *http.Request) { sm.Put(r.Context(), "draft", "mine") })
	mux.HandleFunc("GET /draft", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(sm.GetString(r.Context(), "draft"))) })
	return sm.LoadAndSave(m.Handler(mux)), sink
}

// credentialStores gives, for each store the suite uses, a func that
// opens one shared store for t and returns a maker of its clients, one per
// application instance.
var credentialStores = map[string]func(t *testing.T) func() scs.Store{
	"memstore": func(t *testing.T) func() scs.Store {
		shared := memstore.NewWithCleanupInterval(0)
		return func() scs.Store { return shared }
	},
	"redis":    redisStore,
	"postgres": func(t *testing.T) func() scs.Store { return sqlstoretest.SCSPostgres(t) },
}

// redisStore opens keys unique to t on the Redis server; each client has
// its own pool, as two processes would.
func redisStore(t *testing.T) func() scs.Store {
	addr, prefix := testenv.RedisPrefix(t, "identity")
	return func() scs.Store {
		pool := &redis.Pool{MaxIdle: 2, IdleTimeout: time.Minute, Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
		t.Cleanup(func() { pool.Close() })
		return redisstore.NewWithPrefix(pool, prefix)
	}
}

// TestPasswordChangeEndsOtherSessions: alice is logged in three times, on
// two instances sharing a store. She changes her password in one session:
// that session goes on (with a new token), on both instances; her other
// sessions are logged out at their next request, on either instance, with
// identity.credential_changed. An administrator's reset then ends them
// all.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	for name, open := range credentialStores {
		t.Run(name, func(t *testing.T) {
			newStore := open(t)
			us := stampedUsers()
			a, sinkA := credSite(t, newStore(), us)
			b, sinkB := credSite(t, newStore(), us)
			_, s1 := do(t, a, "POST", "/login?user=alice", "")
			_, s2 := do(t, b, "POST", "/login?user=alice", "")
			_, s3 := do(t, a, "POST", "/login?user=alice", "")
			for _, s := range []string{s1, s2, s3} {
				if rec, _ := do(t, b, "GET", "/", s); rec.Body.String() != "alice" {
					t.Fatalf("before the change: %q", rec.Body.String())
				}
			}
			rec, kept := do(t, a, "POST", "/password?stamp=pw2", s1)
			if rec.Code != http.StatusOK || kept == s1 || kept == "" {
				t.Fatalf("password change: %d %q, token %q → %q", rec.Code, rec.Body.String(), s1, kept)
			}
			for _, h := range []http.Handler{b, a} {
				if rec, _ := do(t, h, "GET", "/", kept); rec.Body.String() != "alice" {
					t.Errorf("the session that changed the password: %q, want alice", rec.Body.String())
				}
			}
			for i, c := range []struct {
				h   http.Handler
				tok string
			}{{b, s2}, {a, s3}, {b, s1}} {
				if rec, _ := do(t, c.h, "GET", "/", c.tok); rec.Body.String() != "anonymous" {
					t.Errorf("other session %d after the change: %q, want anonymous", i, rec.Body.String())
				}
			}
			events := append(sinkA.events(), sinkB.events()...)
			if n := count(events, "identity.credential_changed"); n != 2 {
				t.Errorf("%d identity.credential_changed events, want 2 (%v)", n, events)
			}
			if !slices.Contains(events, "identity.reauthenticated") {
				t.Errorf("no identity.reauthenticated in %v", events)
			}
			// An administrator resets her password: no session survives.
			us.setStamp("alice", "reset-by-admin")
			if rec, _ := do(t, b, "GET", "/", kept); rec.Body.String() != "anonymous" {
				t.Errorf("after an administrator's reset: %q, want anonymous", rec.Body.String())
			}
		})
	}
}

func count(names []string, name string) (n int) {
	for _, v := range names {
		if v == name {
			n++
		}
	}
	return n
}

// TestLogoutEverywhere: LogoutOthers keeps the session that asked and
// ends the user's others, on every instance; LogoutEverywhere ends all of
// them, the one that asked too.
func TestLogoutEverywhere(t *testing.T) {
	for name, open := range credentialStores {
		t.Run(name, func(t *testing.T) {
			newStore := open(t)
			us := stampedUsers()
			a, sink := credSite(t, newStore(), us)
			b, _ := credSite(t, newStore(), us)
			_, s1 := do(t, a, "POST", "/login?user=alice", "")
			_, s2 := do(t, b, "POST", "/login?user=alice", "")
			_, bob := do(t, b, "POST", "/login?user=bob", "")
			rec, kept := do(t, a, "POST", "/others", s1)
			if rec.Code != 200 || kept == s1 {
				t.Fatalf("LogoutOthers: %d %q", rec.Code, rec.Body.String())
			}
			if rec, _ := do(t, b, "GET", "/", kept); rec.Body.String() != "alice" {
				t.Errorf("the session that asked: %q, want alice", rec.Body.String())
			}
			if rec, _ := do(t, b, "GET", "/", s2); rec.Body.String() != "anonymous" {
				t.Errorf("the other session: %q, want anonymous", rec.Body.String())
			}
			_, s3 := do(t, b, "POST", "/login?user=alice", "")
			if rec, _ := do(t, b, "POST", "/everywhere", kept); rec.Code != 200 {
				t.Fatalf("LogoutEverywhere: %d %q", rec.Code, rec.Body.String())
			}
			for _, s := range []string{kept, s3} {
				if rec, _ := do(t, a, "GET", "/", s); rec.Body.String() != "anonymous" {
					t.Errorf("after LogoutEverywhere: %q, want anonymous", rec.Body.String())
				}
			}
			if rec, _ := do(t, a, "GET", "/", bob); rec.Body.String() != "bob" {
				t.Errorf("another user's session: %q, want bob", rec.Body.String())
			}
			want := []string{"identity.logout_everywhere", "identity.reauthenticated"}
			if ev := sink.events(); !slices.Contains(ev, want[0]) || !slices.Contains(ev, want[1]) {
				t.Errorf("events %v, want %v among them", ev, want)
			}
		})
	}
}

// direct runs fn on the session of tok inside sm's LoadAndSave, without
// the identity middleware in the way, and returns fn's error and the
// session's token afterwards.
func direct(t *testing.T, sm *scs.SessionManager, tok string, fn func(r *http.Request) error) (string, error) {
	t.Helper()
	var err error
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { err = fn(r) }))
	_, tok = do(t, h, "POST", "/", tok)
	return tok, err
}

func TestCredentialBoundaries(t *testing.T) {
	store := memstore.NewWithCleanupInterval(0)
	us := stampedUsers()
	h, _ := credSite(t, store, us)
	sm := scs.New()
	sm.Store = store
	s, err := NewSessions(SessionsConfig{Sessions: sm, Lookup: us.lookup, Revoke: us.revoke})
	if err != nil {
		t.Fatal(err)
	}
	set := func(u User) {
		us.mu.Lock()
		defer us.mu.Unlock()
		us.m[u.ID()] = u
	}
	who := func(tok string) string {
		rec, _ := do(t, h, "GET", "/", tok)
		return rec.Body.String()
	}
	plain := Basic{UserID: "plain", IsActive: true}

	t.Run("a user without a stamp is never checked", func(t *testing.T) {
		set(plain)
		_, tok := do(t, h, "POST", "/login?user=plain", "")
		if got := who(tok); got != "plain" {
			t.Errorf("%q, want plain", got)
		}
	})
	t.Run("an empty stamp is a stamp", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?user=bob", "")
		if got := who(tok); got != "bob" {
			t.Errorf("%q, want bob", got)
		}
		us.setStamp("bob", "now set")
		if got := who(tok); got != "anonymous" {
			t.Errorf("after the stamp changed from empty: %q, want anonymous", got)
		}
	})
	t.Run("a session made before the user had a stamp ends", func(t *testing.T) {
		set(plain)
		_, tok := do(t, h, "POST", "/login?user=plain", "")
		set(stamped{Basic: plain})
		if got := who(tok); got != "anonymous" {
			t.Errorf("%q, want anonymous", got)
		}
	})
	t.Run("a stamp is dropped when the user no longer has one", func(t *testing.T) {
		set(stamped{Basic: plain, stamp: "x"})
		_, tok := do(t, h, "POST", "/login?user=plain", "")
		set(plain)
		_, tok = do(t, h, "POST", "/login?user=plain", tok) // same user, new credential: cleared, no stamp
		if got := who(tok); got != "plain" {
			t.Errorf("%q, want plain", got)
		}
	})
	t.Run("login again under a new credential clears the session", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?user=alice", "")
		_, tok = do(t, h, "POST", "/draft", tok)
		us.setStamp("alice", "pw-new")
		tok, err := direct(t, sm, tok, func(r *http.Request) error {
			u, _ := us.lookup(r.Context(), "alice")
			return s.Login(r, u)
		})
		if err != nil {
			t.Fatal(err)
		}
		if rec, _ := do(t, h, "GET", "/draft", tok); rec.Body.String() != "" {
			t.Errorf("draft after login under a new credential: %q, want none", rec.Body.String())
		}
		if got := who(tok); got != "alice" {
			t.Errorf("%q, want alice", got)
		}
	})
	t.Run("anonymous sessions cannot reauthenticate or revoke", func(t *testing.T) {
		for _, path := range []string{"/password?stamp=x", "/everywhere", "/others"} {
			if rec, _ := do(t, h, "POST", path, ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "no user") {
				t.Errorf("%s on an anonymous session: %d %q", path, rec.Code, rec.Body.String())
			}
		}
	})
	t.Run("a failed revoke ends nothing", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?user=alice", "")
		us.mu.Lock()
		us.err = errors.New("database down")
		us.mu.Unlock()
		for _, fn := range []func(*http.Request) error{s.LogoutEverywhere, s.LogoutOthers} {
			after, err := direct(t, sm, tok, fn)
			if err == nil || !strings.Contains(err.Error(), "database down") || after != tok {
				t.Errorf("revoke with the store down: %v, token %q → %q", err, tok, after)
			}
		}
		us.mu.Lock()
		us.err = nil
		us.mu.Unlock()
		if got := who(tok); got != "alice" {
			t.Errorf("after the failed revokes: %q, want alice", got)
		}
	})
	t.Run("no Revoke configured", func(t *testing.T) {
		s, _ := NewSessions(SessionsConfig{Sessions: sm, Lookup: us.lookup})
		_, tok := do(t, h, "POST", "/login?user=alice", "")
		_, err := direct(t, sm, tok, s.LogoutEverywhere)
		if err == nil || !strings.Contains(err.Error(), "SessionsConfig.Revoke is nil") {
			t.Errorf("LogoutEverywhere without Revoke: %v", err)
		}
	})
	t.Run("reauthenticate when the lookup fails or the user is gone", func(t *testing.T) {
		_, tok := do(t, h, "POST", "/login?user=alice", "")
		us.mu.Lock()
		us.err = errors.New("database down")
		us.mu.Unlock()
		after, err := direct(t, sm, tok, s.Reauthenticate)
		us.mu.Lock()
		us.err = nil
		us.mu.Unlock()
		if err == nil || after != tok || who(tok) != "alice" {
			t.Errorf("lookup failed: %v, token %q → %q", err, tok, after)
		}
		set(stamped{Basic: Basic{UserID: "alice"}, stamp: "pw1"}) // deactivated
		_, err = direct(t, sm, tok, s.Reauthenticate)
		set(stamped{Basic: alice, stamp: "pw1"})
		if err == nil || who(tok) != "anonymous" {
			t.Errorf("user gone: %v, session %q", err, who(tok))
		}
	})
}

// renewalStore records, for each Delete, whether its context was that of
// a RenewToken call.
type renewalStore struct {
	*memstore.MemStore
	mu      sync.Mutex
	renewal []bool
}

func (s *renewalStore) DeleteCtx(ctx context.Context, token string) error {
	s.mu.Lock()
	s.renewal = append(s.renewal, Renewal(ctx))
	s.mu.Unlock()
	return s.MemStore.Delete(token)
}
func (s *renewalStore) FindCtx(_ context.Context, token string) ([]byte, bool, error) {
	return s.MemStore.Find(token)
}
func (s *renewalStore) CommitCtx(_ context.Context, token string, b []byte, expiry time.Time) error {
	return s.MemStore.Commit(token, b, expiry)
}

// TestRenewTokenTellsTheStore: a store sees the old token of Login's and
// Reauthenticate's renewal deleted under a context marked as a renewal
// (identity.Renewal), and Logout's delete unmarked.
func TestRenewTokenTellsTheStore(t *testing.T) {
	if Renewal(context.Background()) {
		t.Error("Renewal of a plain context")
	}
	store := &renewalStore{MemStore: memstore.NewWithCleanupInterval(0)}
	us := stampedUsers()
	h, _ := credSite(t, store, us)
	_, tok := do(t, h, "POST", "/login?user=alice", "")
	_, tok = do(t, h, "POST", "/login?user=alice", tok)
	_, tok = do(t, h, "POST", "/password?stamp=pw2", tok)
	do(t, h, "POST", "/everywhere", tok)
	want := []bool{true, true, false}
	store.mu.Lock()
	defer store.mu.Unlock()
	if !slices.Equal(store.renewal, want) {
		t.Errorf("deletes marked as renewals: %v, want %v", store.renewal, want)
	}
}

// TestReauthenticateRefusesAnotherUser: a Lookup that answers another
// user than the session's is refused, as Authenticate refuses it.
func TestReauthenticateRefusesAnotherUser(t *testing.T) {
	store := memstore.NewWithCleanupInterval(0)
	us := stampedUsers()
	h, _ := credSite(t, store, us)
	_, tok := do(t, h, "POST", "/login?user=alice", "")
	sm := scs.New()
	sm.Store = store
	s, _ := NewSessions(SessionsConfig{Sessions: sm, Lookup: func(ctx context.Context, id string) (User, error) {
		return us.lookup(ctx, "bob")
	}})
	if _, err := direct(t, sm, tok, s.Reauthenticate); err == nil {
		t.Error("Reauthenticate accepted another user")
	}
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("the session survived: %q", rec.Body.String())
	}
	if s.Manager() != sm {
		t.Error("Manager() is not the configured manager")
	}
	// The same Lookup behind the identity middleware: the session is
	// ended, not served as the other user.
	_, tok = do(t, h, "POST", "/login?user=alice", "")
	who, _ := New(Config{Authenticators: []Authenticator{s}})
	wrong := sm.LoadAndSave(who.Handler(whoami))
	if rec, _ := do(t, wrong, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("a Lookup answering another user: served as %q", rec.Body.String())
	}
	if rec, _ := do(t, h, "GET", "/", tok); rec.Body.String() != "anonymous" {
		t.Errorf("the session survived a Lookup answering another user: %q", rec.Body.String())
	}
}
