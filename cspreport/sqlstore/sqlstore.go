// Package sqlstore is the SQL [cspreport.Store], on SQLite (the default)
// or PostgreSQL: violation groups, their details, hourly counts per group,
// counters of filtered and other reports, and policies kept once per hash,
// in tables created and kept up to date by embedded migrations (component
// "cspreport" in bulwark_schema_migrations).
//
//	db, err := sqlite.Open(ctx, "/var/lib/app/bulwark.db") // sqldb/sqlite; or postgres.Open(ctx, "postgres://…")
//	defer db.Close()
//	store, err := sqlstore.New(ctx, db)
//	defer store.Close() // before db's: it folds what the journal holds
//	rcv, err := cspreport.New(cspreport.Config{Store: store})
//
// Save appends the batch to a journal: a file beside an SQLite database
// (one write; see fileJournal), or the table bulwark_csp_journal on
// PostgreSQL (one row in a transaction). The journal is folded into the
// tables in bulk, in the background or by the Saves that find it due, and
// before every read: one transaction of multi-row upserts, one row per
// distinct group, detail, hour, browser family, counter and policy, so
// that the cost grows with the number of distinct keys, not of reports.
// Several receivers may share one PostgreSQL database: the upserts add,
// they do not overwrite, and each journal entry is folded once.
//
// The groups a fold creates are told, once the fold is committed, to the
// function that the receiver sets ([Store.NotifyNewGroups]), which logs
// them; a fold in a process without one (a reader) keeps them in the
// table bulwark_csp_untold for the next fold of a process with one.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

const groupCols = `group_fp, directive, disposition, blocked_kind, blocked_origin, document_origin, document_path, total, first_seen, last_seen, muted, example_blocked, example_source`

// The upserts of Save are multi-row statements: one INSERT … VALUES
// (…), (…) … ON CONFLICT per table and chunk of rows (see multiRow). Save
// aggregates the batch first, so that no key appears twice in one
// statement (PostgreSQL refuses to update a row twice in one command).
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
)

// Raw events and reports of other types are plain inserts.
var (
	insertEvent = multiRow{head: `INSERT INTO bulwark_csp_event (group_fp, detail_fp, received_at, raw) VALUES `, cols: 4, tail: sqldb.Portable(``)}
	insertOther = multiRow{head: `INSERT INTO bulwark_csp_other_report (type, url, user_agent, client_prefix, body, received_at) VALUES `, cols: 6, tail: sqldb.Portable(``)}
)

// The journal: Save appends one row per batch; fold claims the rows
// (deletes them, reading what it deletes) and merges them into the tables.
var (
	appendJournal = multiRow{head: `INSERT INTO bulwark_csp_journal (data) VALUES `, cols: 1, tail: sqldb.Portable(``)}
	claimJournal  = sqldb.Query{
		SQLite: `DELETE FROM bulwark_csp_journal WHERE id IN (SELECT id FROM bulwark_csp_journal ORDER BY id LIMIT ?) RETURNING id, data`,
		// SKIP LOCKED: two collectors folding at once take different rows.
		Postgres: `DELETE FROM bulwark_csp_journal WHERE id IN (SELECT id FROM bulwark_csp_journal ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, data`,
	}
)

// The journal is folded into the tables by the Saves that find
// foldChunk entries or more waiting, or the last fold FoldInterval ago:
// such a Save folds the oldest foldChunk entries in its own transaction,
// so that no commit waits for more than one chunk's fold. Every read
// folds the whole journal first.
const FoldInterval = 100 * time.Millisecond

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
	sqlite := b.String() + m.tail.SQLite
	if d == sqldb.Postgres {
		return sqldb.Portable(b.String() + m.tail.Postgres).Postgres
	}
	return sqlite
}

// chunk is the number of rows of the next statement for n rows left.
func chunk(n int) int {
	k := 1
	for k*2 <= n && k*2 <= maxRows {
		k *= 2
	}
	return k
}

