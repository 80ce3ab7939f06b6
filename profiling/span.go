package profiling

import (
	"context"
	"runtime/metrics"
	"runtime/trace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MaxSpanNames is how many distinct span names one request reports;
// spans under further names are counted in a "spans-dropped" metric.
// Spans of one name are added up into one metric.
const MaxSpanNames = 32

// maxSpanNameLen bounds a span name in the header.
const maxSpanNameLen = 64

// stateKey is the context key of a profiled request's *state.
type stateKey struct{}

// state is what a profiled request records.
type state struct {
	start  time.Time
	before counters
	note   string // the capture's Server-Timing metric, or ""

	mu      sync.Mutex
	spans   []spanSum
	dropped int
}

// spanSum adds up the spans of one name.
type spanSum struct {
	name  string
	count int
	total time.Duration
}

// nop is what Span returns for a request that is not profiled.
var nop = func() {}

// Span starts a named span of the request whose context is ctx and
// returns the function that ends it; the span's duration is reported in
// the request's Server-Timing header (when it ends before the header is
// sent) and on the profiles page. Spans of the same name are added up.
// Call end once, typically with defer:
//
//	defer profiling.Span(ctx, "db")()
//
// For a request that is not profiled, Span returns a function that does
// nothing, and allocates nothing: leave the calls in production code.
//
// In the execution trace, each span is a task of that name under the
// request's "bulwark.request" task, so end may be called from any
// goroutine. The name should be a constant (a Server-Timing token:
// letters, digits and !#$%&'*+-.^_`|~; other bytes are written as '_').
func Span(ctx context.Context, name string) (end func()) {
	st, _ := ctx.Value(stateKey{}).(*state)
	if st == nil {
		return nop
	}
	_, task := trace.NewTask(ctx, name)
	start := time.Now()
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			return
		}
		task.End()
		st.add(name, time.Since(start))
	}
}

// Profiled reports whether ctx is the context of a profiled request.
func Profiled(ctx context.Context) bool {
	_, ok := ctx.Value(stateKey{}).(*state)
	return ok
}

func (st *state) add(name string, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := range st.spans {
		if st.spans[i].name == name {
			st.spans[i].count++
			st.spans[i].total += d
			return
		}
	}
	if len(st.spans) >= MaxSpanNames {
		st.dropped++
		return
	}
	st.spans = append(st.spans, spanSum{name: name, count: 1, total: d})
}

// The Server-Timing metric names the middleware writes; a span of one of
// these names is written with the prefix "app-".
const (
	metricTotal   = "total"
	metricAlloc   = "alloc"
	metricGC      = "gc"
	metricCapture = "capture"
	metricDropped = "spans-dropped"
)

func reserved(name string) bool {
	switch name {
	case metricTotal, metricAlloc, metricGC, metricCapture, metricDropped:
		return true
	}
	return false
}

// noteUnknown is the capture metric for a trigger value that asks for
// nothing known.
const noteUnknown = metricCapture + `;desc="unknown profile value: write timing, trace, cpu or trace,cpu"`

// timing returns the Server-Timing value of the request at now:
//
//	total;dur=12.345, db;dur=3.100;desc="2 spans",
//	alloc;desc="process-wide: 1.2 MiB in 3400 objects",
//	gc;desc="process-wide: 0 GC cycles", capture;desc="…"
//
// Only spans that have ended are in it. Every desc is built from numbers
// and fixed text, so nothing needs escaping; span names are made tokens.
func (st *state) timing(now time.Time, after counters) string {
	b := make([]byte, 0, 256)
	b = append(b, metricTotal+";dur="...)
	b = appendMillis(b, now.Sub(st.start))
	st.mu.Lock()
	for _, s := range st.spans {
		b = append(b, ", "...)
		b = appendToken(b, s.name)
		b = append(b, ";dur="...)
		b = appendMillis(b, s.total)
		if s.count > 1 {
			b = append(b, `;desc="`...)
			b = strconv.AppendInt(b, int64(s.count), 10)
			b = append(b, ` spans"`...)
		}
	}
	if st.dropped > 0 {
		b = append(b, ", "+metricDropped+`;desc="`...)
		b = strconv.AppendInt(b, int64(st.dropped), 10)
		b = append(b, ` spans under further names not shown"`...)
	}
	st.mu.Unlock()
	d := after.sub(st.before)
	b = append(b, ", "+metricAlloc+`;desc="process-wide: `...)
	b = appendBytes(b, d.allocBytes)
	b = append(b, " in "...)
	b = appendCount(b, d.allocObjects, " object")
	b = append(b, '"')
	b = append(b, ", "+metricGC+`;desc="process-wide: `...)
	b = appendCount(b, d.gcCycles, " GC cycle")
	b = append(b, '"')
	if st.note != "" {
		b = append(b, ", "...)
		b = append(b, st.note...)
	}
	return string(b)
}

// appendMillis appends d in milliseconds with three decimals, as
// Server-Timing's dur wants.
func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// appendCount appends n and what, plural unless n is 1.
func appendCount(b []byte, n uint64, what string) []byte {
	b = strconv.AppendUint(b, n, 10)
	b = append(b, what...)
	if n != 1 {
		b = append(b, 's')
	}
	return b
}

// appendBytes appends n as "512 B", "3.4 KiB", "1.2 MiB" or "1.0 GiB".
func appendBytes(b []byte, n uint64) []byte {
	const unit = 1024
	if n < unit {
		b = strconv.AppendUint(b, n, 10)
		return append(b, " B"...)
	}
	v, suffix := float64(n)/unit, " KiB"
	for _, s := range []string{" MiB", " GiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	b = strconv.AppendFloat(b, v, 'f', 1, 64)
	return append(b, suffix...)
}

// appendToken appends name as a Server-Timing metric name: bytes that
// cannot be in a token become '_', the name is cut to 64 bytes, an empty
// name is "span", and a name the middleware uses itself gets "app-".
func appendToken(b []byte, name string) []byte {
	if name == "" {
		return append(b, "span"...)
	}
	if reserved(name) {
		b = append(b, "app-"...)
	}
	if len(name) > maxSpanNameLen {
		name = name[:maxSpanNameLen]
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; isTchar(c) {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return b
}

// counters are the process-wide runtime/metrics figures read before and
// after a request.
type counters struct {
	allocBytes, allocObjects, gcCycles uint64
}

var metricNames = [...]string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/cycles/total:gc-cycles",
}

// readMetrics reads the counters. runtime/metrics counts for the whole
// process: every goroutine's allocations, not only the request's.
func readMetrics() counters {
	var s [len(metricNames)]metrics.Sample
	for i := range s {
		s[i].Name = metricNames[i]
	}
	metrics.Read(s[:])
	var v [len(metricNames)]uint64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	return counters{allocBytes: v[0], allocObjects: v[1], gcCycles: v[2]}
}

// sub returns c - before, counter by counter (0 where a counter went
// backwards, which cumulative counters do not).
func (c counters) sub(before counters) counters {
	d := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return counters{
		allocBytes:   d(c.allocBytes, before.allocBytes),
		allocObjects: d(c.allocObjects, before.allocObjects),
		gcCycles:     d(c.gcCycles, before.gcCycles),
	}
}
