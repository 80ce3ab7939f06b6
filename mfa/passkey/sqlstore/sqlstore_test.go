package sqlstore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/mfa/passkey/internal/storetest"
	"github.com/bulwark-go/bulwark/mfa/passkey/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb"
)

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		storetest.Run(t, func(t *testing.T) passkey.Store {
			s, err := sqlstore.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			// A fresh table per subtest: drop what the previous one left.
			for _, q := range []string{`DELETE FROM bulwark_passkey_credential`, `DELETE FROM bulwark_passkey_user`} {
				if _, err := db.Writer().ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			return s
		})
	})
}

// TestNew: the constructor every SQL store has (see sqlstoretest.CheckNew).
func TestNew(t *testing.T) {
	sqlstoretest.CheckNew(t, sqlstore.Component, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		if _, err := s.CreateHandle(t.Context(), "bob", bytes.Repeat([]byte{7}, passkey.HandleLen)); err != nil {
			t.Fatal(err)
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
		h := bytes.Repeat([]byte{1}, passkey.HandleLen)
		if _, err := s.CreateHandle(ctx, "alice", h); err != nil {
			t.Fatal(err)
		}
		db.Close()
		id := []byte{1}
		errs := map[string]error{
			"Ping":         s.Ping(ctx),
			"Handle":       func() error { _, _, err := s.Handle(ctx, "alice"); return err }(),
			"CreateHandle": func() error { _, err := s.CreateHandle(ctx, "bob", h); return err }(),
			"UserByHandle": func() error { _, _, err := s.UserByHandle(ctx, h); return err }(),
			"Add":          s.Add(ctx, passkey.Credential{ID: id, UserID: "alice", PublicKey: id, CreatedAt: time.Now()}),
			"Get":          func() error { _, _, err := s.Get(ctx, id); return err }(),
			"List":         func() error { _, err := s.List(ctx, "alice"); return err }(),
			"Use":          func() error { _, err := s.Use(ctx, id, 0, passkey.Use{Challenge: id, At: time.Now()}); return err }(),
			"FlagClone":    s.FlagClone(ctx, id),
			"Delete":       func() error { _, err := s.Delete(ctx, "alice", id); return err }(),
		}
		for name, err := range errs {
			if err == nil {
				t.Errorf("%s on a closed database: nil error", name)
			}
		}
	})
}
