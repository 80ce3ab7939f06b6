package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// Make a store on an SQLite file (the schema is created or brought up to
// date), receive a report through it, and read the group back.
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
	defer store.Close() // runs before db.Close: it folds what the journal holds
	rcv, err := cspreport.New(cspreport.Config{Store: store, Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}

	r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(
		`{"csp-report":{"document-uri":"https://example.com/","effective-directive":"img-src","disposition":"report","blocked-uri":"http://tracker.example/p.gif?uid=1"}}`))
	r.Header.Set("Content-Type", "application/csp-report")
	w := httptest.NewRecorder()
	rcv.ServeHTTP(w, r)
	fmt.Println(w.Code) // committed
	rcv.Close(ctx)

	gs, err := store.Groups(ctx, cspreport.GroupQuery{})
	fmt.Println(len(gs), gs[0].Directive, gs[0].Disposition, gs[0].ExampleBlocked, err)
	// Output:
	// 204
	// 1 img-src report http://tracker.example/p.gif <nil>
}
