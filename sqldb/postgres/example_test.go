package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/bulwark-go/bulwark/sqldb/postgres"
)

// One pool per instance, shared by every store of the suite. (Not run: it
// needs a server.)
func ExampleOpen() {
	ctx := context.Background()
	db, err := postgres.Open(ctx, os.Getenv("DATABASE_URL")) // "postgres://app@db.internal/app?sslmode=verify-full"
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	// Give db to each store: cspsql.New(ctx, db), totpsql.New(ctx, db) …
}
