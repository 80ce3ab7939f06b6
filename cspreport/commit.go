package cspreport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
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
	at       time.Time // when the request arrived: its counters' hour
	reports  []Report
	counters []Counter
	events   []Event
	other    []OtherReport
	done     chan error // buffered: the committer never blocks on it
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan error, 1)} }}

// newJob returns an empty job for a request that arrived at now.
func newJob(now time.Time) *job {
	j := jobPool.Get().(*job)
	j.at = now
	return j
}

// release empties j, whose answer its handler has read, and keeps it for
// another request.
func (j *job) release() {
	if cap(j.reports) > 1024 {
		return // a rare large batch: not kept
	}
	j.reports, j.events, j.other = truncate(j.reports), truncate(j.events), truncate(j.other)
	j.counters = nil
	jobPool.Put(j)
}

// committer is the group commit: handlers queue jobs and wait; one
// goroutine takes the queued jobs (until they hold maxReports reports, or
// interval has passed since the first, or the queue is empty and no
// handler is between reading its body and queuing its job; with linger,
// it waits the whole interval for more), saves them as one batch,
// and then answers every waiting handler with the result. Jobs that
// arrive during a commit make the next one.
//
// Waiting for the handlers on their way (coming) makes commits larger
// without waiting for requests that are not there: on a busy machine a
// commit of 3 requests became one of 10 or more.
type committer struct {
	store      Store
	log        *seclog.Logger
	q          chan *job
	interval   time.Duration
	linger     bool // wait up to interval for more when the queue is empty
	maxReports int
	wait       time.Duration // how long a handler waits for its commit (CommitTimeout)
	now        func() time.Time
	health     storeHealth
	batch      Batch  // the commit's, reused (used by loop's goroutine only)
	stats      *stats // the receiver's counts

	// The context of Save, shared by the commits of a second (each
	// commit would otherwise cost a timer): every commit has at least
	// wait, at most a second more, so that a hung store holds the
	// committer no longer than its handlers wait. Used by loop's
	// goroutine only.
	saveCtx    context.Context
	saveCancel context.CancelFunc
	saveFrom   time.Time

	// coming counts the handlers that read a body and have not yet
	// queued their job (or given up: then they kick).
	coming atomic.Int64
	kick   chan struct{}

	// The current deadline of the handlers' waits (see deadline).
	wake   atomic.Pointer[wakeup]
	wakeMu sync.Mutex

	mu      sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

func newCommitter(s Store, log *seclog.Logger, queue int, interval time.Duration, linger bool, maxReports int, wait time.Duration, now func() time.Time) *committer {
	c := &committer{
		store: s, log: log, q: make(chan *job, queue), interval: interval, linger: linger,
		maxReports: maxReports, wait: wait, now: now, health: storeHealth{log: log},
		stop: make(chan struct{}), stopped: make(chan struct{}), kick: make(chan struct{}, 1),
	}
	go c.loop()
	return c
}

// arrive tells the committer that a job is on its way: a handler has
// read its body. The handler then calls submit, or leave if it has
// nothing to submit.
func (c *committer) arrive() { c.coming.Add(1) }

// leave takes back an arrive that will not be followed by submit.
func (c *committer) leave() {
	c.coming.Add(-1)
	c.nudge()
}

// nudge wakes a committer that waits for the handlers on their way.
func (c *committer) nudge() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// submit queues j and waits for its commit, at most c.wait and a tenth
// (ErrCommitTimeout); the handler must have called arrive. It never
// blocks on a full queue: that is ErrOverloaded.
func (c *committer) submit(ctx context.Context, j *job) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		c.leave()
		return ErrClosed
	}
	// No longer on its way before it is queued: the committer may commit
	// without it, never wait for it in vain.
	c.coming.Add(-1)
	select {
	case c.q <- j:
	default:
		c.mu.RUnlock()
		c.nudge() // it waited for this job in vain
		return ErrOverloaded
	}
	c.mu.RUnlock()
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		// The client is gone; the commit goes on without it.
		return ctx.Err()
	case <-c.deadline():
		// The store is slow or hung: answer now, well before the
		// server's write deadline; the commit goes on without it.
		return ErrCommitTimeout
	}
}

