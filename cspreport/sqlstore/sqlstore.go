// Package sqlstore is the SQL [cspreport.Store], on SQLite (the default)
// or PostgreSQL: violation groups, their details, hourly counts, browser
// families and clients per group, counters of filtered and other reports,
// and policies kept once per hash, in tables created and kept up to date
// by embedded migrations (component "cspreport" in
// bulwark_schema_migrations).
//
//	db, err := sqlite.Open(ctx, "/var/lib/app/bulwark.db") // sqldb/sqlite; or postgres.Open(ctx, "postgres://…")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	defer store.Close() // before db's: it folds what the journal holds
//	rcv, err := cspreport.New(cspreport.Config{Store: store})
//
// The receiver hands Save one [cspreport.Batch] per group commit: its
// reports already merged into rows. Save writes those rows in one
// transaction of multi-row upserts (one statement per table and chunk of
// rows, in key order, so that several collectors sharing a PostgreSQL
// database never deadlock): the upserts add, they do not overwrite.
//
// On an SQLite file, Save instead appends the batch to a journal beside
// the database (one write: see fileJournal) and merges it into the rows
// waiting to be folded, which a background fold writes in one
// transaction every [FoldInterval], or sooner when many wait, and before
// every read: a commit then costs one write whatever its size, and a
// violation repeated a thousand times between two folds is one upsert.
// The journal is the store's business: reads see every saved batch, and
// Save tells which groups are new as the other stores do.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/sqldb"
)

// Component is the name under which the migrations are recorded.
const Component = "cspreport"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations, for tools that apply them
// themselves.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations") // never fails: the folder is embedded
	return sub
}

// The upserts of a write are multi-row statements: one INSERT … VALUES
// (…), (…) … ON CONFLICT per table and chunk of rows (see multiRow). A
// batch holds each key once, so that no statement updates a row twice
// (PostgreSQL refuses that).
var (
	upsertGroup = multiRow{
		head: `INSERT INTO bulwark_csp_group (group_fp, directive, disposition, blocked_kind, blocked_origin, document_origin, document_path, total, first_seen, last_seen, example_blocked, example_source) VALUES `,
		cols: 12,
		tail: sqldb.Query{
			SQLite: ` ON CONFLICT (group_fp) DO UPDATE SET total = bulwark_csp_group.total + excluded.total,
				first_seen = MIN(bulwark_csp_group.first_seen, excluded.first_seen),
				last_seen = MAX(bulwark_csp_group.last_seen, excluded.last_seen)
			RETURNING group_fp, total`,
			Postgres: ` ON CONFLICT (group_fp) DO UPDATE SET total = bulwark_csp_group.total + excluded.total,
				first_seen = LEAST(bulwark_csp_group.first_seen, excluded.first_seen),
				last_seen = GREATEST(bulwark_csp_group.last_seen, excluded.last_seen)
			RETURNING group_fp, total`,
		},
	}
	upsertDetail = multiRow{
		head: `INSERT INTO bulwark_csp_detail (detail_fp, group_fp, source_file, line, col, sample, policy_hash, policy_version, example_document, example_blocked, example_ua, count, first_seen, last_seen) VALUES `,
		cols: 14,
		tail: sqldb.Query{
			SQLite: ` ON CONFLICT (group_fp, detail_fp) DO UPDATE SET count = bulwark_csp_detail.count + excluded.count,
				first_seen = MIN(bulwark_csp_detail.first_seen, excluded.first_seen),
				last_seen = MAX(bulwark_csp_detail.last_seen, excluded.last_seen),
				policy_version = excluded.policy_version`,
			Postgres: ` ON CONFLICT (detail_fp) DO UPDATE SET count = bulwark_csp_detail.count + excluded.count,
				first_seen = LEAST(bulwark_csp_detail.first_seen, excluded.first_seen),
				last_seen = GREATEST(bulwark_csp_detail.last_seen, excluded.last_seen),
				policy_version = excluded.policy_version`,
		},
	}
	upsertHour = multiRow{
		head: `INSERT INTO bulwark_csp_group_hour (group_fp, hour, count) VALUES `,
		cols: 3,
		tail: sqldb.Portable(` ON CONFLICT (group_fp, hour) DO UPDATE SET count = bulwark_csp_group_hour.count + excluded.count`),
	}
	upsertBrowser = multiRow{
		head: `INSERT INTO bulwark_csp_group_browser (group_fp, family, count) VALUES `,
		cols: 3,
		tail: sqldb.Portable(` ON CONFLICT (group_fp, family) DO UPDATE SET count = bulwark_csp_group_browser.count + excluded.count`),
	}
	upsertClient = multiRow{
		head: `INSERT INTO bulwark_csp_group_client (group_fp, client_prefix, count, last_seen) VALUES `,
		cols: 4,
		tail: sqldb.Query{
			SQLite: ` ON CONFLICT (group_fp, client_prefix) DO UPDATE SET count = bulwark_csp_group_client.count + excluded.count,
				last_seen = MAX(bulwark_csp_group_client.last_seen, excluded.last_seen)`,
			Postgres: ` ON CONFLICT (group_fp, client_prefix) DO UPDATE SET count = bulwark_csp_group_client.count + excluded.count,
				last_seen = GREATEST(bulwark_csp_group_client.last_seen, excluded.last_seen)`,
		},
	}
	upsertCounter = multiRow{
		head: `INSERT INTO bulwark_csp_counter (hour, kind, name, count) VALUES `,
		cols: 4,
		tail: sqldb.Portable(` ON CONFLICT (hour, kind, name) DO UPDATE SET count = bulwark_csp_counter.count + excluded.count`),
	}
	insertPolicy = multiRow{
		head: `INSERT INTO bulwark_csp_policy (hash, policy, first_seen) VALUES `,
		cols: 3,
		tail: sqldb.Portable(` ON CONFLICT (hash) DO NOTHING`),
	}
	// Raw events and reports of other types are plain inserts.
	insertEvent = multiRow{head: `INSERT INTO bulwark_csp_event (group_fp, detail_fp, received_at, raw) VALUES `, cols: 4, tail: sqldb.Portable(``)}
	insertOther = multiRow{head: `INSERT INTO bulwark_csp_other_report (type, url, user_agent, client_prefix, body, received_at) VALUES `, cols: 6, tail: sqldb.Portable(``)}

	statements = []*multiRow{&insertPolicy, &upsertGroup, &upsertDetail, &upsertHour, &upsertBrowser, &upsertClient, &upsertCounter, &insertEvent, &insertOther}
)

