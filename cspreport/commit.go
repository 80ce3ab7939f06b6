package cspreport

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// Errors of the write path. The handler answers both with 503 and
// Retry-After.
var (
	// ErrOverloaded: the write queue is full; the reports were not accepted.
	ErrOverloaded = errors.New("cspreport: write queue full")
	// ErrClosed: the receiver is closed.
	ErrClosed = errors.New("cspreport: receiver closed")
)

// job is one request's share of a group commit.
type job struct {
	reports  []Report
	counters []Counter
	done     chan error // buffered: the committer never blocks on it
}

// committer is the group commit: handlers queue jobs and wait; one
// goroutine takes the queued jobs (until the queue is empty, they hold
// maxReports reports, or interval has passed; with linger, it waits the
// interval for more), writes them in one transaction, and then answers
// every waiting handler with the result. Jobs that arrive during a commit
// make the next one.
type committer struct {
	store      Store
	log        *seclog.Logger
	q          chan *job
	interval   time.Duration
	linger     bool // wait up to interval for more when the queue is empty
	maxReports int
	timeout    time.Duration
	now        func() time.Time

	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

func newCommitter(s Store, log *seclog.Logger, queue int, interval time.Duration, linger bool, maxReports int, now func() time.Time) *committer {
	c := &committer{
		store: s, log: log, q: make(chan *job, queue), interval: interval, linger: linger,
		maxReports: maxReports, timeout: 30 * time.Second, now: now,
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	go c.loop()
	return c
}

// submit queues j and waits for its commit. It never blocks on a full
// queue: that is ErrOverloaded.
func (c *committer) submit(ctx context.Context, j *job) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.q <- j:
	default:
		c.mu.RUnlock()
		return ErrOverloaded
	}
	c.mu.RUnlock()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		// The client is gone; the commit goes on without it.
		return ctx.Err()
	}
}

// close refuses new jobs, commits every queued one and waits for the
// last commit, or for ctx.
func (c *committer) close(ctx context.Context) error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	select {
	case <-c.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *committer) loop() {
	defer close(c.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch []*job
	for {
		var first *job
		select {
		case first = <-c.q:
		case <-c.stop:
			c.drain()
			return
		}
		batch = append(batch[:0], first)
		n := len(first.reports) + 1
		timer.Reset(c.interval)
		stopping := false
	gather:
		for n < c.maxReports {
			select {
			case j := <-c.q:
				batch = append(batch, j)
				n += len(j.reports) + 1
				continue
			case <-c.stop:
				stopping = true
				break gather
			default:
			}
			// The queue is empty: commit now, unless more is on its way
			// (handlers that just woke up) and the interval allows a wait.
			if !c.linger {
				break gather
			}
			select {
			case j := <-c.q:
				batch = append(batch, j)
				n += len(j.reports) + 1
			case <-timer.C:
				break gather
			case <-c.stop:
				stopping = true
				break gather
			}
		}
		timer.Stop()
		c.commit(batch)
		clear(batch)
		if stopping {
			c.drain()
			return
		}
	}
}

// drain commits what is left in the queue once closed (no job can be
// added any more).
func (c *committer) drain() {
	for {
		var batch []*job
		n := 0
	take:
		for n < c.maxReports {
			select {
			case j := <-c.q:
				batch = append(batch, j)
				n += len(j.reports) + 1
			default:
				break take
			}
		}
		if len(batch) == 0 {
			return
		}
		c.commit(batch)
	}
}

func (c *committer) commit(jobs []*job) {
	b := &Batch{At: c.now()}
	sums := map[[2]string]int64{}
	for _, j := range jobs {
		b.Reports = append(b.Reports, j.reports...)
		for _, k := range j.counters {
			sums[[2]string{k.Kind, k.Name}] += k.Count
		}
	}
	b.Counters = SortCounters(sums)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	created, err := c.store.Save(ctx, b)
	cancel()
	if err != nil {
		c.log.Log(nil, seclog.CSPReportStoreError, seclog.String("error", err.Error()),
			zap.Int("reports", len(b.Reports)), zap.Int("requests", len(jobs)))
	} else if len(created) > 0 {
		c.logNew(b, created)
	}
	for _, j := range jobs {
		j.done <- err
	}
}

func (c *committer) logNew(b *Batch, created []string) {
	want := make(map[string]bool, len(created))
	for _, g := range created {
		want[g] = true
	}
	for i := range b.Reports {
		r := &b.Reports[i]
		if !want[r.GroupFP] {
			continue
		}
		delete(want, r.GroupFP)
		c.log.Log(nil, seclog.CSPReportViolation,
			zap.String("group", r.GroupFP),
			seclog.String("directive", r.Directive),
			zap.String("disposition", r.Disposition),
			seclog.String("blocked", r.Blocked),
			seclog.String("document", r.DocumentURL),
			seclog.String("source", exampleSource(r)),
			zap.String("client_prefix", r.ClientPrefix),
			seclog.String("policy_version", r.PolicyVersion),
			seclog.String("user_agent", r.UserAgent),
		)
	}
}
