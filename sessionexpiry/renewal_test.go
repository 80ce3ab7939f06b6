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
	"github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// passVerifier is a second factor whose right answer is the form value
// code=ok.
type passVerifier struct{}

func (passVerifier) Method() string                                        { return "test" }
func (passVerifier) Begin(context.Context, string, string) (string, error) { return "", nil }
func (passVerifier) Health(context.Context) error                          { return nil }
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
	h       http.Handler
	entered chan string   // a held request reached its handler
	release chan struct{} // lets it go on
	held    map[string]bool
	mu      sync.Mutex
}

func newRenewSite(t *testing.T, store scs.Store) *renewSite {
	t.Helper()
	log, _ := newLogger(t)
	sm := newManager()
	sm.Store = store
	mw, err := sessionexpiry.New(sessionexpiry.Config{Manager: sm, Absolute: 8 * time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := identity.NewSessions(identity.SessionsConfig{Manager: sm, Logger: log,
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
	second, err := mfa.New(mfa.Config{Sessions: sm, Verifier: passVerifier{}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pw, err := passwordexpiry.New(passwordexpiry.Config{Store: passwordexpiry.NewMemoryStore(), Identity: ids, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s := &renewSite{entered: make(chan string, 1), release: make(chan struct{}), held: map[string]bool{}}
	hold := func(name string) {
		s.mu.Lock()
		held := s.held[name]
		s.mu.Unlock()
		if held {
			s.entered <- name
			<-s.release
		}
	}
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
		answer(w, ids.Login(r, alice))
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
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) { answer(w, ids.Logout(r)) })
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
		addr := testenv.Redis(t)
		prefix := uniquePrefix(t)
		t.Cleanup(func() { deleteKeys(addr, prefix) })
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
				s.mu.Lock()
				s.held[call.name] = true
				s.mu.Unlock()
				done := make(chan *httptest.ResponseRecorder)
				go func() { done <- s.do(call.method, call.path, c) }()
				<-s.entered
				if rec := s.do("POST", "/logout", c); rec.Body.String() != "ok" {
					t.Fatalf("logout: %d %q", rec.Code, rec.Body.String())
				}
				close(s.release)
				rec := <-done
				for what, ck := range map[string]*http.Cookie{"renewed": sessionCookie(rec), "old": c} {
					if ck == nil || ck.MaxAge < 0 {
						continue
					}
					if got := s.do("GET", "/whoami", ck).Body.String(); got != "anonymous" {
						t.Errorf("%s token after the logout: %q, want anonymous (renewal answered %d %q)", what, got, rec.Code, rec.Body.String())
					}
				}
			})
		}
	}
}

// sqliteStore is an scs.CtxStore on SQLite, as the demo keeps its
// sessions.
type sqliteStore struct{ db *sqlstore.DB }

func newSQLiteStore(t *testing.T, db *sqlstore.DB) *sqliteStore {
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
