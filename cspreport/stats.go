package cspreport

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what a [Receiver] has counted since it was made,
// for metrics: what happened to the requests and to the reports they
// carried, how the group commits went, and how the store is doing now.
// [Receiver.Stats] takes it; cspreport/metrics exports it to Prometheus,
// and any other metrics system can read it the same way (this package
// links no metrics library).
//
// The counts only grow. Reports are counted once their request is
// answered 204: a request refused with 503 is sent again by the browser,
// and its reports are counted then, not twice. The counting costs a few
// atomic additions per request and allocates nothing.
type Stats struct {
	// Accepted counts the requests answered 204 once their reports were
	// committed (CORS preflights are not counted).
	Accepted uint64
	// Refused counts the requests refused, by status and reason. Every
	// refusal the receiver makes is listed, with 0 until it happens, so
	// that rates over it start at once:
	//
	//	400 read, depth, json, shape    the body could not be read or decoded
	//	405 method                      a method other than POST or OPTIONS
	//	413 body-size, items            more than MaxBodyBytes, or MaxItems reports
	//	415 content-encoding, content-type
	//	429 rate-limit                  the client's prefix is over its RateLimit
	//	503 queue-full                  QueueSize requests already wait for a commit
	//	503 commit-timeout              the commit took longer than CommitTimeout
	//	503 store-error                 the store failed, or fails and is backed off
	//	503 closed                      the receiver is closed (shutting down)
	//	503 client-gone                 the client hung up while its commit waited
	//
	// A client that hung up reads no answer: client-gone is counted so
	// that every request has one outcome, not as the receiver's failure.
	Refused map[Refusal]uint64

	// Stored counts the violation reports committed to the store.
	Stored uint64
	// Filtered counts the violation reports a noise filter dropped, by
	// the filter's reason (as [Store.Counters] lists them under
	// [KindFiltered]: "scheme:chrome-extension", "host:superfish.com",
	// "sample:lastpass", "document:not-http", "document:host",
	// "custom:…"); reasons with none are left out. The reasons come from
	// the configuration, never from the reports, except those of
	// [Filters.Custom]: at most 32 of its results are told apart, the
	// others are counted as "custom:other".
	Filtered map[string]uint64
	// Other counts the Reporting API reports of other types, by type
	// ("deprecation", "intervention" …, or "unknown" for a type the
	// receiver does not know); types with none are left out.
	Other map[string]uint64
	// Invalid counts the items of batches that could not be read as
	// reports (each is skipped; the rest of its batch is kept).
	Invalid uint64
	// NewGroups counts the report groups created: the violations never
	// seen before, counted (and logged as a cspreport.violation security
	// event) when the commit that creates them is saved.
	NewGroups uint64

	// CommitSize is the distribution of the violation reports per commit
	// (each Save of the group commit), in the buckets 1, 2, 4, 8 … 1024.
	CommitSize Histogram
	// CommitLatency is the distribution of Save's duration in seconds,
	// failed Saves included, in the buckets 0.0005, 0.001, 0.0025,
	// 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 and 10 (a
	// Save gets at most CommitTimeout and a second).
	CommitLatency Histogram
	// StoreErrors counts the commits whose Save failed. While the store
	// fails, commits within the back-off are refused without trying it
	// and are not counted here (their requests are: 503 store-error).
	StoreErrors uint64
	// StoreFailing is whether the store fails now: its last commit or
	// probe failed (see [Receiver.Check]).
	StoreFailing bool
	// QueueDepth is how many requests wait for a commit now, of at most
	// QueueSize (see [Config.QueueSize]); when it is full, requests are
	// refused with 503 queue-full.
	QueueDepth, QueueSize int
}

// A Refusal is why a request was refused: the status it was answered
// with and a reason of a fixed set (see [Stats.Refused]).
type Refusal struct {
	// Status is the HTTP status of the answer: 400, 405, 413, 415, 429
	// or 503.
	Status int
	// Reason says why, in a word of the set [Stats.Refused] lists
	// ("content-type", "queue-full" …).
	Reason string
}

// RefusedWith returns the requests refused with status, whatever the
// reason.
func (s Stats) RefusedWith(status int) uint64 {
	var n uint64
	for k, v := range s.Refused {
		if k.Status == status {
			n += v
		}
	}
	return n
}

// A Histogram is a distribution of observations in fixed buckets,
// cumulative as Prometheus keeps them.
//
// It is read while commits go on: Sum may miss the last observation that
// Count holds.
type Histogram struct {
	// Count is the number of observations.
	Count uint64
	// Sum is the sum of the observations.
	Sum float64
	// Buckets are the observations at most each upper bound, in
	// increasing order of bounds; the last bucket, +Inf, is Count.
	Buckets []Bucket
}

// A Bucket is the count of observations at most UpperBound.
type Bucket struct {
	// UpperBound is the bucket's inclusive upper bound (Prometheus' le).
	UpperBound float64
	// Count is the observations at most UpperBound, those of the
	// buckets below included.
	Count uint64
}

// The fixed buckets of [Stats.CommitSize] and [Stats.CommitLatency].
var (
	commitSizeBounds    = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}
	commitLatencyBounds = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
)

// refusals are every refusal the receiver makes (see [Stats.Refused]).
var refusals = []Refusal{
	{400, "read"}, {400, "depth"}, {400, "json"}, {400, "shape"},
	{405, "method"},
	{413, "body-size"}, {413, "items"},
	{415, "content-encoding"}, {415, "content-type"},
	{429, "rate-limit"},
	{503, "queue-full"}, {503, "commit-timeout"}, {503, "store-error"}, {503, "closed"}, {503, "client-gone"},
}

