package sqlstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/throttle"
	"github.com/bulwark-go/bulwark/throttle/sqlstore"
)

// Every instance of a site counts on one PostgreSQL database
// ("postgres://…"); here an in-memory SQLite database.
func Example() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		panic(err)
	}
	defer store.Close()
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
