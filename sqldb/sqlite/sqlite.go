// Package sqlite opens an SQLite database as a [*sqldb.DB], with
// modernc.org/sqlite (pure Go, no cgo). Importing it links that driver and
// no other: a program that stores on SQLite alone carries no PostgreSQL
// driver.
//
//	db, err := sqlite.Open(ctx, "/var/lib/app/bulwark.db")
//	if err != nil { … }
//	defer db.Close()
//	store, err := cspsql.New(ctx, db) // and the suite's other stores, on the same db
//
// The database it opens is the one the suite's stores are written for: one
// writer connection whose transactions begin IMMEDIATE, a pool of
// read-only readers beside it (WAL), a busy timeout, foreign keys on, and
// times written as UTC text that sorts in time order. See [Open].
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/bulwark-go/bulwark/sqldb"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// acceptedDSNs is what every DSN error lists.
const acceptedDSNs = `use a plain file path, "sqlite:PATH", "file:PATH?…" (an SQLite URI) or ":memory:"`

// busyTimeoutMillis is how long an SQLite connection waits for a lock held
// by another process before it fails with SQLITE_BUSY, unless the DSN says
// otherwise.
const busyTimeoutMillis = 5000

// Open opens the SQLite database that dsn names and checks that it
// answers.
//
// dsn is a plain file path, "sqlite:PATH" (also "sqlite:///abs/path"), or
// "file:PATH?…" (an SQLite URI: https://www.sqlite.org/uri.html). The file
// is created if missing; its directory is not: a directory that does not
// exist is an error that names it (and is [fs.ErrNotExist]). Unless the DSN sets them
// itself (modernc.org/sqlite parameters such as _busy_timeout,
// _journal_mode or _pragma=synchronous(FULL)), connections use WAL,
// busy_timeout 5s, foreign_keys on and synchronous NORMAL, and write times
// as UTC text (see the sqldb package documentation). Write transactions
// always begin IMMEDIATE; the readers always run query_only.
//
// ":memory:" (or a file: URI with mode=memory) opens a private in-memory
// database on one connection, shared by Reader and Writer: for tests and
// examples, gone when the DB is closed. With one connection, close a
// *sql.Rows before the next statement, or that statement waits forever.
func Open(ctx context.Context, dsn string) (*sqldb.DB, error) {
	t, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return open(ctx, t)
}

// target is a parsed DSN.
type target struct {
	name   string     // file path or file: URI, without its query
	query  url.Values // the DSN's query parameters
	memory bool       // an in-memory database
}

// schemeRE matches a URL scheme: letters first, at least two characters, so
// that a Windows drive letter ("C:\data\bulwark.db") is a path, not a scheme.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

func parseDSN(dsn string) (target, error) {
	if strings.TrimSpace(dsn) == "" {
		return target{}, fmt.Errorf("sqldb/sqlite: empty DSN: %s", acceptedDSNs)
	}
	rest := dsn
	if m := schemeRE.FindStringSubmatch(dsn); m != nil {
		switch scheme := strings.ToLower(m[1]); scheme {
		case "sqlite":
			rest = dsn[len(m[0]):]
			// sqlite:///abs/path and sqlite://rel/path, as other tools write them.
			rest = strings.TrimPrefix(rest, "//")
		case "file":
			// An SQLite URI: kept whole, SQLite reads it.
		case "postgres", "postgresql":
			return target{}, fmt.Errorf("sqldb/sqlite: a %s URL names a PostgreSQL database: open it with sqldb/postgres.Open", scheme)
		default:
			return target{}, fmt.Errorf("sqldb/sqlite: unsupported scheme %q: %s", m[1], acceptedDSNs)
		}
	}
	name, rawQuery, _ := strings.Cut(rest, "?")
	if name == "" || name == "file:" {
		return target{}, fmt.Errorf("sqldb/sqlite: DSN %q names no file: %s", dsn, acceptedDSNs)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return target{}, fmt.Errorf("sqldb/sqlite: DSN %q: bad query parameters: %w", dsn, err)
	}
	mem := name == ":memory:" ||
		(strings.HasPrefix(name, "file:") && (strings.TrimPrefix(name, "file:") == ":memory:" || q.Get("mode") == "memory"))
	return target{name: name, query: q, memory: mem}, nil
}

// sqliteDefaults are the settings a DSN gets unless it sets them: a
// modernc.org/sqlite shorthand key (the first is added), its alias, and the
// PRAGMA name that a _pragma parameter would set.
var sqliteDefaults = []struct {
	key, alias, pragma, value string
}{
	{"_busy_timeout", "_timeout", "busy_timeout", fmt.Sprint(busyTimeoutMillis)},
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

// checkDir returns an error when the directory of t's file does not exist
// or is not a directory: Open creates the file, never its directory, so
// that a mistyped path is an error rather than a database somewhere
// unexpected. It says so plainly, where the driver would only say
// "unable to open database file". A directory it cannot look at is left to
// the driver.
func checkDir(t target) error {
	if t.memory {
		return nil
	}
	path := t.name
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		// An SQLite URI: file:PATH, file:///PATH or file://localhost/PATH,
		// percent-encoded.
		if authPath, ok := strings.CutPrefix(rest, "//"); ok {
			if i := strings.IndexByte(authPath, '/'); i >= 0 {
				rest = authPath[i:]
			}
		}
		if u, err := url.PathUnescape(rest); err == nil {
			rest = u
		}
		path = rest
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sqldb/sqlite: open %q: directory %s does not exist: create it first (Open creates the database file, never its directory): %w", t.name, dir, err)
	case err == nil && !fi.IsDir():
		return fmt.Errorf("sqldb/sqlite: open %q: %s is not a directory", t.name, dir)
	}
	return nil
}

func open(ctx context.Context, t target) (*sqldb.DB, error) {
	if err := checkDir(t); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite", sqliteDSN(t, map[string]string{"_txlock": "immediate"}))
	if err != nil {
		return nil, fmt.Errorf("sqldb/sqlite: %q: %w", t.name, err)
	}
	// One writer connection, kept open for the life of the DB (an in-memory
	// database lives exactly as long as its connection).
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// The writer connects first: it turns the file to WAL before any reader
	// looks at it.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqldb/sqlite: open %q (can this process write there?): %w", t.name, err)
	}
	var reader *sql.DB // an in-memory database: the writer's one connection reads too
	if !t.memory {
		reader, err = sql.Open("sqlite", sqliteDSN(t, map[string]string{"_query_only": "1"}))
		if err != nil {
			writer.Close()
			return nil, fmt.Errorf("sqldb/sqlite: %q: %w", t.name, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		reader.SetMaxOpenConns(n)
		reader.SetMaxIdleConns(n)
		if err := reader.PingContext(ctx); err != nil {
			reader.Close()
			writer.Close()
			return nil, fmt.Errorf("sqldb/sqlite: open %q for reading: %w", t.name, err)
		}
	}
	db, err := sqldb.New(sqldb.SQLite, writer, reader)
	if err != nil { // not reached: the writer holds one connection
		writer.Close()
		if reader != nil {
			reader.Close()
		}
		return nil, err
	}
	return db, nil
}
