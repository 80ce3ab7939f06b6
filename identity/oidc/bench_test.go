package oidc_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// sqliteSessions is an scs store on SQLite that can list its sessions,
// as scs's sqlite3store (the same table and queries), for the benchmark.
type sqliteSessions struct{ db *sqldb.DB }

func newSQLiteSessions(b *testing.B) sqliteSessions {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "sessions.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Writer().Exec(`CREATE TABLE sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL);
CREATE INDEX sessions_expiry_idx ON sessions(expiry)`); err != nil {
		b.Fatal(err)
	}
	return sqliteSessions{db}
}

func (s sqliteSessions) Find(token string) ([]byte, bool, error) {
	var data []byte
	err := s.db.Reader().QueryRow(`SELECT data FROM sessions WHERE token = ? AND julianday('now') < expiry`, token).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (s sqliteSessions) Commit(token string, b []byte, expiry time.Time) error {
	_, err := s.db.Writer().Exec(`REPLACE INTO sessions (token, data, expiry) VALUES (?, ?, julianday(?))`, token, b, expiry.UTC().Format("2006-01-02T15:04:05.999"))
	return err
}

func (s sqliteSessions) Delete(token string) error {
	_, err := s.db.Writer().Exec(`DELETE FROM sessions WHERE token = ?`, token)
	return err
}

func (s sqliteSessions) All() (map[string][]byte, error) {
	rows, err := s.db.Reader().Query(`SELECT token, data FROM sessions WHERE julianday('now') < expiry`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	all := map[string][]byte{}
	for rows.Next() {
		var token string
		var data []byte
		if err := rows.Scan(&token, &data); err != nil {
			return nil, err
		}
		all[token] = data
	}
	return all, rows.Err()
}

// BenchmarkBackChannelLogout measures one back-channel logout by sid with
// the default, which reads every live session of the store: 10,000
// sessions logged in through the provider (each with its ID token, as a
// login keeps it), the token naming one of them. The session is put back
// between iterations, off the clock.
func BenchmarkBackChannelLogout(b *testing.B) {
	const sessions = 10000
	for _, tc := range []struct {
		name  string
		store func(*testing.B) scs.Store
	}{
		{"memstore", func(*testing.B) scs.Store { return memstore.NewWithCleanupInterval(0) }},
		{"sqlite", func(b *testing.B) scs.Store { return newSQLiteSessions(b) }},
	} {
		b.Run(fmt.Sprintf("%s/%d", tc.name, sessions), func(b *testing.B) {
			op := oidctest.Start(b, "http://127.0.0.1:1/callback")
			sm := scs.New()
			sm.Store = tc.store(b)
			ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: sm, Logger: seclog.Discard(), Lookup: func(context.Context, string) (identity.User, error) { return nil, nil }})
			if err != nil {
				b.Fatal(err)
			}
			login, err := oidc.New(context.Background(), oidc.Config{
				Issuer: op.Issuer, ClientID: op.ClientID, ClientSecret: op.ClientSecret, RedirectURL: "http://127.0.0.1:1/callback",
				Identity: ids, Logger: seclog.Discard(),
				Claims: func(context.Context, *oidc.Claims) (identity.User, error) { return nil, nil },
			})
			if err != nil {
				b.Fatal(err)
			}
			idToken := strings.Repeat("x", 900)
			put := func(i int) {
				at := time.Now().UnixNano()
				ps, _ := json.Marshal(map[string]any{"i": op.Issuer, "s": fmt.Sprintf("user-%05d", i), "d": fmt.Sprint("sid-", i), "l": at})
				data, err := sm.Codec.Encode(time.Now().Add(time.Hour), map[string]any{
					identity.SessionUserKey: fmt.Sprintf("%s|user-%05d", op.Issuer, i), identity.SessionLoginKey: at,
					identity.SessionMethodsKey: identity.MethodFederated, "bulwark.oidc.id_token": idToken,
					"bulwark.oidc.provider_session": string(ps),
				})
				if err != nil {
					b.Fatal(err)
				}
				if err := sm.Store.Commit(fmt.Sprint("token-", i), data, time.Now().Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			for i := range sessions {
				put(i)
			}
			claims := func() map[string]any {
				return map[string]any{
					"iss": op.Issuer, "aud": op.ClientID, "sub": "user-00007", "sid": "sid-7",
					"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
					"jti": rand.Text(), "events": map[string]any{logoutEvent: map[string]any{}},
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				form := url.Values{"logout_token": {op.Sign(b, claims())}}.Encode()
				b.StartTimer()
				r := httptest.NewRequest("POST", "/backchannel", strings.NewReader(form))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				login.BackChannel(w, r)
				b.StopTimer()
				if w.Code != http.StatusOK {
					b.Fatalf("BackChannel: %d %s", w.Code, w.Body)
				}
				if _, found, _ := sm.Store.Find("token-7"); found {
					b.Fatal("the session named was not ended")
				}
				put(7)
				b.StartTimer()
			}
		})
	}
}