// retention lists what DeleteBefore deletes, in order, chunk by chunk.
// No index serves these conditions (see migration 0002): each chunk scans
// until it has found its rows, once an hour.
var retention = []sqldb.Query{
	chunked("bulwark_csp_event", "id", "received_at < ?"),
	chunked("bulwark_csp_other_report", "id", "received_at < ?"),
	chunked("bulwark_csp_group_hour", "group_fp, hour", "hour < ?"),
	chunked("bulwark_csp_counter", "hour, kind, name", "hour < ?"),
	chunked("bulwark_csp_detail", "group_fp, detail_fp", "last_seen < ?"),
	// The browser counts of the groups about to go, a chunk of groups
	// at a time.
	sqldb.Portable(`DELETE FROM bulwark_csp_group_browser WHERE group_fp IN (SELECT g.group_fp FROM bulwark_csp_group g
		WHERE g.last_seen < ? AND EXISTS (SELECT 1 FROM bulwark_csp_group_browser b WHERE b.group_fp = g.group_fp) LIMIT ?)`),
	chunked("bulwark_csp_group", "group_fp", "last_seen < ?"),
	chunked("bulwark_csp_policy", "hash", "first_seen < ? AND NOT EXISTS (SELECT 1 FROM bulwark_csp_detail d WHERE d.policy_hash = bulwark_csp_policy.hash)"),
}

// chunked deletes at most ? rows of table matching where (whose one
// parameter is the time): by primary key (the tables are WITHOUT ROWID) in
// SQLite, by ctid in PostgreSQL.
func chunked(table, key, where string) sqldb.Query {
	return sqldb.Query{
		SQLite:   sqldb.Portable(`DELETE FROM ` + table + ` WHERE (` + key + `) IN (SELECT ` + key + ` FROM ` + table + ` WHERE ` + where + ` LIMIT ?)`).SQLite,
		Postgres: sqldb.Portable(`DELETE FROM ` + table + ` WHERE ctid IN (SELECT ctid FROM ` + table + ` WHERE ` + where + ` LIMIT ?)`).Postgres,
	}
}

// Store is the SQL [cspreport.Store]. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
	// The multi-row statements of Save, prepared on the writer by New, by
	// table and number of rows; each transaction uses them through
	// tx.StmtContext.
	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt

	// foldMu serializes the folds, and Save on the journal table; it
	// guards pending, lastFold and closed.
	foldMu   sync.Mutex
	pending  int // journal entries this process saved and did not fold
	lastFold time.Time
	closed   bool

	// The function told of the groups that folds create (other than
	// Save's own); without one, they go to bulwark_csp_untold.
	notifyMu sync.Mutex
	notify   func([]cspreport.Report)
	tellMu   sync.Mutex // taken before foldMu is released: tells keep the folds' order

	// The file journal (SQLite on a file; see fileJournal), else nil.
	fj       *fileJournal
	jmu      sync.Mutex    // guards fj's writes, rec, queue, failed, unfolded
	rec      []byte        // the last record written, its memory reused
	queue    *aggregate    // the batches appended to the file journal, not yet folded
	failed   []*aggregate  // taken by folds that failed, to write before queue
	unfolded []string      // journal files whose batches are in failed and queue
	foldErr  error         // the last fold's, until one succeeds
	folded   chan struct{} // closed (and replaced) by each fold

	// The folder: folds the file journal every FileFoldInterval (or when
	// kicked), or what this process left in the journal table every
	// FoldInterval, so that a batch is merged, and its new groups told,
	// without waiting for another Save or a read.
	kick   chan struct{}
	quit   chan struct{}
	folder sync.WaitGroup
	// stopFold ends the folder's fold in progress when Close starts, so
	// that a hung database does not hold Close for the fold's own
	// timeout before Close's bounded last fold.
	foldCtx  context.Context
	stopFold context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

type stmtKey struct {
	m *multiRow
	n int
}

var _ cspreport.Store = (*Store)(nil)

