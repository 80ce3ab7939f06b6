// Package redisstore is a [throttle.Store] on Redis, for a site with more
// than one instance: every instance counts on the same counters.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	th, err := throttle.New(throttle.Config{Store: redisstore.New(rdb, ""), Logger: sec})
//
// A counter is a hash (attempts, last attempt, forget time) that expires
// when it is forgotten. Take is one Lua script, so it is atomic across
// instances. All keys of one Take must live on one node: use a single
// Redis (or a primary with replicas), not Redis Cluster.
//
// Times are the application's clock (throttle.Config.Now), in
// milliseconds; the instances' clocks should agree to within a second.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/bulwark-go/bulwark/throttle"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix begins every key the store writes.
const DefaultPrefix = "bulwark:throttle:"

// Store is the Redis [throttle.Store]. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ throttle.Store = (*Store)(nil)

// New returns the store on rdb, its keys beginning with prefix ("" means
// [DefaultPrefix]). Closing rdb is the caller's business.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// take judges and counts, atomically. KEYS are the counters; ARGV[1] is
// now in milliseconds, then four values per key: free, base, max and forget
// (milliseconds). It returns {0, retry_at_ms, index} when a counter must
// wait (index 1-based), else {1, count1, count2, …}. The wait is
// throttle.Rule.Wait, computed the same way.
var take = redis.NewScript(`
local now = tonumber(ARGV[1])
local refused, retry = 0, 0
for i = 1, #KEYS do
  local j = 2 + (i - 1) * 4
  local v = redis.call('HMGET', KEYS[i], 'n', 'l', 'f')
  local n, l, f = tonumber(v[1]), tonumber(v[2]), tonumber(v[3])
  if n and f and now < f then
    local free, base, max = tonumber(ARGV[j]), tonumber(ARGV[j + 1]), tonumber(ARGV[j + 2])
    if n >= free then
      local d, k = base, n - free
      while k > 0 and d < max do
        d = d * 2
        k = k - 1
      end
      if d > max then d = max end
      local untl = l + d
      if now < untl and (refused == 0 or untl > retry) then
        refused, retry = i, untl
      end
    end
  end
end
if refused > 0 then
  return {0, retry, refused}
end
local out = {1}
for i = 1, #KEYS do
  local j = 2 + (i - 1) * 4
  local forget = tonumber(ARGV[j + 3])
  local v = redis.call('HMGET', KEYS[i], 'n', 'f')
  local n, f = tonumber(v[1]), tonumber(v[2])
  if not n or not f or now >= f then n = 0 end
  n = n + 1
  redis.call('HSET', KEYS[i], 'n', n, 'l', now, 'f', now + forget)
  redis.call('PEXPIRE', KEYS[i], forget + 60000)
  out[#out + 1] = n
end
return out
`)

// Take implements [throttle.Store].
func (s *Store) Take(ctx context.Context, now time.Time, counters []throttle.Counter) (throttle.Verdict, error) {
	keys := make([]string, len(counters))
	args := make([]any, 1, 1+4*len(counters))
	args[0] = now.UnixMilli()
	for i, c := range counters {
		keys[i] = s.prefix + c.Key
		args = append(args, c.Rule.Free, c.Rule.Base.Milliseconds(), c.Rule.Max.Milliseconds(), c.Rule.Forget.Milliseconds())
	}
	res, err := take.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return throttle.Verdict{}, fmt.Errorf("throttle/redisstore: take: %w", err)
	}
	return verdict(res, len(counters), now.Location())
}

// verdict reads the answer of the take script for n counters.
func verdict(res []int64, n int, loc *time.Location) (throttle.Verdict, error) {
	switch {
	case len(res) == 3 && res[0] == 0 && res[2] >= 1 && res[2] <= int64(n):
		return throttle.Verdict{Refused: int(res[2]) - 1, RetryAt: time.UnixMilli(res[1]).In(loc)}, nil
	case len(res) == 1+n && res[0] == 1:
		return throttle.Verdict{OK: true, Failures: res[1:]}, nil
	}
	return throttle.Verdict{}, errors.New("throttle/redisstore: take: unexpected answer " + strconv.Quote(fmt.Sprint(res)))
}

// Delete implements [throttle.Store].
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return ctx.Err()
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = s.prefix + k
	}
	if err := s.rdb.Del(ctx, full...).Err(); err != nil {
		return fmt.Errorf("throttle/redisstore: delete: %w", err)
	}
	return nil
}

// DeletePrefix implements [throttle.Store]. It scans the keys (SCAN MATCH),
// so it costs a walk of the database: for an administrator's reset, not for
// every request. The throttle's keys hold no glob characters.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return errors.New("throttle/redisstore: DeletePrefix: empty prefix")
	}
	var keys []string
	iter := s.rdb.Scan(ctx, 0, escapeGlob(s.prefix+prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("throttle/redisstore: delete prefix: %w", err)
	}
	for batch := range slices.Chunk(keys, 500) {
		if err := s.rdb.Del(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("throttle/redisstore: delete prefix: %w", err)
		}
	}
	return nil
}

// escapeGlob escapes the characters SCAN MATCH reads as a pattern.
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\', '^', '-':
			out = append(out, '\\', c)
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
