package sqlstore_test

import (
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/mfa/totp/internal/storetest"
	"github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		storetest.Run(t, func(t *testing.T) totp.Store {
			s, err := sqlstore.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh table per subtest: drop what the previous one left.
			for _, q := range []string{`DELETE FROM bulwark_mfa_recovery`, `DELETE FROM bulwark_mfa_totp`} {
				if _, err := db.Writer().ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
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
		if err := s1.Enroll(ctx, "alice", "SECRET", time.Now()); err != nil {
			t.Fatal(err)
		}
		s2, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if rec, found, err := s2.Get(ctx, "alice"); err != nil || !found || rec.Secret != "SECRET" {
			t.Fatalf("after a second New: %+v, %v, %v", rec, found, err)
		}
		if v, err := db.SchemaVersion(ctx, sqlstore.Component); err != nil || v != 1 {
			t.Fatalf("schema version %d, %v; want 1", v, err)
		}
	})
}

// TestDatabaseDown: every call on a closed database is an error, never a
// panic nor an answer; Ping says so too.
func TestDatabaseDown(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Enroll(ctx, "alice", "SECRET", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		db.Close()
		now := time.Now()
		errs := map[string]error{
			"Ping":    s.Ping(ctx),
			"Get":     func() error { _, _, err := s.Get(ctx, "alice"); return err }(),
			"Enroll":  s.Enroll(ctx, "alice", "X", now),
			"Confirm": func() error { _, err := s.Confirm(ctx, "alice", "SECRET", 1); return err }(),
			"Attempt": func() error {
				_, err := s.Attempt(ctx, "alice", now, totp.Limit{Max: 5, Window: time.Minute})
				return err
			}(),
			"Accept":           func() error { _, err := s.Accept(ctx, "alice", 1); return err }(),
			"SetRecoveryCodes": s.SetRecoveryCodes(ctx, "alice", []string{"h"}),
			"UseRecoveryCode":  func() error { _, err := s.UseRecoveryCode(ctx, "alice", "h"); return err }(),
			"Delete":           s.Delete(ctx, "alice"),
		}
		for name, err := range errs {
			if err == nil {
				t.Errorf("%s on a closed database: nil error", name)
			}
		}
	})
}

// TestNew: the constructor every SQL store has (see sqlstoretest.CheckNew).
func TestNew(t *testing.T) {
	sqlstoretest.CheckNew(t, sqlstore.Component, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		if err := s.Enroll(t.Context(), "bob", "SECRET", time.Now()); err != nil {
			t.Fatal(err)
		}
	})
}