// New returns the store on db, after bringing its schema up to date
// (component "cspreport"), and starts its folder. db is the one the
// application shares between the suite's stores (sqldb/sqlite.Open,
// sqldb/postgres.Open or sqldb.New); Close the store before db, which the
// store does not close. On an SQLite file, the store keeps its journal in
// files beside the database (see the package documentation).
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, Component, Migrations()); err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: New: %w", err)
	}
	s := &Store{db: db, stmts: map[stmtKey]*sql.Stmt{}, lastFold: time.Now()}
	// Prepare every statement now: a statement cannot be prepared on the
	// writer while Save's transaction holds it (SQLite has one writer
	// connection).
	for _, m := range []*multiRow{&appendJournal, &insertPolicy, &upsertGroup, &upsertDetail, &upsertHour, &upsertBrowser, &upsertCounter, &insertEvent, &insertOther} {
		for n := 1; n <= maxRows && (n == 1 || m != &appendJournal); n *= 2 {
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
		if err := s.openFileJournal(ctx, file); err != nil {
			s.closeStmts()
			return nil, fmt.Errorf("cspreport/sqlstore: journal beside %s: %w", file, err)
		}
	}
	s.kick, s.quit = make(chan struct{}, 1), make(chan struct{})
	s.foldCtx, s.stopFold = context.WithCancel(context.Background())
	s.folder.Go(s.foldLoop)
	return s, nil
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

// The file journal is folded every FileFoldInterval, or as soon as its
// batches add up to foldQueued rows to write (an aggregate: one row per
// distinct key, see aggregate). The queue holds a few hundred bytes per
// row, and nothing per repeated report: with a bounded set of violations
// a fold a second writes each once, whatever the rate. While maxQueued
// rows wait (the folds fall behind: distinct reports cost an upsert
// each), Save waits for a fold, and so do the handlers: the senders are
// slowed down, not refused.
const (
	FileFoldInterval = time.Second
	foldQueued       = 6144
	maxQueued        = 1 << 14
)

// maxKeptRecord bounds the memory of the last record that Save keeps for
// the next one to reuse.
const maxKeptRecord = 1 << 20

// The number of the last journal file folded (migration 0005).
const (
	selectJournalFolded = `SELECT seq FROM bulwark_csp_journal_folded WHERE id = 1`
)

var upsertJournalFolded = sqldb.Portable(`INSERT INTO bulwark_csp_journal_folded (id, seq) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`)

// ErrBehind is returned by Save while folds fail, or when its context ends
// while it waits for a fold to make room (maxQueued rows wait).
var ErrBehind = errors.New("cspreport/sqlstore: the journal is too far ahead of the database")

// openFileJournal takes the journal beside file, folds what it holds and
// starts the folder. When another process holds it, the store keeps using
// the journal table.
func (s *Store) openFileJournal(ctx context.Context, file string) error {
	var syncLevel int
	if err := s.db.Writer().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncLevel); err != nil {
		return err
	}
	var folded int
	err := s.db.Writer().QueryRowContext(ctx, selectJournalFolded).Scan(&folded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	j, left, files, err := openFileJournal(file, syncLevel >= 2, folded)
	if err != nil || j == nil {
		return err
	}
	s.fj, s.queue, s.unfolded, s.folded = j, newAggregate(), files, make(chan struct{})
	for _, e := range left {
		b, err := decodeBatch(e)
		if err != nil {
			s.fj = nil
			return errors.Join(fmt.Errorf("journal entry: %w", err), j.close())
		}
		s.queue.add(b)
	}
	if err := s.flush(ctx); err != nil {
		s.fj = nil
		return errors.Join(err, j.close())
	}
	return nil
}

// foldLoop is the folder: it folds the file journal every
// FileFoldInterval or when kicked; without one, it folds the journal
// table when kicked, when this process left entries there and no Save
// folded for FoldInterval, or, when it tells of new groups, when nothing
// folded for FileFoldInterval (to take the groups other processes left
// untold). It tells the new groups once the fold is committed.
func (s *Store) foldLoop() {
	every := FoldInterval
	if s.fj != nil {
		every = FileFoldInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		kicked := false
		select {
		case <-s.quit:
			return
		case <-t.C:
		case <-s.kick:
			kicked = true
		}
		ctx, cancel := context.WithTimeout(s.foldCtx, 30*time.Second)
		var created []cspreport.Report
		s.foldMu.Lock()
		idle := time.Since(s.lastFold)
		switch {
		case s.fj != nil:
			// On failure the batches stay queued: the next fold, or a
			// read, tries again and reports it.
			created, _ = s.foldFileLocked(ctx)
		case kicked || s.pending > 0 && idle >= FoldInterval || idle >= FileFoldInterval && s.listening():
			created, _ = s.foldTableLocked(ctx)
		}
		cancel()
		s.unlockAndTell(created)
	}
}

// saveFile appends b to the file journal and adds it to the queue; the
// folder writes the queue.
func (s *Store) saveFile(ctx context.Context, b *cspreport.Batch) ([]cspreport.Report, error) {
	s.jmu.Lock()
	for s.foldErr == nil && s.queue.rows() >= maxQueued {
		// The folds fall behind: wait for one (the handlers wait with
		// this commit, which slows the senders down), or for ctx.
		done := s.folded
		s.jmu.Unlock()
		s.nudge()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrBehind, ctx.Err())
		}
		s.jmu.Lock()
	}
	if s.foldErr != nil {
		// Fail closed: the receiver answers 503 until the database takes
		// the journal in again.
		err := s.foldErr
		s.jmu.Unlock()
		s.nudge()
		return nil, fmt.Errorf("%w: %w", ErrBehind, err)
	}
	var header [recordHeader]byte
	rec := appendBatch(append(s.rec[:0], header[:]...), b)
	if cap(rec) <= maxKeptRecord {
		s.rec = rec
	}
	if err := s.fj.append(rec); err != nil {
		s.jmu.Unlock()
		return nil, fmt.Errorf("cspreport/sqlstore: save: %w", err)
	}
	s.queue.add(b)
	due := s.queue.rows() >= foldQueued
	s.jmu.Unlock()
	if due {
		s.nudge()
	}
	return nil, nil // merged, and its new groups told, by the folder
}

