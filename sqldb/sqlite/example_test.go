package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// One database file for the application and every store of the suite.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlite-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqlite.Open(ctx, filepath.Join(dir, "bulwark.db")) // "/var/lib/app/bulwark.db"
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// Give db to each store: cspsql.New(ctx, db), totpsql.New(ctx, db) …

	var mode string
	if err := db.Reader().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		log.Fatal(err)
	}
	_, err = db.Reader().ExecContext(ctx, "CREATE TABLE t (x INTEGER)")
	fmt.Println(db.Dialect(), mode, "reader refuses writes:", err != nil)
	// Output: sqlite wal reader refuses writes: true
}