// stats are the receiver's counts. Every count is an atomic, found
// through maps made once by newStats and only read afterwards: the
// handlers count without a lock and without allocating.
type stats struct {
	accepted, stored, invalid, newGroups, storeErrors atomic.Uint64

	refused  counterSet[Refusal]
	filtered counterSet[string]
	other    counterSet[string]

	commitSize, commitLatency histogram
}

// maxExtraKeys bounds the keys a counterSet learns after construction
// (the results of Filters.Custom).
const maxExtraKeys = 32

// newStats makes the counts of a receiver with the filters f.
func newStats(f *filters) *stats {
	s := &stats{}
	s.refused.init(refusals, Refusal{Reason: "other"})
	s.filtered.init(f.reasons(), "custom:other")
	s.other.init(append(slices.Collect(maps.Keys(knownTypes)), "unknown"), "unknown")
	s.commitSize.init(commitSizeBounds, 1)
	s.commitLatency.init(commitLatencyBounds, 1e-9)
	return s
}

// reasons are every reason match can return, but Custom's.
func (c *filters) reasons() []string {
	out := []string{"document:not-http", "document:host"}
	for _, r := range c.schemes {
		out = append(out, r)
	}
	for _, r := range c.hosts {
		out = append(out, r)
	}
	for _, s := range c.samples {
		out = append(out, "sample:"+s.name)
	}
	return out
}

// accept counts a request answered 204 and what its job carried.
func (s *stats) accept(j *job) {
	s.accepted.Add(1)
	s.stored.Add(uint64(len(j.reports)))
	for _, k := range j.counters {
		switch k.Kind {
		case KindFiltered:
			s.filtered.add(k.Name, uint64(k.Count))
		case KindOther:
			s.other.add(k.Name, uint64(k.Count))
		case KindInvalid:
			s.invalid.Add(uint64(k.Count))
		}
	}
}

// refuse counts a request refused with status for reason (one of
// refusals).
func (s *stats) refuse(status int, reason string) {
	s.refused.add(Refusal{status, reason}, 1)
}

// saved counts a Save of reports reports that took d and returned err.
func (s *stats) saved(reports int, d time.Duration, err error) {
	s.commitSize.observe(float64(reports), uint64(reports))
	s.commitLatency.observe(d.Seconds(), uint64(max(d, 0)))
	if err != nil {
		s.storeErrors.Add(1)
	}
}

// Stats returns what the receiver has counted since it was made, and the
// state of its queue and store now (see [Stats]).
func (rc *Receiver) Stats() Stats {
	s := rc.stats
	return Stats{
		Accepted:      s.accepted.Load(),
		Refused:       s.refused.snapshot(true),
		Stored:        s.stored.Load(),
		Filtered:      s.filtered.snapshot(false),
		Other:         s.other.snapshot(false),
		Invalid:       s.invalid.Load(),
		NewGroups:     s.newGroups.Load(),
		CommitSize:    s.commitSize.snapshot(),
		CommitLatency: s.commitLatency.snapshot(),
		StoreErrors:   s.storeErrors.Load(),
		StoreFailing:  rc.commit.health.failing() != nil,
		QueueDepth:    len(rc.commit.q),
		QueueSize:     cap(rc.commit.q),
	}
}

// counterSet counts by key: the keys known at construction without a
// lock; at most maxExtraKeys others under one, and the rest as overflow.
type counterSet[K comparable] struct {
	known    map[K]*atomic.Uint64 // only read after construction
	overflow K

	mu    sync.Mutex
	extra map[K]uint64
}

// init makes s count keys, and any other key up to maxExtraKeys, then as
// overflow.
func (s *counterSet[K]) init(keys []K, overflow K) {
	s.known, s.overflow = make(map[K]*atomic.Uint64, len(keys)), overflow
	for _, k := range keys {
		s.known[k] = new(atomic.Uint64)
	}
}

func (s *counterSet[K]) add(k K, n uint64) {
	if c, ok := s.known[k]; ok {
		c.Add(n)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.extra[k]; !ok && len(s.extra) >= maxExtraKeys {
		k = s.overflow
	}
	if s.extra == nil {
		s.extra = map[K]uint64{}
	}
	s.extra[k] += n
}

// snapshot returns the counts; the known keys with none too if zeros.
func (s *counterSet[K]) snapshot(zeros bool) map[K]uint64 {
	out := make(map[K]uint64, len(s.known))
	for k, c := range s.known {
		if n := c.Load(); n > 0 || zeros {
			out[k] = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range s.extra {
		out[k] += n
	}
	return out
}

// histogram counts observations in fixed buckets, with atomics: one
// writer (the committer) and any number of readers.
type histogram struct {
	bounds []float64       // upper bounds, increasing
	counts []atomic.Uint64 // per bucket, not cumulative; the last is past every bound
	sum    atomic.Uint64   // in units
	unit   float64         // what one unit of sum is worth
}

func (h *histogram) init(bounds []float64, unit float64) {
	h.bounds, h.counts, h.unit = bounds, make([]atomic.Uint64, len(bounds)+1), unit
}

// observe counts v, which is units units of the sum.
func (h *histogram) observe(v float64, units uint64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(units)
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Buckets: make([]Bucket, len(h.bounds))}
	var n uint64
	for i, b := range h.bounds {
		n += h.counts[i].Load()
		out.Buckets[i] = Bucket{UpperBound: b, Count: n}
	}
	out.Count = n + h.counts[len(h.bounds)].Load()
	out.Sum = float64(h.sum.Load()) * h.unit
	return out
}
