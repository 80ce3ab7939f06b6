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
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Defaults of the timeouts Open sets when the URL does not.
const (
	// DefaultConnectTimeout bounds each new connection, its TLS and
	// start-up included (URL parameter connect_timeout, in seconds): a
	// program started against a paused or unreachable server fails in
	// Open within it, with an error, instead of hanging; later, a
	// statement that needs a new connection waits at most this long for
	// it.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultStatementTimeout is the server's statement_timeout for every
	// connection (URL parameter statement_timeout, as PostgreSQL writes
	// it: "30s", "500ms", "2min", or milliseconds; 0 turns it off): a
	// statement stuck behind a lock or a runaway query is cancelled by
	// the server rather than holding a connection. A paused server
	// cancels nothing: the callers' contexts bound that case.
	DefaultStatementTimeout = "30s"
	// DefaultIdleInTransactionTimeout is the server's
	// idle_in_transaction_session_timeout (URL parameter of that name):
	// the session of a client that vanished in the middle of a
	// transaction (a partition, a paused or killed process) is ended, and
	// its row locks released, within it, instead of blocking the other
	// clients until TCP notices, which can take hours.
	DefaultIdleInTransactionTimeout = "30s"
)

// pgInterval is a statement_timeout PostgreSQL accepts: a whole number,
// with or without a unit.
var pgInterval = regexp.MustCompile(`^[0-9]+ ?(us|ms|s|min|h|d)?$`)

// Open opens a pool on the PostgreSQL database that url names and checks
// that it answers.
//
// url is "postgres://user:pass@host:5432/db?sslmode=verify-full" or
// "postgresql://…", as pgx parses it: the pgxpool parameters
// (pool_max_conns, pool_max_conn_lifetime …) size the pool; any other
// parameter, such as search_path, is sent to the server as a run-time
// setting. The DB's reader and writer are the same pool; closing the DB
// closes it.
//
// Three timeouts are always set: connect_timeout (seconds; default
// DefaultConnectTimeout), statement_timeout (default
// DefaultStatementTimeout) and idle_in_transaction_session_timeout
// (default DefaultIdleInTransactionTimeout); write them in the URL to
// change them, for example "?connect_timeout=2&statement_timeout=10s". A
// malformed value is an error that names the parameter.
func Open(ctx context.Context, url string) (*sqldb.DB, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	if scheme = strings.ToLower(scheme); !ok || (scheme != "postgres" && scheme != "postgresql") || rest == "" {
		return nil, fmt.Errorf("sqldb/postgres: the database must be a URL, postgres://user@host:port/database")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqldb/postgres: %w", err)
	}
	if err := setTimeouts(cfg, url); err != nil {
		return nil, err
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

// setTimeouts gives cfg the default timeouts the URL does not set, and
// checks the server's (pgx checks connect_timeout).
func setTimeouts(cfg *pgxpool.Config, dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("sqldb/postgres: %w", err)
	}
	q := u.Query()
	if !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	rp := cfg.ConnConfig.RuntimeParams
	for name, def := range map[string]string{
		"statement_timeout":                   DefaultStatementTimeout,
		"idle_in_transaction_session_timeout": DefaultIdleInTransactionTimeout,
	} {
		v, set := rp[name]
		if !set {
			rp[name] = def
		} else if !pgInterval.MatchString(v) {
			return fmt.Errorf("sqldb/postgres: %s %q: write a duration PostgreSQL reads, such as 30s, 500ms or 2min (milliseconds without a unit; 0 turns it off)", name, v)
		}
	}
	return nil
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