func (s *Store) nudge() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// foldFileLocked writes the queued batches into the database in one
// transaction, then removes the journal files that held them; on failure
// they stay queued. It returns the first report of each group the fold
// created. The caller holds foldMu.
func (s *Store) foldFileLocked(ctx context.Context) ([]cspreport.Report, error) {
	s.jmu.Lock()
	aggs := s.failed
	if !s.queue.empty() {
		aggs = append(aggs, s.queue)
		s.queue = newAggregate()
	}
	if s.fj.size > 0 {
		old := s.fj.f.Name()
		if err := s.fj.rotate(); err != nil {
			s.failed = aggs
			s.jmu.Unlock()
			return nil, fmt.Errorf("cspreport/sqlstore: journal: %w", err)
		}
		s.unfolded = append(s.unfolded, old)
	}
	files := s.unfolded
	s.failed, s.unfolded = nil, nil
	s.jmu.Unlock()
	var created []cspreport.Report
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		created = nil
		for _, a := range aggs {
			c, err := s.write(ctx, tx, a)
			if err != nil {
				return err
			}
			created = append(created, c...)
		}
		// The files' numbers go in with their reports, so that a crash
		// before they are removed cannot fold them twice.
		last := 0
		for _, f := range files {
			last = max(last, s.fj.fileSeq(f))
		}
		if last > 0 {
			if _, err := tx.ExecContext(ctx, s.db.Q(upsertJournalFolded), last); err != nil {
				return err
			}
		}
		var err error
		created, err = s.settle(ctx, tx, created)
		return err
	})
	s.jmu.Lock()
	defer s.jmu.Unlock()
	s.foldErr = err
	close(s.folded)
	s.folded = make(chan struct{})
	if err != nil {
		// The batches saved since stay in queue, written after these.
		s.failed = aggs
		s.unfolded = append(files, s.unfolded...)
		return nil, fmt.Errorf("cspreport/sqlstore: fold the journal: %w", err)
	}
	for _, f := range files {
		os.Remove(f)
	}
	return created, nil
}

// NotifyNewGroups implements [cspreport.Merger]: fn is called with the
// first report of each group created by a fold that no Save returned
// (the folder's, a read's, Flush's, Close's), once the fold is committed,
// and with the groups that the folds of processes that tell nobody (a
// reader such as bulwark reports, or this one before fn was set: the fold
// at Open of what a crashed process left) kept for one that does. Setting
// it has the folder take those at once.
func (s *Store) NotifyNewGroups(fn func([]cspreport.Report)) {
	s.notifyMu.Lock()
	s.notify = fn
	s.notifyMu.Unlock()
	if fn != nil {
		s.nudge()
	}
}

func (s *Store) listening() bool {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	return s.notify != nil
}

// Groups that a fold created in a process that tells nobody of them
// (migration 0006): written in that fold's transaction, claimed in the
// transaction of a fold of a process that does.
var (
	insertUntold = sqldb.Portable(`INSERT INTO bulwark_csp_untold (data) VALUES (?)`)
	claimUntold  = sqldb.Query{
		SQLite:   `DELETE FROM bulwark_csp_untold RETURNING data`,
		Postgres: `DELETE FROM bulwark_csp_untold WHERE id IN (SELECT id FROM bulwark_csp_untold FOR UPDATE SKIP LOCKED) RETURNING data`,
	}
)

