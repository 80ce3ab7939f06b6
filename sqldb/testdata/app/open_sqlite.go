//go:build !postgres

package main

import (
	"context"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

func open(ctx context.Context) (*sqldb.DB, error) { return sqlite.Open(ctx, "app.db") }
