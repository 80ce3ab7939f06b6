package sqlstore_test

import (
	"testing"

	isql "github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/internal/storetest"
	"github.com/bulwark-go/bulwark/throttle/sqlstore"
)

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *isql.DB) {
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
