package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
	"github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/internal/sqlstore/sqlstoretest"
	"github.com/bulwark-go/bulwark/sqldb"
)

var tables = []string{"bulwark_csp_group_client", "bulwark_csp_group_browser", "bulwark_csp_event", "bulwark_csp_other_report", "bulwark_csp_group", "bulwark_csp_detail", "bulwark_csp_group_hour", "bulwark_csp_counter", "bulwark_csp_policy"}

func TestStore(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		storetest.Run(t, func(t *testing.T) cspreport.Store {
			s, err := sqlstore.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			for _, tb := range tables {
				if _, err := db.Writer().ExecContext(t.Context(), `DELETE FROM `+tb); err != nil {
					t.Fatal(err)
				}
			}
			// Closed when the subtest ends, so that the next one's store
			// takes the file journal on SQLite.
			c := &closeOnce{Store: s}
			t.Cleanup(func() {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			})
			return c
		})
	})
}

// closeOnce is a store that may be closed by a test and by its cleanup.
type closeOnce struct {
	*sqlstore.Store
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.Store.Close() })
	return c.err
}

// TestTwoInstances: two stores on one database (two collectors) give the
// same counts as one, and each group is new exactly once on PostgreSQL;
// on one SQLite file (the second store writes without the journal), each
// group is new at least once and at most once per store.
func TestTwoInstances(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, dsn string, maxCreated int) {
		a, err := openStore(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		b, err := openStore(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		done := make(chan int, 2)
		for _, s := range []*sqlstore.Store{a, b} {
			go func() {
				created := 0
				for i := range 50 {
					c, err := s.Save(ctx, storetest.Batch(storetest.Rep(1, i%3, storetest.T0), storetest.Rep(2, 1, storetest.T0.Add(time.Duration(i)*time.Second))))
					if err != nil {
						t.Error(err)
					}
					created += len(c)
				}
				done <- created
			}()
		}
		created := <-done + <-done
		gs, err := a.Groups(ctx, cspreport.GroupQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 2 || gs[0].Total != 100 || gs[1].Total != 100 || created < 2 || created > maxCreated {
			t.Fatalf("groups %+v, created %d; want 2 groups of 100 created 2 to %d times", gs, created, maxCreated)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, sqlstoretest.SQLiteDSN(t), 4) })
	t.Run("postgres", func(t *testing.T) { run(t, sqlstoretest.PostgresDSN(t), 2) })
}

// TestNewOnceAcrossFolds: a group is new in one Save only, whether the
// store holds it in the database, in the batches waiting for a fold, or
// in a fold in progress; reads (which fold first) come in between, and a
// second process reads the same database (bulwark reports).
func TestNewOnceAcrossFolds(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, dsn string) {
		collector, err := openStore(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer collector.Close()
		reader, err := openStore(t, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		const n = 20
		var told newGroups
		var wg sync.WaitGroup
		wg.Go(func() { // folds while the saves go on
			for range n {
				if _, err := collector.Groups(ctx, cspreport.GroupQuery{}); err != nil {
					t.Error(err)
				}
			}
		})
		for i := range 3 * n {
			created, err := collector.Save(ctx, storetest.Batch(storetest.Rep(i%n, i, storetest.T0)))
			if err != nil {
				t.Fatal(err)
			}
			told.add(created)
			if i%7 == 0 {
				if _, err := reader.Groups(ctx, cspreport.GroupQuery{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		wg.Wait()
		if got := told.count(); got != n {
			t.Fatalf("%d new groups, want %d (-1: one new twice)", got, n)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, sqlstoretest.SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { run(t, sqlstoretest.PostgresDSN(t)) })
}

func TestDatabaseDown(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		s, err := sqlstore.New(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		b := storetest.Batch(storetest.Rep(1, 1, storetest.T0))
		if _, err := s.Save(t.Context(), b); err == nil {
			// On an SQLite file, Save appends to the file journal, which
			// is durable; the fold then fails, and so does every Save.
			if err := sqlstore.Flush(t.Context(), s); err == nil {
				t.Error("Flush on a closed database: nil error")
			}
			if _, err := s.Save(t.Context(), b); !errors.Is(err, sqlstore.ErrBehind) {
				t.Errorf("Save after a failed fold: %v, want ErrBehind", err)
			}
		}
		if _, err := s.Groups(t.Context(), cspreport.GroupQuery{}); err == nil {
			t.Error("Groups on a closed database: nil error")
		}
	})
}

// TestNew: the constructor every SQL store has (see sqlstoretest.CheckNew).
func TestNew(t *testing.T) {
	sqlstoretest.CheckNew(t, sqlstore.Component, sqlstore.New, func(t *testing.T, s *sqlstore.Store) {
		b := storetest.Batch(storetest.Rep(1, 1, storetest.T0))
		if _, err := s.Save(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	})
}

// openStore makes a store on a database handle of its own on dsn, as
// another process would have; the handle is closed when the test ends,
// after the store (which the test closes, or crashes).
func openStore(t testing.TB, dsn string) (*sqlstore.Store, error) {
	t.Helper()
	return sqlstore.New(context.Background(), sqlstoretest.Open(t, dsn))
}

// TestLargeBatch: a batch larger than one multi-row statement (chunks of
// at most 64 rows, in powers of two), with repeated keys, is counted
// exactly and reports each new group once; a second save of the same
// batch adds to the counts and creates nothing.
func TestLargeBatch(t *testing.T) {
	sqlstoretest.ForEachDialect(t, func(t *testing.T, db *sqldb.DB) {
		s, err := sqlstore.New(t.Context(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, tb := range tables {
			if _, err := db.Writer().ExecContext(t.Context(), `DELETE FROM `+tb); err != nil {
				t.Fatal(err)
			}
		}
		b := &cspreport.Batch{}
		for k := range 301 { // 101 groups (0…100), 151 details
			r := storetest.Rep(k%101, k%151, storetest.T0.Add(time.Duration(k)*time.Second))
			b.Add(&r)
		}
		for i := range 70 {
			b.Count(storetest.T0, cspreport.KindFiltered, fmt.Sprintf("r%d", i), 2)
		}
		for round := 1; round <= 2; round++ {
			created, err := storetest.Save(t.Context(), s, b)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[int]int{1: 101, 2: 0}[round]; len(created) != want {
				t.Fatalf("round %d: %d new groups, want %d", round, len(created), want)
			}
			gs, err := s.Groups(t.Context(), cspreport.GroupQuery{Since: storetest.T0.Add(-time.Hour), Limit: 1000, Muted: true})
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, g := range gs {
				total += g.Total
			}
			if len(gs) != 101 || total != int64(301*round) {
				t.Fatalf("round %d: %d groups, %d reports; want 101, %d", round, len(gs), total, 301*round)
			}
			cs, err := s.Counters(t.Context(), storetest.T0.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 70 || cs[0].Count != int64(2*round) {
				t.Fatalf("round %d: counters %v", round, cs)
			}
		}
	})
}

// TestJournalSurvivesCrash: batches saved (committed to the journal, not
// yet folded) by a store that is never closed, as after kill -9, are
// folded by the next store opened on the database, once each; each group
// is new once across the two processes.
func TestJournalSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	dsn := sqlstoretest.SQLiteDSN(t)
	crashed, err := openStore(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var told newGroups
	for i := range 100 {
		created, err := crashed.Save(ctx, storetest.Batch(storetest.Rep(i%7, i, storetest.T0)))
		if err != nil {
			t.Fatal(err)
		}
		told.add(created)
	}
	// crashed is never closed: its memory is lost, its journal's lock
	// released as the kernel does when a process dies.
	sqlstore.Crash(crashed)
	next, err := openStore(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	gs, err := next.Groups(ctx, cspreport.GroupQuery{Limit: 100, Muted: true})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, g := range gs {
		total += g.Total
	}
	if len(gs) != 7 || total != 100 {
		t.Fatalf("%d groups, %d reports after the restart; want 7, 100", len(gs), total)
	}
	created, err := next.Save(ctx, storetest.Batch(storetest.Rep(3, 1, storetest.T0)))
	if err != nil {
		t.Fatal(err)
	}
	told.add(created)
	if n := told.count(); n != 7 {
		t.Fatalf("%d new groups told across the crash, want 7", n)
	}
}

// newGroups counts the new groups a store tells of, by fingerprint.
type newGroups struct {
	mu sync.Mutex
	n  map[string]int
}

func (g *newGroups) add(fps []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == nil {
		g.n = map[string]int{}
	}
	for _, fp := range fps {
		g.n[fp]++
	}
}

// count is the number of groups told, each told once (else -1).
func (g *newGroups) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range g.n {
		if k != 1 {
			return -1
		}
	}
	return len(g.n)
}

// TestJournalFoldedOnce: a crash between a fold's commit and the removal
// of the journal files it folded leaves those files behind; the next store
// opened on the database must not fold them again.
func TestJournalFoldedOnce(t *testing.T) {
	ctx := context.Background()
	dsn := sqlstoretest.SQLiteDSN(t)
	journal := strings.TrimPrefix(dsn, "sqlite:") + ".csp-journal."
	total := func(s *sqlstore.Store) int64 {
		t.Helper()
		gs, err := s.Groups(ctx, cspreport.GroupQuery{Limit: 100, Muted: true})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, g := range gs {
			n += g.Total
		}
		return n
	}
	// Keep a copy of the journal files as they are before the fold.
	saved := map[string][]byte{}
	first, err := openStore(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for i := range 10 {
			if _, err := first.Save(ctx, storetest.Batch(storetest.Rep(i%3, i, storetest.T0))); err != nil {
				t.Fatal(err)
			}
		}
		files, _ := filepath.Glob(journal + "*")
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
				saved[f] = b
			}
		}
		if n := total(first); n != int64(10*(round+1)) { // folds, then removes the files
			t.Fatalf("round %d: %d reports, want %d", round, n, 10*(round+1))
		}
	}
	if len(saved) == 0 {
		t.Fatal("no journal file was written")
	}
	// The crash: the files come back as if never removed.
	sqlstore.Crash(first)
	for f, b := range saved {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	next, err := openStore(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if n := total(next); n != 30 {
		t.Fatalf("after the restart: %d reports, want 30 (folded files folded again)", n)
	}
	for f := range saved {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s: still there after the restart (%v)", f, err)
		}
	}
	// New batches after the restart are journaled and folded as usual.
	if _, err := next.Save(ctx, storetest.Batch(storetest.Rep(0, 99, storetest.T0))); err != nil {
		t.Fatal(err)
	}
	if n := total(next); n != 31 {
		t.Fatalf("after one more report: %d, want 31", n)
	}
}

// TestFoldRetried: a fold that fails (another process holds the write
// lock) keeps the rows it took, Save fails closed meanwhile, and the
// next fold writes them once; each group is new once.
func TestFoldRetried(t *testing.T) {
	ctx := context.Background()
	dsn := sqlstoretest.SQLiteDSN(t) + "?_busy_timeout=50"
	s, err := openStore(t, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var told newGroups
	save := func(n int) {
		t.Helper()
		for i := range n {
			b := storetest.Batch(storetest.Rep(i%4, i%6, storetest.T0))
			created, err := s.Save(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			told.add(created)
		}
	}
	total := func() (groups int, n int64) {
		t.Helper()
		gs, err := s.Groups(ctx, cspreport.GroupQuery{Limit: 100, Muted: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			n += g.Total
		}
		return len(gs), n
	}
	save(20)
	other := sqlstoretest.Open(t, dsn)
	lock, err := other.Writer().BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Flush(ctx, s); err == nil {
		t.Fatal("Flush while another process holds the write lock: nil error")
	}
	b := storetest.Batch(storetest.Rep(9, 9, storetest.T0))
	if _, err := s.Save(ctx, b); !errors.Is(err, sqlstore.ErrBehind) {
		t.Fatalf("Save after a failed fold: %v, want ErrBehind", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Flush(ctx, s); err != nil {
		t.Fatal(err)
	}
	if n := told.count(); n != 4 {
		t.Fatalf("%d new groups told after the retry, want 4 (-1: one told twice)", n)
	}
	if g, n := total(); g != 4 || n != 20 {
		t.Fatalf("%d groups, %d reports after the retry; want 4, 20", g, n)
	}
	save(5)
	if err := sqlstore.Flush(ctx, s); err != nil || told.count() != 4 {
		t.Fatalf("Flush: %d new groups told in all, %v; want 4, nil", told.count(), err)
	}
	if g, n := total(); g != 4 || n != 25 {
		t.Fatalf("%d groups, %d reports; want 4, 25", g, n)
	}
}