// maxRows is the largest chunk of rows of one multi-row statement (at 14
// parameters a row, well under SQLite's and PostgreSQL's limits).
const maxRows = 64

// multiRow is a multi-row upsert: head, n tuples of cols placeholders,
// tail. A batch of n rows runs as chunks whose sizes are powers of two
// (at most maxRows), so that a few prepared statements per table serve
// every batch size.
type multiRow struct {
	head string
	cols int
	tail sqldb.Query
}

// text returns the statement for n rows in dialect d.
func (m multiRow) text(d sqldb.Dialect, n int) string {
	var b strings.Builder
	b.WriteString(m.head)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range m.cols {
			if c > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	if d == sqldb.Postgres {
		return sqldb.Portable(b.String() + m.tail.Postgres).Postgres
	}
	return b.String() + m.tail.SQLite
}

// chunk is the number of rows of the next statement for n rows left.
func chunk(n int) int {
	k := 1
	for k*2 <= n && k*2 <= maxRows {
		k *= 2
	}
	return k
}

// Store is the SQL [cspreport.Store]. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
	// The multi-row statements, prepared on the writer by New, by table
	// and number of rows; each transaction uses them through
	// tx.StmtContext.
	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt

	// j is the journal of a store on an SQLite file (see journaled), nil
	// otherwise: then Save writes each batch in its own transaction.
	j *journaled

	closeOnce sync.Once
	closeErr  error
}

type stmtKey struct {
	m *multiRow
	n int
}

var _ cspreport.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "cspreport"). db is the one the application shares between
// the suite's stores (sqldb/sqlite.Open, sqldb/postgres.Open or
// sqldb.New); Close the store before db, which the store does not close.
// On an SQLite file, the store keeps its journal in files beside the
// database, and folds at once what a previous process left there.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if db != nil {
		if err := refuseOldJournal(ctx, db); err != nil {
			return nil, fmt.Errorf("cspreport/sqlstore: New: %w", err)
		}
	}
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: New: %w", err)
	}
	s := &Store{db: db, stmts: map[stmtKey]*sql.Stmt{}}
	// Prepare every statement now: a statement cannot be prepared on the
	// writer while a transaction holds it (SQLite has one writer
	// connection).
	for _, m := range statements {
		for n := 1; n <= maxRows; n *= 2 {
			st, err := db.Writer().PrepareContext(ctx, m.text(db.Dialect(), n))
			if err != nil {
				s.closeStmts()
				return nil, fmt.Errorf("cspreport/sqlstore: prepare: %w", err)
			}
			s.stmts[stmtKey{m, n}] = st
		}
	}
	file, err := databaseFile(ctx, db)
	if err != nil {
		s.closeStmts()
		return nil, fmt.Errorf("cspreport/sqlstore: %w", err)
	}
	if file != "" {
		if s.j, err = openJournaled(ctx, s, file); err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("cspreport/sqlstore: journal beside %s: %w", file, err)
		}
	}
	return s, nil
}

