package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/sqldb"
)

// The journal is folded every FoldInterval, or as soon as its batches
// add up to foldQueued rows to write. What waits is one [cspreport.Batch]:
// a row per distinct key, a few hundred bytes each, and nothing per
// repeated report, so that with a bounded set of violations a fold a
// second writes each once, whatever the rate. While maxQueued rows wait
// (the folds fall behind: distinct reports cost an upsert each), Save
// waits for a fold, and so do the handlers: the senders are slowed down,
// not refused.
const (
	FoldInterval = 5 * time.Second
	foldQueued   = 1 << 14
	maxQueued    = 1 << 15
)

// CloseTimeout bounds Close's last fold: what it cannot fold by then
// stays in the journal, for the next process that opens the database.
// A program's shutdown adds it to its own drain (bulwark collect: 10s +
// 10s, under a usual 30s grace period).
const CloseTimeout = 10 * time.Second

// ErrBehind is returned by Save while folds fail, or when its context ends
// while it waits for a fold to make room (maxQueued rows wait).
var ErrBehind = errors.New("cspreport/sqlstore: the journal is too far ahead of the database")

// maxKeptRecord bounds the memory of the last record that Save keeps for
// the next one to reuse.
const maxKeptRecord = 1 << 20

// maxKnown bounds the cache of groups the database holds; past it the
// cache starts again empty.
const maxKnown = 1 << 16

// The number of the last journal file folded (migration 0005).
var (
	selectJournalFolded = sqldb.Portable(`SELECT seq FROM bulwark_csp_journal_folded WHERE id = 1`)
	upsertJournalFolded = sqldb.Portable(`INSERT INTO bulwark_csp_journal_folded (id, seq) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`)
)

// journaled is the write path of a store on an SQLite file: Save appends
// each batch to the file journal and merges it into pending; a fold
// writes pending in one transaction (Store.write), then removes the
// journal files it held.
//
// Which groups are new is decided at Save, as the other stores do: a
// group is new if neither the batches waiting (pending, and folding while
// a fold writes it) nor the database hold it. A cache of the groups the
// database holds spares most of those reads. Two receivers on one SQLite
// file (a second process writes without the journal) may each log a
// group that both received between two folds.
type journaled struct {
	s  *Store
	fj *fileJournal

	mu       sync.Mutex // guards the fields below, and fj's writes
	rec      []byte     // the last record written, its memory reused
	pending  *cspreport.Batch
	folding  map[string]bool // the groups of the batch a fold writes now
	unfolded []string        // journal files whose batches are in pending or folding
	known    map[string]bool // groups the database holds (a cache)
	foldErr  error           // the last fold's, until one succeeds
	folded   chan struct{}   // closed (and replaced) by each fold

	foldMu sync.Mutex // one fold at a time; guards closed
	closed bool

	// The folder: folds every FoldInterval, or when kicked.
	kick     chan struct{}
	quit     chan struct{}
	folder   sync.WaitGroup
	foldCtx  context.Context
	stopFold context.CancelFunc // ends the fold in progress when Close starts
}

// openJournaled takes the journal beside file, folds what it holds and
// starts the folder. When another process holds it, it returns nil: the
// store then writes each batch in its own transaction.
func openJournaled(ctx context.Context, s *Store, file string) (*journaled, error) {
	var syncLevel int
	if err := s.db.Writer().QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncLevel); err != nil {
		return nil, err
	}
	var folded int
	err := s.db.Writer().QueryRowContext(ctx, s.db.Q(selectJournalFolded)).Scan(&folded)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	fj, left, files, err := openFileJournal(file, syncLevel >= 2, folded)
	if err != nil || fj == nil {
		return nil, err
	}
	j := &journaled{
		s: s, fj: fj, pending: &cspreport.Batch{}, unfolded: files, known: map[string]bool{},
		folded: make(chan struct{}), kick: make(chan struct{}, 1), quit: make(chan struct{}),
	}
	for _, e := range left {
		b, err := decodeBatch(e)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("journal entry: %w", err), fj.close())
		}
		j.pending.Merge(b)
	}
	if err := j.fold(ctx); err != nil {
		return nil, errors.Join(err, fj.close())
	}
	j.foldCtx, j.stopFold = context.WithCancel(context.Background())
	j.folder.Go(j.foldLoop)
	return j, nil
}

// rowsOf is the number of rows a fold of b writes: what b holds grows
// with it.
func rowsOf(b *cspreport.Batch) int {
	return len(b.Groups) + len(b.Details) + len(b.Hours) + len(b.Clients) + len(b.Policies) +
		len(b.Counters) + len(b.Events) + len(b.Other)
}

// save appends b to the journal and merges it into pending. An empty
// batch is a probe: an empty record is written and the journal folded.
func (j *journaled) save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	probe := rowsOf(b) == 0
	j.mu.Lock()
	for j.foldErr == nil && rowsOf(j.pending) >= maxQueued {
		// The folds fall behind: wait for one (the handlers wait with
		// this commit, which slows the senders down), or for ctx.
		done := j.folded
		j.mu.Unlock()
		j.nudge()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrBehind, ctx.Err())
		}
		j.mu.Lock()
	}
	if j.foldErr != nil && !probe {
		// Fail closed: the receiver answers 503 until the database takes
		// the journal in again.
		err := j.foldErr
		j.mu.Unlock()
		j.nudge()
		return nil, fmt.Errorf("%w: %w", ErrBehind, err)
	}
	var header [recordHeader]byte
	rec := appendBatch(append(j.rec[:0], header[:]...), b)
	if cap(rec) <= maxKeptRecord {
		j.rec = rec
	}
	if err := j.fj.append(rec); err != nil {
		j.mu.Unlock()
		return nil, fmt.Errorf("cspreport/sqlstore: save: %w", err)
	}
	created := j.newGroups(ctx, j.pending.Merge(b))
	due := rowsOf(j.pending) >= foldQueued
	j.mu.Unlock()
	if probe {
		return nil, j.s.flush(ctx)
	}
	if due {
		j.nudge()
	}
	return created, nil
}

