package cspreport

import (
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"time"
)

// RateLimit bounds the reports a client (an address prefix: /24 in IPv4,
// /64 in IPv6, as seclog's trusted-proxy setting decides the address) may
// send: a token bucket per client, one token per report. Every request
// (but a CORS preflight) costs a token before its body is read, refused
// ones included, and a batch then costs one more per report after the
// first: a client over its rate is answered 429 with Retry-After before
// anything else is done with its request. The zero value means the
// defaults.
type RateLimit struct {
	// Disabled turns rate limiting off (load tests, or a receiver behind a
	// proxy that limits already).
	Disabled bool
	// PerSecond is the sustained rate, in reports per second per client
	// (default 20).
	PerSecond float64
	// Burst is the bucket's size, in reports (default 200: two full
	// Reporting API batches).
	Burst int
	// MaxClients bounds the table of buckets (default 65536): when it is
	// full, idle buckets are dropped, then arbitrary ones, so memory stays
	// bounded whatever the number of clients.
	MaxClients int
}

const limiterShards = 16

type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds
}

type limiter struct {
	rate     float64 // tokens per nanosecond
	perSec   float64
	burst    float64
	perShard int
	seed     maphash.Seed
	shards   [limiterShards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[netip.Prefix]*bucket
}

func newLimiter(c RateLimit) *limiter {
	l := &limiter{
		perSec:   c.PerSecond,
		rate:     c.PerSecond / 1e9,
		burst:    float64(c.Burst),
		perShard: max(1, c.MaxClients/limiterShards),
		seed:     maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].m = make(map[netip.Prefix]*bucket)
	}
	return l
}

func (l *limiter) shard(key netip.Prefix) *shard {
	a := key.Addr().As16()
	return &l.shards[maphash.Bytes(l.seed, a[:])%limiterShards]
}

// take charges n tokens (at least 1; at most the burst, so that a batch
// larger than the burst can pass a full bucket) to key. When the bucket
// holds fewer, it charges nothing and returns how long until it would
// hold enough.
func (l *limiter) take(key netip.Prefix, n int, now time.Time) (ok bool, wait time.Duration) {
	need := min(float64(max(n, 1)), l.burst)
	t := now.UnixNano()
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.m[key]
	if b == nil {
		if len(s.m) >= l.perShard {
			l.evict(s, t)
		}
		b = &bucket{tokens: l.burst, last: t}
		s.m[key] = b
	}
	if dt := t - b.last; dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(dt)*l.rate)
		b.last = t
	}
	if b.tokens < need {
		secs := (need - b.tokens) / l.perSec
		return false, time.Duration(math.Ceil(secs)) * time.Second
	}
	b.tokens -= need
	return true, 0
}

// evict makes room in a full shard: buckets that have refilled (they
// hold nothing a new bucket would not) go first; if none has, an eighth of
// the shard goes, chosen by map order, so that the cost stays amortised.
func (l *limiter) evict(s *shard, now int64) {
	full := int64(l.burst / l.rate)
	for k, b := range s.m {
		if now-b.last >= full {
			delete(s.m, k)
		}
	}
	if len(s.m) < l.perShard {
		return
	}
	drop := max(1, l.perShard/8)
	for k := range s.m {
		delete(s.m, k)
		if drop--; drop == 0 {
			break
		}
	}
}

// size is the number of buckets held (tests).
func (l *limiter) size() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].m)
		l.shards[i].mu.Unlock()
	}
	return n
}