// refuseOldJournal returns an error if the journal table of an older
// version (dropped by migration 7) still holds batches: they are folded
// by that version, not lost by this one.
func refuseOldJournal(ctx context.Context, db *sqldb.DB) error {
	var n int
	err := db.Writer().QueryRowContext(ctx, `SELECT COUNT(*) FROM bulwark_csp_journal`).Scan(&n)
	if err != nil || n == 0 {
		return nil // no such table (a new database, or migrated already), or empty
	}
	return fmt.Errorf("%d batches in bulwark_csp_journal: %w", n, errOldJournal)
}

// databaseFile returns the file of an SQLite database, "" for an
// in-memory one and for PostgreSQL. It asks SQLite, so that a database
// opened by any driver, with any DSN, keeps its journal beside its file.
func databaseFile(ctx context.Context, db *sqldb.DB) (string, error) {
	if db.Dialect() != sqldb.SQLite {
		return "", nil
	}
	var file string
	err := db.Writer().QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file)
	if err != nil {
		return "", fmt.Errorf("the database's file: %w", err)
	}
	return file, nil
}

// Save implements [cspreport.Store]: the rows of b are written in one
// transaction, or, on an SQLite file, appended to the journal (see the
// package documentation). An empty batch runs an empty transaction (on an
// SQLite file: a fold), so that it fails while the database cannot be
// reached or written.
func (s *Store) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.j != nil {
		return s.j.save(ctx, b)
	}
	var created []string
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		var err error
		created, err = s.write(ctx, tx, b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: save: %w", err)
	}
	return created, nil
}

// rows returns the arguments of one upsert of m, a row of n values for
// each item of items, in the order of key.
func rows[T any](m *multiRow, items []T, key func(*T, *T) int, values func(*T) []any) []any {
	order := make([]*T, len(items))
	for i := range items {
		order[i] = &items[i]
	}
	if key != nil {
		slices.SortFunc(order, key)
	}
	out := make([]any, 0, len(items)*m.cols)
	for _, it := range order {
		out = append(out, values(it)...)
	}
	return out
}