// settle decides, in the transaction of a fold whose new groups are to
// be told (not Save's own), who tells them: this process if a function
// is set, and it then takes the groups other folds left untold too;
// else the table bulwark_csp_untold keeps them for a process that does.
// It returns the groups this process is to tell once tx is committed.
func (s *Store) settle(ctx context.Context, tx *sql.Tx, created []cspreport.Report) ([]cspreport.Report, error) {
	if s.listening() {
		untold, err := s.claimUntold(ctx, tx)
		return append(created, untold...), err
	}
	if len(created) == 0 {
		return nil, nil
	}
	kept := make([]cspreport.Report, len(created))
	for i, r := range created {
		r.Policy = "" // not logged; its hash stays
		kept[i] = r
	}
	if _, err := tx.ExecContext(ctx, s.db.Q(insertUntold), encodeBatch(&cspreport.Batch{Reports: kept})); err != nil {
		return nil, fmt.Errorf("untold groups: %w", err)
	}
	return nil, nil
}

// claimUntold takes, in tx, the groups other folds left untold, if this
// process tells of new groups.
func (s *Store) claimUntold(ctx context.Context, tx *sql.Tx) ([]cspreport.Report, error) {
	if !s.listening() {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, s.db.Q(claimUntold))
	if err != nil {
		return nil, fmt.Errorf("untold groups: %w", err)
	}
	defer rows.Close()
	var out []cspreport.Report
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("untold groups: %w", err)
		}
		b, err := decodeBatch(data)
		if err != nil {
			return nil, fmt.Errorf("untold groups: %w", err)
		}
		out = append(out, b.Reports...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("untold groups: %w", err)
	}
	return out, nil
}

