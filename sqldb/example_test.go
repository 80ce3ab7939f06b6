package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing/fstest"
	"time"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// A store declares its queries once, both dialects side by side.
var (
	insertReport = sqldb.Portable(`INSERT INTO reports (directive, at) VALUES (?, ?)`)
	countSince   = sqldb.Portable(`SELECT COUNT(*) FROM reports WHERE at >= ?`)
)

// reportMigrations is what a store embeds: //go:embed migrations/*.sql, then
// fs.Sub(files, "migrations").
var reportMigrations = fstest.MapFS{
	"0001_create_reports.sqlite.sql": {Data: []byte(
		`CREATE TABLE reports (id INTEGER PRIMARY KEY, directive TEXT NOT NULL, at TIMESTAMP NOT NULL);`)},
	"0001_create_reports.postgres.sql": {Data: []byte(
		`CREATE TABLE reports (id BIGSERIAL PRIMARY KEY, directive TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);`)},
}

func Example() {
	ctx := context.Background()
	// sqlite.Open(ctx, "/var/lib/app/bulwark.db"), or postgres.Open(ctx,
	// "postgres://…") from sqldb/postgres, in production. Every store of
	// the suite takes this one db: cspsql.New(ctx, db), totpsql.New(ctx, db) …
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx, "reports", reportMigrations); err != nil {
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
	v, _ := db.SchemaVersion(ctx, "reports")
	fmt.Printf("%s: schema version %d, %d reports in the last hour\n", db.Dialect(), v, n)
	// Output: sqlite: schema version 1, 2 reports in the last hour
}

// New wraps handles opened with the driver and settings of your choice.
// On SQLite the writer must hold one connection.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqldb-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.db")
	// The "sqlite" driver is modernc.org/sqlite, registered here by the
	// import of sqldb/sqlite; any database/sql driver will do.
	writer, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		log.Fatal(err)
	}
	writer.SetMaxOpenConns(1)
	reader, err := sql.Open("sqlite", path+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	db, err := sqldb.New(sqldb.SQLite, writer, reader)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close() // closes writer and reader
	if err := db.Migrate(ctx, "reports", reportMigrations); err != nil {
		log.Fatal(err)
	}
	_, err = db.Reader().ExecContext(ctx, db.Q(insertReport), "img-src", time.Now())
	fmt.Println("write through the reader refused:", err != nil)
	// Output: write through the reader refused: true
}
