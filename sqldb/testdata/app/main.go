// Command app is an application that uses every SQL store of the suite on
// one database, opened with the driver it chose: sqldb/sqlite by default,
// sqldb/postgres when built with -tags postgres (see open_*.go).
// TestDriversChosenByTheUser checks that each build links its driver and
// not the other.
package main

import (
	"context"
	"log"

	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	totpsql "github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	pwsql "github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
	throttlesql "github.com/bulwark-go/bulwark/throttle/sqlstore"
)

func main() {
	ctx := context.Background()
	db, err := open(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := cspsql.New(ctx, db); err != nil {
		log.Fatal(err)
	}
	if _, err := totpsql.New(ctx, db); err != nil {
		log.Fatal(err)
	}
	if _, err := pwsql.New(ctx, db); err != nil {
		log.Fatal(err)
	}
	if _, err := throttlesql.New(ctx, db); err != nil {
		log.Fatal(err)
	}
}