// write upserts the rows of b in tx, table by table in a fixed order and
// each table's rows in key order: two transactions never wait for each
// other's rows crosswise. It returns the fingerprints of the groups it
// created.
func (s *Store) write(ctx context.Context, tx *sql.Tx, b *cspreport.Batch) ([]string, error) {
	byGroup := func(a, b string) int { return cmp.Compare(a, b) }
	err := s.upsert(ctx, tx, &insertPolicy, rows(&insertPolicy, b.Policies,
		func(x, y *cspreport.Policy) int { return cmp.Compare(x.Hash, y.Hash) },
		func(p *cspreport.Policy) []any { return []any{p.Hash, p.Text, p.FirstSeen} }), nil)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	var created []string
	totals := make(map[string]int64, len(b.Groups))
	for _, g := range b.Groups {
		totals[g.Fingerprint] = g.Total
	}
	err = s.upsert(ctx, tx, &upsertGroup, rows(&upsertGroup, b.Groups,
		func(x, y *cspreport.Group) int { return byGroup(x.Fingerprint, y.Fingerprint) },
		func(g *cspreport.Group) []any {
			return []any{g.Fingerprint, g.Directive, g.Disposition, g.BlockedKind, g.BlockedOrigin,
				g.DocumentOrigin, g.DocumentPath, g.Total, g.FirstSeen, g.LastSeen, g.ExampleBlocked, g.ExampleSource}
		}), func(rs *sql.Rows) error {
		var fp string
		var total int64
		if err := rs.Scan(&fp, &total); err != nil {
			return err
		}
		// The row holds only this batch's reports: this statement
		// inserted it.
		if t, ok := totals[fp]; ok && t == total {
			created = append(created, fp)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	err = s.upsert(ctx, tx, &upsertDetail, rows(&upsertDetail, b.Details,
		func(x, y *cspreport.Detail) int {
			return cmp.Or(byGroup(x.GroupFP, y.GroupFP), cmp.Compare(x.Fingerprint, y.Fingerprint))
		},
		func(d *cspreport.Detail) []any {
			return []any{d.Fingerprint, d.GroupFP, d.SourceFile, d.Line, d.Column, d.Sample, d.PolicyHash,
				d.PolicyVersion, d.ExampleDocument, d.ExampleBlocked, d.ExampleUA, d.Count, d.FirstSeen, d.LastSeen}
		}), nil)
	if err != nil {
		return nil, fmt.Errorf("detail: %w", err)
	}
	err = s.upsert(ctx, tx, &upsertHour, rows(&upsertHour, b.Hours,
		func(x, y *cspreport.GroupHour) int { return cmp.Or(byGroup(x.Group, y.Group), x.Hour.Compare(y.Hour)) },
		func(h *cspreport.GroupHour) []any { return []any{h.Group, h.Hour, h.Count} }), nil)
	if err != nil {
		return nil, fmt.Errorf("hour: %w", err)
	}
	var browsers []groupBrowser
	for _, g := range b.Groups {
		for _, f := range g.Browsers {
			browsers = append(browsers, groupBrowser{g.Fingerprint, f})
		}
	}
	err = s.upsert(ctx, tx, &upsertBrowser, rows(&upsertBrowser, browsers,
		func(x, y *groupBrowser) int {
			return cmp.Or(byGroup(x.group, y.group), cmp.Compare(x.Family, y.Family))
		},
		func(x *groupBrowser) []any { return []any{x.group, x.Family, x.Count} }), nil)
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	err = s.upsert(ctx, tx, &upsertClient, rows(&upsertClient, b.Clients,
		func(x, y *cspreport.GroupClient) int {
			return cmp.Or(byGroup(x.Group, y.Group), cmp.Compare(x.Client, y.Client))
		},
		func(c *cspreport.GroupClient) []any { return []any{c.Group, c.Client, c.Count, c.LastSeen} }), nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	err = s.upsert(ctx, tx, &upsertCounter, rows(&upsertCounter, b.Counters,
		func(x, y *cspreport.HourCounter) int {
			return cmp.Or(x.Hour.Compare(y.Hour), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Name, y.Name))
		},
		func(c *cspreport.HourCounter) []any { return []any{c.Hour, c.Kind, c.Name, c.Count} }), nil)
	if err != nil {
		return nil, fmt.Errorf("counter: %w", err)
	}
	err = s.upsert(ctx, tx, &insertEvent, rows(&insertEvent, b.Events, nil,
		func(e *cspreport.Event) []any { return []any{e.GroupFP, e.DetailFP, stamp(e.ReceivedAt), e.Raw} }), nil)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	err = s.upsert(ctx, tx, &insertOther, rows(&insertOther, b.Other, nil,
		func(o *cspreport.OtherReport) []any {
			return []any{o.Type, o.URL, o.UserAgent, o.ClientPrefix, o.Body, stamp(o.ReceivedAt)}
		}), nil)
	if err != nil {
		return nil, fmt.Errorf("other report: %w", err)
	}
	return created, nil
}

// groupBrowser is a row of bulwark_csp_group_browser.
type groupBrowser struct {
	group string
	cspreport.BrowserCount
}

func (s *Store) closeStmts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
}

// stmt returns the prepared statement of m for n rows (a power of two,
// at most maxRows).
func (s *Store) stmt(m *multiRow, n int) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[stmtKey{m, n}]
	s.mu.Unlock()
	if st == nil {
		return nil, errClosed
	}
	return st, nil
}

// upsert runs m for rows (each of m.cols values), in chunks. each, when
// not nil, reads the rows the statement returns.
func (s *Store) upsert(ctx context.Context, tx *sql.Tx, m *multiRow, rows []any, each func(*sql.Rows) error) error {
	for len(rows) > 0 {
		n := chunk(len(rows) / m.cols)
		st, err := s.stmt(m, n)
		if err != nil {
			return err
		}
		st = tx.StmtContext(ctx, st)
		args := rows[:n*m.cols]
		rows = rows[n*m.cols:]
		if each == nil {
			_, err = st.ExecContext(ctx, args...)
		} else {
			err = query(ctx, st, args, each)
		}
		st.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func query(ctx context.Context, st *sql.Stmt, args []any, each func(*sql.Rows) error) error {
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// errClosed is returned by a closed store.
var errClosed = errors.New("cspreport/sqlstore: store closed")

// Close folds what the journal holds (within [CloseTimeout]) and
// releases the store's prepared statements; close the database after it,
// since the store does not. What a failed fold leaves in the journal is
// folded by the next process that opens the database. Later calls do
// nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.j != nil {
			s.closeErr = s.j.close()
		}
		s.closeStmts()
	})
	return s.closeErr
}

// stamp is a time as the store keeps it: UTC, to the microsecond.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// hourOf is the hourly bucket of t.
func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
