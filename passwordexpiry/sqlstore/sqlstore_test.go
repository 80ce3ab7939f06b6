package sqlstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/passwordexpiry/internal/storetest"
	"github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		storetest.Run(t, func(t *testing.T) passwordexpiry.Store {
			// A fresh table per subtest: drop what the previous one left.
			s, err := sqlstore.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Writer().ExecContext(t.Context(), `DELETE FROM bulwark_password_expiry`); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// TestMigrateTwice: a second New (another instance starting) changes
// nothing and keeps the records.
func TestMigrateTwice(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s1, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := s1.Require(ctx, "alice", passwordexpiry.AdminReset, time.Now()); err != nil {
			t.Fatal(err)
		}
		s2, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		rec, found, err := s2.Get(ctx, "alice")
		if err != nil || !found || rec.Reason != passwordexpiry.AdminReset {
			t.Fatalf("after a second New: %+v, %v, %v", rec, found, err)
		}
		if v, err := db.SchemaVersion(ctx, sqlstore.Component); err != nil || v != 1 {
			t.Fatalf("schema version %d, %v; want 1", v, err)
		}
	})
}

// TestDatabaseDown: every call on a closed database is an error, never a
// panic nor a "no record" answer.
func TestDatabaseDown(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Require(ctx, "alice", passwordexpiry.Compromised, time.Now()); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, found, err := s.Get(ctx, "alice"); err == nil || found {
			t.Errorf("Get on a closed database: found %v, err %v; want an error", found, err)
		}
		if err := s.Require(ctx, "alice", passwordexpiry.Temporary, time.Now()); err == nil {
			t.Error("Require on a closed database: nil error")
		}
		if err := s.Changed(ctx, "alice", time.Now()); err == nil {
			t.Error("Changed on a closed database: nil error")
		}
		if err := s.Delete(ctx, "alice"); err == nil {
			t.Error("Delete on a closed database: nil error")
		}
	})
}

// TestNew: the constructor every SQL store has (see sqlstoretest.CheckNew).
func TestNew(t *testing.T) {
	sqlstoretest.CheckNew(t, sqlstore.Component, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		if err := s.Changed(t.Context(), "bob", time.Now()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGateOnSQL: the gate over the SQL store, then the database goes away:
// 503, never a pass.
func TestGateOnSQL(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		s, err := sqlstore.New(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		gate, err := passwordexpiry.New(passwordexpiry.Config{Store: s, Logger: seclog.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		h := gate.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) }))
		serve := func(id string) int {
			r := httptest.NewRequest("GET", "/account", nil)
			r = r.WithContext(identity.NewContext(r.Context(), identity.Basic{UserID: id, IsActive: true}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w.Code
		}
		if err := gate.Require(nil, "alice'); DROP TABLE bulwark_password_expiry; --", passwordexpiry.Compromised); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]int{"bob": 200, "alice'); DROP TABLE bulwark_password_expiry; --": 303, "alice": 200, "x\x00y": 503} {
			if got := serve(id); got != want {
				t.Errorf("%q: %d, want %d", id, got, want)
			}
		}
		r := httptest.NewRequest("POST", "/password/change", nil)
		if err := gate.Changed(r, "alice'); DROP TABLE bulwark_password_expiry; --"); err != nil {
			t.Fatal(err)
		}
		if got := serve("alice'); DROP TABLE bulwark_password_expiry; --"); got != 200 {
			t.Errorf("after Changed: %d", got)
		}
		db.Close()
		for _, id := range []string{"bob", "alice"} {
			if got := serve(id); got != 503 {
				t.Errorf("database closed, %q: %d, want 503", id, got)
			}
		}
	})
}