// wakeup is a deadline shared by the handlers that start waiting within
// a tenth of the wait: a timer per request cost 3 allocations and ~10 %
// of the handler's time (BenchmarkReceiver/legacy).
type wakeup struct {
	at time.Time
	ch chan struct{} // closed at at
}

// deadline returns a channel closed between c.wait and c.wait*1.1 from
// now.
func (c *committer) deadline() <-chan struct{} {
	now := time.Now()
	if w := c.wake.Load(); w != nil && w.at.Sub(now) >= c.wait {
		return w.ch
	}
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	if w := c.wake.Load(); w != nil && w.at.Sub(now) >= c.wait {
		return w.ch
	}
	w := &wakeup{at: now.Add(c.wait + c.wait/10), ch: make(chan struct{})}
	time.AfterFunc(w.at.Sub(now), func() { close(w.ch) })
	c.wake.Store(w)
	return w.ch
}

// isClosed reports whether close was called.
func (c *committer) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.closed
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
	defer func() {
		if c.saveCancel != nil {
			c.saveCancel()
		}
	}()
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
			// The queue is empty: commit now, unless a handler is on its
			// way (or linger) and the interval allows a wait.
			if !c.linger && c.coming.Load() <= 0 {
				break gather
			}
			select {
			case j := <-c.q:
				batch = append(batch, j)
				n += len(j.reports) + 1
			case <-c.kick:
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
	b := &c.batch
	b.reset()
	reports := 0
	for _, j := range jobs {
		for i := range j.reports {
			b.Add(&j.reports[i])
		}
		for _, k := range j.counters {
			b.Count(j.at, k.Kind, k.Name, k.Count)
		}
		b.Events = append(b.Events, j.events...)
		b.Other = append(b.Other, j.other...)
		reports += len(j.reports)
	}
	at := c.now()
	if err := c.health.refuse(at); err != nil {
		c.health.record(at, err, reports, len(jobs), false)
		for _, j := range jobs {
			j.done <- err
		}
		return
	}
	start := time.Now()
	created, err := c.store.Save(c.context(), b)
	c.stats.saved(reports, time.Since(start), err)
	c.health.record(c.now(), err, reports, len(jobs), true)
	if err == nil && len(created) > 0 {
		c.stats.newGroups.Add(uint64(len(created)))
		logNew(c.log, b, created)
	}
	for _, j := range jobs {
		j.done <- err
	}
}

// context returns the context of the next Save: one that ends wait
// after the commit, or up to a second later.
func (c *committer) context() context.Context {
	now := time.Now()
	if c.saveCtx == nil || now.Sub(c.saveFrom) >= time.Second {
		if c.saveCancel != nil {
			c.saveCancel()
		}
		c.saveFrom = now
		c.saveCtx, c.saveCancel = context.WithTimeout(context.Background(), c.wait+time.Second)
	}
	return c.saveCtx
}

// logNew logs one security event for each group of b that the store
// did not hold, with the example of its first report in b: its first
// detail and client.
func logNew(log *seclog.Logger, b *Batch, created []string) {
	x := b.index()
	for _, fp := range created {
		i, ok := x.groups[fp]
		if !ok {
			continue
		}
		g := &b.Groups[i]
		var d Detail
		for k := range b.Details {
			if b.Details[k].GroupFP == fp {
				d = b.Details[k]
				break
			}
		}
		var client string
		for _, c := range b.Clients {
			if c.Group == fp {
				client = c.Client
				break
			}
		}
		log.Log(nil, seclog.CSPReportViolation,
			zap.String("group", fp),
			seclog.String("directive", g.Directive),
			zap.String("disposition", g.Disposition),
			seclog.String("blocked", g.ExampleBlocked),
			seclog.String("document", d.ExampleDocument),
			seclog.String("source", g.ExampleSource),
			zap.String("client_prefix", client),
			seclog.String("policy_version", d.PolicyVersion),
			seclog.String("user_agent", d.ExampleUA),
		)
	}
}
