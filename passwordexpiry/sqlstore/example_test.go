package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
)

// Open a store (the schema is created or brought up to date), flag a user,
// and read the record back.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bulwark-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// "postgres://…" works the same.
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "bulwark.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	if err := store.Require(ctx, "alice", passwordexpiry.AdminReset, time.Now()); err != nil {
		log.Fatal(err)
	}
	rec, found, err := store.Get(ctx, "alice")
	fmt.Println(found, rec.Reason, err)
	_, found, _ = store.Get(ctx, "bob")
	fmt.Println("bob has a record:", found)
	// Output:
	// true admin_reset <nil>
	// bob has a record: false
}