// unlockAndTell releases foldMu, which the caller holds, and passes the
// groups that its committed fold created (see settle) to the function
// set by NotifyNewGroups. The next fold may start meanwhile, but no fold
// tells before this one has told: when Flush (or Close) returns, every
// group merged before it has been told.
func (s *Store) unlockAndTell(created []cspreport.Report) {
	s.tellMu.Lock()
	defer s.tellMu.Unlock()
	s.foldMu.Unlock()
	if len(created) == 0 {
		return
	}
	s.notifyMu.Lock()
	fn := s.notify
	s.notifyMu.Unlock()
	if fn != nil {
		fn(created)
	}
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
		return nil, errors.New("cspreport/sqlstore: store closed")
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

// Close stops the folder, folds the journal (telling the new groups, see
// NotifyNewGroups) and releases the store's prepared statements; close
// the database after it, since the store does not. What a failed fold
// leaves in the journal is folded by the next process that opens the
// database. Later calls do nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

// CloseTimeout bounds Close's last fold: what it cannot fold by then
// stays in the journal, for the next process that opens the database.
// A program's shutdown adds it to its own drain (bulwark collect: 10s +
// 10s, under a usual 30s grace period).
const CloseTimeout = 10 * time.Second

func (s *Store) close() error {
	close(s.quit)
	s.stopFold()
	s.folder.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	s.foldMu.Lock()
	created, err := s.flushLocked(ctx)
	s.closed = true
	cancel()
	s.unlockAndTell(created)
	if s.fj != nil {
		if err == nil {
			os.Remove(s.fj.f.Name()) // empty: everything is folded
		}
		err = errors.Join(err, s.fj.close())
	}
	s.closeStmts()
	return err
}

// Save implements [cspreport.Store]: the batch is appended to the journal
// (one write to the file journal; or one row, one statement, in a
// transaction), so that a commit costs the same whatever its size. On the
// journal table, every FoldInterval (or foldChunk entries) that
// transaction also folds the journal into the tables (see fold), and Save
// returns the groups that fold created; the other folds (the folder's,
// every FileFoldInterval or FoldInterval; every read's, which sees every
// saved batch; Close's) tell theirs to the function of NotifyNewGroups.
func (s *Store) Save(ctx context.Context, b *cspreport.Batch) ([]cspreport.Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(b.Reports) == 0 && len(b.Counters) == 0 && len(b.Events) == 0 && len(b.Other) == 0 {
		return nil, nil
	}
	if s.fj != nil {
		return s.saveFile(ctx, b)
	}
	data := encodeBatch(b)
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	now := time.Now()
	due := s.pending+1 >= foldChunk || now.Sub(s.lastFold) >= FoldInterval
	var created []cspreport.Report
	folded := 0
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		st, err := s.stmt(&appendJournal, 1)
		if err != nil {
			return err
		}
		st = tx.StmtContext(ctx, st)
		_, err = st.ExecContext(ctx, data)
		st.Close()
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if due {
			created, folded, err = s.fold(ctx, tx, 1)
			if err == nil {
				// Save returns its fold's new groups, and those other
				// folds left untold.
				var untold []cspreport.Report
				untold, err = s.claimUntold(ctx, tx)
				created = append(created, untold...)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: save: %w", err)
	}
	s.pending = max(0, s.pending+1-folded)
	if due {
		s.lastFold = now
	}
	return created, nil
}

// Flush implements [cspreport.Merger]: it folds the journal into the
// tables now; the groups it creates are told to the function of
// NotifyNewGroups. Reads flush first; Close flushes too.
func (s *Store) Flush(ctx context.Context) error { return s.flush(ctx) }

// errClosed is returned by the reads and Flush of a closed store.
var errClosed = errors.New("cspreport/sqlstore: store closed")

// flush folds the journal, before a read or for Flush, and tells the
// groups it creates.
func (s *Store) flush(ctx context.Context) error {
	s.foldMu.Lock()
	if s.closed {
		s.foldMu.Unlock()
		return errClosed
	}
	created, err := s.flushLocked(ctx)
	s.unlockAndTell(created)
	return err
}

// flushLocked folds the file journal, then the journal table, and returns
// the groups the folds that committed created (with the error of one that
// did not). The caller holds foldMu.
func (s *Store) flushLocked(ctx context.Context) ([]cspreport.Report, error) {
	var created []cspreport.Report
	if s.fj != nil {
		c, err := s.foldFileLocked(ctx)
		if err != nil {
			return nil, err
		}
		created = c
	}
	// The journal table: this store's entries when it has no file
	// journal, or what another process left there.
	c, err := s.foldTableLocked(ctx)
	return append(created, c...), err
}

// foldTableLocked folds the whole journal table in one transaction and
// returns the groups it created. The caller holds foldMu.
func (s *Store) foldTableLocked(ctx context.Context) ([]cspreport.Report, error) {
	var created []cspreport.Report
	err := s.db.WithTx(ctx, func(tx *sql.Tx) error {
		c, _, err := s.fold(ctx, tx, -1)
		if err != nil {
			return err
		}
		created, err = s.settle(ctx, tx, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cspreport/sqlstore: fold the journal: %w", err)
	}
	s.pending, s.lastFold = 0, time.Now()
	return created, nil
}

// foldChunk is how many journal entries one statement claims.
const foldChunk = 32

// fold moves journal entries into the tables, in tx, chunks of foldChunk
// entries at a time, at most chunks chunks (all if chunks < 0): it deletes
// the entries (claiming them: two processes never fold one entry twice),
// merges their batches and upserts the result. It returns the first
// report of each group it created, and the number of entries folded.
func (s *Store) fold(ctx context.Context, tx *sql.Tx, chunks int) (created []cspreport.Report, folded int, err error) {
	for ; chunks != 0; chunks-- {
		type entry struct {
			id   int64
			data []byte
		}
		var entries []entry
		rows, err := tx.QueryContext(ctx, s.db.Q(claimJournal), foldChunk)
		if err != nil {
			return nil, 0, fmt.Errorf("claim: %w", err)
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.id, &e.data); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("claim: %w", err)
			}
			entries = append(entries, e)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, 0, fmt.Errorf("claim: %w", err)
		}
		if len(entries) == 0 {
			return created, folded, nil
		}
		slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.id, b.id) })
		a := newAggregate()
		for _, e := range entries {
			b, err := decodeBatch(e.data)
			if err != nil {
				return nil, 0, fmt.Errorf("journal entry %d: %w", e.id, err)
			}
			a.add(b)
		}
		c, err := s.write(ctx, tx, a)
		if err != nil {
			return nil, 0, err
		}
		created = append(created, c...)
		folded += len(entries)
		if len(entries) < foldChunk {
			break
		}
	}
	return created, folded, nil
}

func source(r *cspreport.Report) string {
	if r.SourceFile == "" {
		return ""
	}
	s := r.SourceFile
	if r.Line > 0 {
		s += fmt.Sprintf(":%d", r.Line)
		if r.Column > 0 {
			s += fmt.Sprintf(":%d", r.Column)
		}
	}
	return s
}

func minT(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxT(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
