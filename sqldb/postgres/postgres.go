// Package postgres opens a PostgreSQL database as a [*sqldb.DB], with pgx.
// Importing it links pgx and no other driver: a program that stores on
// PostgreSQL alone carries no SQLite.
//
//	db, err := postgres.Open(ctx, "postgres://app@db.internal/app?sslmode=verify-full")
//	if err != nil { … }
//	defer db.Close()
//	store, err := cspsql.New(ctx, db) // and the suite's other stores, on the same pool
//
// Every instance of a fleet opens its own pool on the same database; the
// stores' writes are single statements or transactions that hold under
// concurrency, and migrations wait for each other (see sqldb.DB.Migrate).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Open opens a pool on the PostgreSQL database that url names and checks
// that it answers.
//
// url is "postgres://user:pass@host:5432/db?sslmode=verify-full" or
// "postgresql://…", as pgx parses it: the pgxpool parameters
// (pool_max_conns, pool_max_conn_lifetime …) size the pool; any other
// parameter, such as search_path, is sent to the server as a run-time
// setting. The DB's reader and writer are the same pool; closing the DB
// closes it.
func Open(ctx context.Context, url string) (*sqldb.DB, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if scheme = strings.ToLower(scheme); !ok || (scheme != "postgres" && scheme != "postgresql") || rest == "" {
		return nil, fmt.Errorf("sqldb/postgres: the database must be a URL, postgres://user@host:port/database")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqldb/postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqldb/postgres: pool: %w", err)
	}
	h := sql.OpenDB(poolConnector{stdlib.GetPoolConnector(pool), pool})
	// The pool keeps the idle connections, as stdlib.OpenDBFromPool
	// does: an idle connection held by database/sql is one the pool
	// cannot lend, and a statement waiting in the pool for it waits until
	// its context ends.
	h.SetMaxIdleConns(0)
	if err := h.PingContext(ctx); err != nil {
		h.Close()
		return nil, fmt.Errorf("sqldb/postgres: connect: %w", err)
	}
	return sqldb.New(sqldb.Postgres, h, nil)
}

// poolConnector is pgx's connector on a pool, which database/sql closes
// with the *sql.DB (io.Closer): closing the DB closes the pool.
type poolConnector struct {
	driver.Connector
	pool *pgxpool.Pool
}

// Close closes the pool.
func (c poolConnector) Close() error {
	c.pool.Close()
	return nil
}
