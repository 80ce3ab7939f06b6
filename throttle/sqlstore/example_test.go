package sqlstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/sqldb/sqlite"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/sqlstore"
)

// Every instance of a site counts on one PostgreSQL database
// (postgres.Open(ctx, "postgres://…") from sqldb/postgres); here an
// in-memory SQLite database.
func Example() {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db)
	if err != nil {
		panic(err)
	}
	th, err := throttle.New(throttle.Config{Store: store})
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest("POST", "/login", nil)
	for range 6 {
		a, err := th.Check(r, "alice")
		if err != nil {
			panic(err)
		}
		fmt.Println(a.Allowed)
	}
	// Output:
	// true
	// true
	// true
	// true
	// true
	// false
}