// newGroups returns the groups of fresh (new to pending) that neither the
// fold in progress nor the database holds. The caller holds mu. A group
// the database cannot be asked about is taken as new: logged twice at
// worst, never missed.
func (j *journaled) newGroups(ctx context.Context, fresh []string) []string {
	var ask []string
	for _, fp := range fresh {
		if !j.folding[fp] && !j.known[fp] {
			ask = append(ask, fp)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	found := map[string]bool{}
	for len(ask) > 0 {
		n := min(len(ask), maxRows)
		args := make([]any, n)
		for i, fp := range ask[:n] {
			args[i] = fp
		}
		q := `SELECT group_fp FROM bulwark_csp_group WHERE group_fp IN (?` + strings.Repeat(",?", n-1) + `)`
		rows, err := j.s.db.Reader().QueryContext(ctx, q, args...)
		if err == nil {
			for rows.Next() {
				var fp string
				if rows.Scan(&fp) == nil {
					found[fp] = true
				}
			}
			rows.Close()
		}
		ask = ask[n:]
	}
	var created []string
	for _, fp := range fresh {
		switch {
		case j.folding[fp] || j.known[fp]:
		case found[fp]:
			j.remember(fp)
		default:
			created = append(created, fp)
		}
	}
	return created
}

// remember notes that the database holds group fp. The caller holds mu.
func (j *journaled) remember(fp string) {
	if len(j.known) >= maxKnown {
		clear(j.known)
	}
	j.known[fp] = true
}

// forget empties the cache of groups the database holds (retention
// deleted some).
func (j *journaled) forget() {
	j.mu.Lock()
	clear(j.known)
	j.mu.Unlock()
}

func (j *journaled) nudge() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// foldLoop is the folder: it folds every FoldInterval or when kicked.
func (j *journaled) foldLoop() {
	t := time.NewTicker(FoldInterval)
	defer t.Stop()
	for {
		select {
		case <-j.quit:
			return
		case <-t.C:
		case <-j.kick:
		}
		ctx, cancel := context.WithTimeout(j.foldCtx, 30*time.Second)
		j.foldMu.Lock()
		// On failure the batches stay pending: the next fold, or a read,
		// tries again and reports it.
		j.fold(ctx)
		j.foldMu.Unlock()
		cancel()
	}
}

// flush folds now, for a read: every batch saved before it is then in
// the tables.
func (s *Store) flush(ctx context.Context) error {
	if s.j == nil {
		return nil
	}
	s.j.foldMu.Lock()
	defer s.j.foldMu.Unlock()
	if s.j.closed {
		return errClosed
	}
	return s.j.fold(ctx)
}

// fold writes pending into the database in one transaction, then removes
// the journal files that held it; on failure it stays pending, before
// what was saved meanwhile. The caller holds foldMu.
func (j *journaled) fold(ctx context.Context) error {
	j.mu.Lock()
	b := j.pending
	if rowsOf(b) == 0 && j.fj.size == 0 && len(j.unfolded) == 0 {
		j.foldErr = nil
		j.mu.Unlock()
		return nil
	}
	if j.fj.size > 0 {
		old := j.fj.f.Name()
		if err := j.fj.rotate(); err != nil {
			j.foldErr = err
			j.mu.Unlock()
			return fmt.Errorf("cspreport/sqlstore: journal: %w", err)
		}
		j.unfolded = append(j.unfolded, old)
	}
	files := j.unfolded
	j.pending, j.unfolded = &cspreport.Batch{}, nil
	j.folding = make(map[string]bool, len(b.Groups))
	for _, g := range b.Groups {
		j.folding[g.Fingerprint] = true
	}
	j.mu.Unlock()
	err := j.s.db.WithTx(ctx, func(tx *sql.Tx) error {
		if _, err := j.s.write(ctx, tx, b); err != nil {
			return err
		}
		// The files' numbers go in with their rows, so that a crash
		// before they are removed cannot fold them twice.
		last := 0
		for _, f := range files {
			last = max(last, j.fj.fileSeq(f))
		}
		if last > 0 {
			if _, err := tx.ExecContext(ctx, j.s.db.Q(upsertJournalFolded), last); err != nil {
				return err
			}
		}
		return nil
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	j.folding = nil
	j.foldErr = err
	close(j.folded)
	j.folded = make(chan struct{})
	if err != nil {
		// What was saved meanwhile merges after it.
		b.Merge(j.pending)
		j.pending = b
		j.unfolded = append(files, j.unfolded...)
		return fmt.Errorf("cspreport/sqlstore: fold the journal: %w", err)
	}
	for _, g := range b.Groups {
		j.remember(g.Fingerprint)
	}
	for _, f := range files {
		os.Remove(f)
	}
	return nil
}

// close stops the folder, folds what is left within CloseTimeout and
// releases the journal.
func (j *journaled) close() error {
	close(j.quit)
	j.stopFold()
	j.folder.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	j.foldMu.Lock()
	err := j.fold(ctx)
	j.closed = true
	j.foldMu.Unlock()
	if err == nil {
		os.Remove(j.fj.f.Name()) // empty: everything is folded
	}
	return errors.Join(err, j.fj.close())
}
