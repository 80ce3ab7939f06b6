package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"testing/fstest"
	"time"

	"github.com/bulwark-go/bulwark/internal/sqlstore"
)

// A store declares its queries once, both dialects side by side.
var (
	insertReport = sqlstore.Portable(`INSERT INTO reports (directive, at) VALUES (?, ?)`)
	countSince   = sqlstore.Portable(`SELECT COUNT(*) FROM reports WHERE at >= ?`)
)

func Example() {
	ctx := context.Background()
	// In a real store: //go:embed migrations/*.sql, then fs.Sub(files, "migrations").
	migrations := fstest.MapFS{
		"0001_create_reports.sqlite.sql": {Data: []byte(
			`CREATE TABLE reports (id INTEGER PRIMARY KEY, directive TEXT NOT NULL, at TIMESTAMP NOT NULL);`)},
		"0001_create_reports.postgres.sql": {Data: []byte(
			`CREATE TABLE reports (id BIGSERIAL PRIMARY KEY, directive TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);`)},
	}

	// "sqlite:/var/lib/bulwark/bulwark.db" or "postgres://…" in production.
	db, err := sqlstore.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "cspreport", migrations); err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	err = db.WithTx(ctx, func(tx *sql.Tx) error {
		for _, d := range []string{"script-src", "img-src"} {
			if _, err := tx.ExecContext(ctx, db.Q(insertReport), d, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	var n int
	if err := db.Reader().QueryRowContext(ctx, db.Q(countSince), now.Add(-time.Hour)).Scan(&n); err != nil {
		log.Fatal(err)
	}
	v, _ := db.SchemaVersion(ctx, "cspreport")
	fmt.Printf("%s: schema version %d, %d reports in the last hour\n", db.Dialect(), v, n)
	// Output: sqlite: schema version 1, 2 reports in the last hour
}
