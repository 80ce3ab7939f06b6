package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/mfa/passkey/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// The passkey store on an SQLite file: New creates the tables (component
// "mfa_passkey"); the same code works on PostgreSQL (sqldb/postgres.Open
// with a "postgres://…" DSN). A login's write-back is conditional: the
// second use of one assertion (the same challenge) changes nothing.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bulwark-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bulwark.db")) // "/var/lib/app/bulwark.db" in production
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	// passkey.New(passkey.Config{Store: store, …}) does what follows in
	// its ceremonies.
	handle, _ := store.CreateHandle(ctx, "alice", bytes.Repeat([]byte{7}, passkey.HandleLen))
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	id := []byte("credential-1")
	err = store.Add(ctx, passkey.Credential{ID: id, UserID: "alice", PublicKey: []byte{0xa5}, AttestationType: "none",
		Transports: []string{"internal"}, SignCount: 1, UserVerified: true, Name: "laptop", CreatedAt: now})
	fmt.Println("added:", err, len(handle))

	use := passkey.Use{Challenge: []byte("challenge of one login"), SignCount: 2, UserVerified: true, At: now}
	first, _ := store.Use(ctx, id, 1, use)
	again, _ := store.Use(ctx, id, 2, use)
	c, _, _ := store.Get(ctx, id)
	fmt.Println("first use:", first, "same assertion again:", again, "sign count:", c.SignCount)
	// Output:
	// added: <nil> 64
	// first use: true same assertion again: false sign count: 2
}
