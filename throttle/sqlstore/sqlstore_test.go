package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/internal/storetest"
	"github.com/bulwark-go/bulwark/throttle/sqlstore"
)

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		storetest.Run(t, func(t *testing.T) throttle.Store {
			s, err := sqlstore.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Writer().ExecContext(t.Context(), `DELETE FROM bulwark_throttle`); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// TestSweep: Take deletes forgotten rows now and then (every 256th Take),
// and never a row that is not forgotten.
//
// Equivalent mutant: negating `s.takes.Add(1)%sweepEvery == 0` sweeps at
// every Take but the 256th. Forgotten rows read as zero attempts whether
// or not they are deleted (TestStore's Forget), so only the cost differs.
func TestSweep(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		short := throttle.Rule{Free: 5, Base: time.Second, Max: time.Second, Forget: time.Minute}
		long := throttle.Rule{Free: 1000, Base: time.Second, Max: time.Second, Forget: 24 * time.Hour}
		s.Take(ctx, t0, []throttle.Counter{{Key: "old", Rule: short}, {Key: "kept", Rule: long}})
		rows := func() int {
			var n int
			if err := db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM bulwark_throttle`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for i := range 255 {
			if _, err := s.Take(ctx, t0.Add(time.Hour), []throttle.Counter{{Key: fmt.Sprint("k", i%3), Rule: long}}); err != nil {
				t.Fatal(err)
			}
		}
		if n := rows(); n != 1+3 {
			t.Fatalf("%d rows after 256 Takes, want 4: the forgotten row is deleted, the others kept", n)
		}
	})
}

// TestNew: the constructor every SQL store has (see sqlstoretest.CheckNew).
func TestNew(t *testing.T) {
	sqlstoretest.CheckNew(t, sqlstore.Component, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
