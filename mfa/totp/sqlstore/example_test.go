package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	ptotp "github.com/pquerna/otp/totp"

	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// post is the challenge form as the browser sends it.
func post(code string) *http.Request {
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(url.Values{"code": {code}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// The TOTP verifier on an SQLite file. Open creates the tables (component
// "mfa_totp"); the same code works on PostgreSQL with a "postgres://…" DSN.
// The replay guard is in the database, so it holds across a restart and
// across instances.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "bulwark-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bulwark.db") // "/var/lib/app/bulwark.db" in production
	// open opens the database (postgres.Open from sqldb/postgres works the
	// same) and the store on it.
	open := func() (*sqldb.DB, *sqlstore.Store) {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			log.Fatal(err)
		}
		store, err := sqlstore.New(ctx, db)
		if err != nil {
			log.Fatal(err)
		}
		return db, store
	}

	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	newVerifier := func(store totp.Store) *totp.Verifier {
		v, err := totp.New(totp.Config{Store: store, Issuer: "Example Corp",
			Logger: seclog.Discard(), Now: func() time.Time { return now }})
		if err != nil {
			log.Fatal(err)
		}
		return v
	}

	db, store := open()
	v := newVerifier(store)
	key, err := v.Enroll(ctx, "alice", "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	first, _ := ptotp.GenerateCode(key.Secret(), now) // what alice's app shows
	fmt.Println("confirm:", v.Confirm(nil, "alice", first))
	now = now.Add(30 * time.Second)
	code, _ := ptotp.GenerateCode(key.Secret(), now)
	fmt.Println("complete:", v.Complete(post(code), "alice", ""))
	fmt.Println("health:", v.Health(ctx)) // the store's Ping
	db.Close()

	// The process restarts: the record and the last accepted step are
	// still there.
	db, store = open()
	defer db.Close()
	v = newVerifier(store)
	rec, found, _ := store.Get(ctx, "alice")
	fmt.Println("found:", found, "confirmed:", rec.Confirmed, "last step:", rec.LastStep == now.Unix()/30)
	err = v.Complete(post(code), "alice", "")
	fmt.Println("same code after the restart:", errors.Is(err, mfa.ErrReplay))
	// Output:
	// confirm: <nil>
	// complete: <nil>
	// health: <nil>
	// found: true confirmed: true last step: true
	// same code after the restart: true
}
