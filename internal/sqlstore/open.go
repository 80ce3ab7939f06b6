package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// acceptedDSNs is what every DSN error lists.
const acceptedDSNs = `use "postgres://…" or "postgresql://…" for PostgreSQL, ` +
	`or "sqlite:PATH", "file:PATH?…" (an SQLite URI), a plain file path, or ":memory:" for SQLite`

// BusyTimeoutMillis is how long an SQLite connection waits for a lock held
// by another process before it fails with SQLITE_BUSY, unless the DSN says
// otherwise.
const BusyTimeoutMillis = 5000

// Open opens the database that dsn names and checks that it answers.
//
// PostgreSQL: "postgres://user:pass@host:5432/db?sslmode=verify-full" or
// "postgresql://…", as pgx parses it (pool_max_conns and the other pgxpool
// parameters included; any other parameter, such as search_path, is sent to
// the server as a run-time setting).
//
// SQLite: "sqlite:PATH" (also "sqlite:///abs/path"), "file:PATH?…" (an SQLite
// URI: https://www.sqlite.org/uri.html), or a plain file path. The file is
// created if missing; its directory is not. Unless the DSN sets them itself
// (modernc.org/sqlite parameters such as _busy_timeout, _journal_mode or
// _pragma=synchronous(FULL)), connections use WAL, busy_timeout 5s,
// foreign_keys on and synchronous NORMAL, and write times as UTC text (see the
// package documentation). Write transactions always begin IMMEDIATE.
// ":memory:" (or a file: URI with mode=memory) opens a private in-memory
// database on one connection, shared by [DB.Reader] and [DB.Writer]: for
// tests and examples, gone when the DB is closed. With one connection, close
// a *sql.Rows before the next statement, or that statement waits forever.
func Open(ctx context.Context, dsn string) (*DB, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if t.dialect == Postgres {
		return openPostgres(ctx, t.url)
	}
	return openSQLite(ctx, t)
}

// target is a parsed DSN.
type target struct {
	dialect Dialect
	url     string     // Postgres: the DSN as given
	name    string     // SQLite: file path or file: URI, without its query
	query   url.Values // SQLite: the DSN's query parameters
	memory  bool       // SQLite: an in-memory database
}

// schemeRE matches a URL scheme: letters first, at least two characters, so
// that a Windows drive letter ("C:\data\bulwark.db") is a path, not a scheme.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

func parseDSN(dsn string) (target, error) {
	if strings.TrimSpace(dsn) == "" {
		return target{}, fmt.Errorf("sqlstore: empty DSN: %s", acceptedDSNs)
	}
	rest := dsn
	if m := schemeRE.FindStringSubmatch(dsn); m != nil {
		switch scheme := strings.ToLower(m[1]); scheme {
		case "postgres", "postgresql":
			if !strings.HasPrefix(dsn[len(m[0]):], "//") {
				return target{}, fmt.Errorf("sqlstore: %s DSN must be a URL, %s://user@host:port/database", scheme, scheme)
			}
			return target{dialect: Postgres, url: dsn}, nil
		case "sqlite":
			rest = dsn[len(m[0]):]
			// sqlite:///abs/path and sqlite://rel/path, as other tools write them.
			rest = strings.TrimPrefix(rest, "//")
		case "file":
			// An SQLite URI: kept whole, SQLite reads it.
		default:
			return target{}, fmt.Errorf("sqlstore: unsupported database scheme %q: %s", m[1], acceptedDSNs)
		}
	}
	name, rawQuery, _ := strings.Cut(rest, "?")
	if name == "" || name == "file:" {
		return target{}, fmt.Errorf("sqlstore: SQLite DSN %q names no file: %s", dsn, acceptedDSNs)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return target{}, fmt.Errorf("sqlstore: SQLite DSN %q: bad query parameters: %w", dsn, err)
	}
	mem := name == ":memory:" ||
		(strings.HasPrefix(name, "file:") && (strings.TrimPrefix(name, "file:") == ":memory:" || q.Get("mode") == "memory"))
	return target{dialect: SQLite, name: name, query: q, memory: mem}, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: PostgreSQL DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: PostgreSQL pool: %w", err)
	}
	sdb := stdlib.OpenDBFromPool(pool)
	db := &DB{dialect: Postgres, reader: sdb, writer: sdb, pool: pool}
	if err := sdb.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL: %w", err)
	}
	return db, nil
}

// sqliteDefaults are the settings a DSN gets unless it sets them: a
// modernc.org/sqlite shorthand key (the first is added), its alias, and the
// PRAGMA name that a _pragma parameter would set.
var sqliteDefaults = []struct {
	key, alias, pragma, value string
}{
	{"_busy_timeout", "_timeout", "busy_timeout", fmt.Sprint(BusyTimeoutMillis)},
	{"_foreign_keys", "_fk", "foreign_keys", "1"},
	{"_journal_mode", "_journal", "journal_mode", "WAL"},
	{"_synchronous", "_sync", "synchronous", "NORMAL"},
	{"_time_format", "_time_integer_format", "", "sqlite"},
	{"_timezone", "", "", "UTC"},
}

// sqliteDSN returns the driver DSN for t with the defaults added, and the
// given parameters forced.
func sqliteDSN(t target, force map[string]string) string {
	q := url.Values{}
	for k, v := range t.query {
		q[k] = append([]string(nil), v...)
	}
	for _, d := range sqliteDefaults {
		if q.Has(d.key) || (d.alias != "" && q.Has(d.alias)) || (d.pragma != "" && setsPragma(q["_pragma"], d.pragma)) {
			continue
		}
		q.Set(d.key, d.value)
	}
	for k, v := range force {
		q.Set(k, v)
	}
	return t.name + "?" + q.Encode()
}

func setsPragma(pragmas []string, name string) bool {
	for _, p := range pragmas {
		p = strings.ToLower(strings.TrimSpace(p))
		if rest, ok := strings.CutPrefix(p, name); ok && (rest == "" || strings.ContainsAny(rest[:1], " =(")) {
			return true
		}
	}
	return false
}

// sqliteFile is the file path of an SQLite name: a path, or a file: URI
// ("file:data.db", "file:///var/lib/data.db").
func sqliteFile(name string) string {
	rest, ok := strings.CutPrefix(name, "file:")
	if !ok {
		return name
	}
	if strings.HasPrefix(rest, "///") {
		rest = rest[2:]
	} else if h, p, ok := strings.Cut(strings.TrimPrefix(rest, "//"), "/"); strings.HasPrefix(rest, "//") && ok && (h == "" || h == "localhost") {
		rest = "/" + p
	}
	if u, err := url.PathUnescape(rest); err == nil {
		return u
	}
	return rest
}

func openSQLite(ctx context.Context, t target) (*DB, error) {
	writer, err := sql.Open("sqlite", sqliteDSN(t, map[string]string{"_txlock": "immediate"}))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: SQLite %q: %w", t.name, err)
	}
	// One writer connection, kept open for the life of the DB (an in-memory
	// database lives exactly as long as its connection).
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	db := &DB{dialect: SQLite, reader: writer, writer: writer}
	// The writer connects first: it turns the file to WAL before any reader
	// looks at it.
	if err := writer.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite database %q (does its directory exist, and can this process write there?): %w", t.name, err)
	}
	if t.memory {
		return db, nil
	}
	db.file = sqliteFile(t.name)
	reader, err := sql.Open("sqlite", sqliteDSN(t, map[string]string{"_query_only": "1"}))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: SQLite %q: %w", t.name, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	db.reader = reader
	if err := reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite database %q for reading: %w", t.name, err)
	}
	return db, nil
}
