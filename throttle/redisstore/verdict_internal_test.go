package redisstore

import (
	"testing"
	"time"
)

// TestVerdict: the script's answers, and the ones it never gives, which
// are errors rather than a panic or a pass.
func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		res     []int64
		n       int
		ok      bool
		refused int
		err     bool
	}{
		{[]int64{1, 3, 1}, 2, true, 0, false},
		{[]int64{0, 5000, 1}, 2, false, 0, false},
		{[]int64{0, 5000, 2}, 2, false, 1, false},
		{[]int64{0, 5000, 3}, 2, false, 0, true}, // index past the counters
		{[]int64{0, 5000, 0}, 2, false, 0, true}, // 1-based: 0 is no index
		{[]int64{0, 5000}, 2, false, 0, true},    // too short
		{[]int64{1, 3}, 2, false, 0, true},       // a count missing
		{[]int64{1, 3, 4, 5}, 2, false, 0, true}, // a count too many
		{[]int64{2, 3, 4}, 2, false, 0, true},    // no such answer
		{[]int64{1, 0, 0}, 2, true, 0, false},
		{nil, 1, false, 0, true},
	} {
		v, err := verdict(c.res, c.n, time.UTC)
		if (err != nil) != c.err {
			t.Errorf("verdict(%v, %d): error %v, want error %v", c.res, c.n, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if v.OK != c.ok || (!v.OK && (v.Refused != c.refused || !v.RetryAt.Equal(time.UnixMilli(5000)))) || (v.OK && len(v.Failures) != c.n) {
			t.Errorf("verdict(%v, %d) = %+v", c.res, c.n, v)
		}
	}
}
