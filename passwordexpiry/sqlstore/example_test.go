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
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// Make a store on the database (the schema is created or brought up to date), flag a user,
// and read the record back.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bulwark-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// One database for the application and every store of the suite;
	// postgres.Open(ctx, "postgres://…") from sqldb/postgres works the same.
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bulwark.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}

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
