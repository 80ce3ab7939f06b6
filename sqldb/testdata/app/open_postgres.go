//go:build postgres

package main

import (
	"context"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/postgres"
)

func open(ctx context.Context) (*sqldb.DB, error) {
	return postgres.Open(ctx, "postgres://app@localhost/app")
}
