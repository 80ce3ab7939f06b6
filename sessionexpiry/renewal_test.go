package sessionexpiry_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/sessionexpiry"
	"github.com/bulwark-go/bulwark/sqldb"
)

// passVerifier is a second factor whose right answer is the form value
// code=ok.
type passVerifier struct{}

func (passVerifier) Method() string { return "test" }
func (passVerifier) Begin(context.Context, string, string) (mfa.Prompt, error) {
	return mfa.Prompt{}, nil
}
func (passVerifier) Health(context.Context) error { return nil }
func (passVerifier) Complete(r *http.Request, _, _ string) error {
	if r.FormValue("code") != "ok" {
		return mfa.ErrInvalid
	}
	return nil
}

// renewSite is the suite on one session store: sessionexpiry, identity,
// and the three calls that renew the session token (identity's Login,
// mfa's Complete, passwordexpiry's Changed), each of which can be held
// mid-request on a channel.
type renewSite struct {
	h     http.Handler
	sm    *scs.SessionManager
	ev    events
	mu    sync.Mutex
	holds map[string]*hold // by the name of the point where a request stops
}

// A hold stops a request at one point of its handler until released.
type hold struct {
	entered chan struct{} // the request reached the point
	release chan struct{} // lets it go on
}

// arm makes the next request that reaches point stop there.
func (s *renewSite) arm(point string) *hold {
	h := &hold{entered: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.holds[point] = h
	s.mu.Unlock()
	return h
}

// stop stops the request at point when the point is armed (once).
func (s *renewSite) stop(point string) {
	s.mu.Lock()
	h := s.holds[point]
	delete(s.holds, point)
	s.mu.Unlock()
	if h != nil {
		close(h.entered)
		<-h.release
	}
}

func newRenewSite(t *testing.T, store scs.Store) *renewSite {
	t.Helper()
	log, ev := newLogger(t)
	sm := newManager()
	sm.Store = store
	mw, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Absolute: 8 * time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Logger: log,
		Lookup: func(_ context.Context, id string) (identity.User, error) {
			if id == alice.UserID {
				return alice, nil
			}
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	who, err := identity.New(identity.Config{Authenticators: []identity.Authenticator{ids}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	second, err := mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{passVerifier{}}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Identity: ids, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s := &renewSite{sm: sm, ev: ev, holds: map[string]*hold{}}
	hold := s.stop
	answer := func(w http.ResponseWriter, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.Write([]byte("ok"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		hold("login")
		err := ids.Login(r, alice)
		hold("login-after")
		answer(w, err)
	})
	// An application's own renewal, without identity.RenewToken, and its
	// own commit before the response.
	mux.HandleFunc("POST /renew-raw", func(w http.ResponseWriter, r *http.Request) {
		hold("renew-raw")
		answer(w, sm.RenewToken(r.Context()))
	})
	mux.HandleFunc("POST /login-commit", func(w http.ResponseWriter, r *http.Request) {
		hold("login-commit")
		err := ids.Login(r, alice)
		if err == nil {
			_, _, err = sm.Commit(r.Context())
		}
		answer(w, err)
	})
	mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
		_, err := second.Begin(w, r)
		answer(w, err)
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		hold("mfa")
		_, err := second.Complete(w, r)
		answer(w, err)
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		hold("password")
		answer(w, pw.Changed(r, alice.UserID))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		hold("logout")
		answer(w, ids.Logout(r))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if u := identity.FromRequest(r); u != nil {
			w.Write([]byte(u.ID()))
			return
		}
		w.Write([]byte("anonymous"))
	})
	s.h = sm.LoadAndSave(mw.Handler(who.Handler(mux)))
	return s
}

func (s *renewSite) do(method, target string, c *http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if method == "POST" {
		r = httptest.NewRequest(method, target+"?code=ok", nil)
	}
	if c != nil {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r)
	return rec
}

// renewalStores are the session stores the race runs on: scs's memstore,
// SQLite and Redis.
var renewalStores = map[string]func(t *testing.T) scs.Store{
	"memstore": func(*testing.T) scs.Store { return memstore.NewWithCleanupInterval(0) },
	"sqlite":   func(t *testing.T) scs.Store { return newSQLiteStore(t, sqlstoretest.SQLite(t)) },
	"redis": func(t *testing.T) scs.Store {
		addr, prefix := testenv.RedisPrefix(t, "sessionexpiry")
		return redisstore.NewWithPrefix(redisPool(t, addr), prefix)
	},
}

// TestLogoutDuringRenewalStaysLoggedOut races a logout against each call
// that renews the session token, deterministically: the renewing request
// has loaded the session and is held in its handler; the session is
// logged out by another request; then the renewing request goes on. The
// token it renews to must not be a logged-in session, and neither must
// the old one.
func TestLogoutDuringRenewalStaysLoggedOut(t *testing.T) {
	for storeName, open := range renewalStores {
		for _, call := range []struct{ name, method, path string }{
			{"login", "POST", "/login"},
			{"mfa", "POST", "/mfa"},
			{"password", "POST", "/password"},
		} {
			t.Run(storeName+"/"+call.name, func(t *testing.T) {
				s := newRenewSite(t, open(t))
				c := sessionCookie(s.do("POST", "/login", nil))
				if c == nil {
					t.Fatal("login: no cookie")
				}
				if call.name == "mfa" {
					if rec := s.do("GET", "/mfa", c); rec.Body.String() != "ok" {
						t.Fatalf("mfa begin: %d %q", rec.Code, rec.Body.String())
					}
				}
				h := s.arm(call.name)
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- s.do(call.method, call.path, c) }()
				<-h.entered
				if rec := s.do("POST", "/logout", c); rec.Body.String() != "ok" {
					t.Fatalf("logout: %d %q", rec.Code, rec.Body.String())
				}
				close(h.release)
				rec := <-done
				s.loggedOut(t, rec, c)
				if !contains(s.ev.take(), "sessionexpiry.renewal_blocked") {
					t.Error("no sessionexpiry.renewal_blocked event")
				}
			})
		}
	}
}

// loggedOut checks that neither the token a renewal answered rec with,
// which it must expire, nor the old one c is a logged-in session.
func (s *renewSite) loggedOut(t *testing.T, rec *httptest.ResponseRecorder, c *http.Cookie) {
	t.Helper()
	renewed := sessionCookie(rec)
	if renewed != nil && renewed.MaxAge >= 0 {
		t.Errorf("the renewal set a live cookie (answered %d %q)", rec.Code, rec.Body.String())
		if got := s.do("GET", "/whoami", renewed).Body.String(); got != "anonymous" {
			t.Errorf("renewed token after the logout: %q, want anonymous", got)
		}
	}
	if got := s.do("GET", "/whoami", c).Body.String(); got != "anonymous" {
		t.Errorf("old token after the logout: %q, want anonymous", got)
	}
}

// TestLogoutAfterRenewalStaysLoggedOut: the logout loaded the session
// before the renewal replaced its token, and ends it after: while the
// renewal is between its new token and its answer, or once it answered.
// The logout follows the renewal to its new token.
func TestLogoutAfterRenewalStaysLoggedOut(t *testing.T) {
	for storeName, open := range renewalStores {
		for _, order := range []string{"renewal answers last", "renewal answers first"} {
			t.Run(storeName+"/"+order, func(t *testing.T) {
				s := newRenewSite(t, open(t))
				c := sessionCookie(s.do("POST", "/login", nil))
				out := s.arm("logout")
				logout := make(chan *httptest.ResponseRecorder)
				go func() { logout <- s.do("POST", "/logout", c) }()
				<-out.entered // the logout has loaded the session
				in := s.arm("login-after")
				renewal := make(chan *httptest.ResponseRecorder)
				go func() { renewal <- s.do("POST", "/login", c) }()
				<-in.entered // the renewal has its new token, not yet saved
				if order == "renewal answers last" {
					close(out.release)
					<-logout
					close(in.release)
					s.loggedOut(t, <-renewal, c)
				} else {
					close(in.release)
					rec := <-renewal
					close(out.release)
					<-logout
					// The cookie the renewal set went out before the
					// logout; the logout ended its session all the same.
					if got := s.do("GET", "/whoami", sessionCookie(rec)).Body.String(); got != "anonymous" {
						t.Errorf("renewed token after the logout: %q, want anonymous", got)
					}
				}
				if !contains(s.ev.take(), "sessionexpiry.renewal_blocked") {
					t.Error("no sessionexpiry.renewal_blocked event")
				}
			})
		}
	}
}

// TestRenewalsWithoutLogoutStand: two renewals of one session racing (a
// login form sent twice) both stand; a renewal the application makes
// with scs directly, or followed by its own commit, works as before.
func TestRenewalsWithoutLogoutStand(t *testing.T) {
	for storeName, open := range renewalStores {
		t.Run(storeName, func(t *testing.T) {
			s := newRenewSite(t, open(t))
			c := sessionCookie(s.do("POST", "/login", nil))
			h := s.arm("login")
			first := make(chan *httptest.ResponseRecorder)
			go func() { first <- s.do("POST", "/login", c) }()
			<-h.entered
			second := s.do("POST", "/login", c)
			close(h.release)
			for i, rec := range []*httptest.ResponseRecorder{<-first, second} {
				ck := sessionCookie(rec)
				if ck == nil || ck.MaxAge < 0 {
					t.Fatalf("renewal %d: no live cookie (%d %q)", i, rec.Code, rec.Body.String())
				}
				if got := s.do("GET", "/whoami", ck).Body.String(); got != "alice" {
					t.Errorf("renewal %d: %q, want alice", i, got)
				}
			}
			ck := sessionCookie(second)
			for _, path := range []string{"/renew-raw", "/login-commit"} {
				ck = sessionCookie(s.do("POST", path, ck))
				if got := s.do("GET", "/whoami", ck).Body.String(); got != "alice" {
					t.Errorf("%s: %q, want alice", path, got)
				}
			}
			if ev := s.ev.take(); contains(ev, "sessionexpiry.renewal_blocked") {
				t.Errorf("renewal_blocked without a logout: %v", ev)
			}
		})
	}
}

// TestLogoutDuringOwnCommitStaysLoggedOut: an application that commits
// the renewed session itself, before LoadAndSave, is held to the same
// rule.
func TestLogoutDuringOwnCommitStaysLoggedOut(t *testing.T) {
	for storeName, open := range renewalStores {
		for _, path := range []string{"/login-commit", "/renew-raw"} {
			t.Run(storeName+path, func(t *testing.T) {
				s := newRenewSite(t, open(t))
				c := sessionCookie(s.do("POST", "/login", nil))
				h := s.arm(path[1:])
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- s.do("POST", path, c) }()
				<-h.entered
				s.do("POST", "/logout", c)
				close(h.release)
				s.loggedOut(t, <-done, c)
			})
		}
	}
}

// sqliteStore is an scs.CtxStore on SQLite, as the demo keeps its
// sessions.
type sqliteStore struct{ db *sqldb.DB }

func newSQLiteStore(t *testing.T, db *sqldb.DB) *sqliteStore {
	if _, err := db.Writer().Exec(`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &sqliteStore{db}
}

func (s *sqliteStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.Reader().QueryRowContext(ctx, `SELECT data FROM sessions WHERE token = ? AND expiry > ?`, token, time.Now().UnixNano()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s *sqliteStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`, token, b, expiry.UnixNano())
	return err
}

func (s *sqliteStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.db.Writer().ExecContext(ctx, `DELETE FROM sessions WHERE token = ?`, token)
	return err
}

func (s *sqliteStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}
func (s *sqliteStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}
func (s *sqliteStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
