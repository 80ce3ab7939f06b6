package profiling

import (
	"context"
	"errors"
	"net/http"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// busy is held while a capture runs. The CPU profiler and the flight
// recorder are process-wide, so there is one capture at a time in the
// process, whatever the number of Middlewares.
var busy atomic.Bool

// Reasons of the profiling.skipped event and of Capture.Cut.
const (
	reasonBusy     = "busy"      // another capture of this package is running
	reasonInUse    = "in_use"    // the profiler is used elsewhere in the program
	reasonTooLarge = "too_large" // over MaxCaptureBytes
	reasonError    = "error"     // the profiler failed to write

	cutMaxDuration = "max_duration" // the capture reached MaxDuration
	cutCanceled    = "canceled"     // the request's context ended (client gone)
)

// capture is a running capture: the flight recorder, the CPU profiler or
// both, stopped once by whichever comes first: the request's end, the
// time bound, or the request's context ending.
type capture struct {
	m     *Middleware
	id    string
	kind  Kind // what was started
	start time.Time
	fr    *trace.FlightRecorder
	cpu   *limitBuffer
	once  sync.Once
	done  chan struct{} // closed by finish
	// what the events and the ring say about the request, taken at the
	// start so that a timer stopping the capture reads no live request
	req                *http.Request
	user, method, path string
}

// startCapture starts what a request asks for, if the process is not
// already capturing. It returns the capture (nil when nothing started)
// and the Server-Timing metric that says what happened.
func (m *Middleware) startCapture(r *http.Request, want Kind) (*capture, string) {
	if !busy.CompareAndSwap(false, true) {
		m.skipped(r, want, reasonBusy)
		return nil, metricCapture + `;desc="` + want.String() + ` not taken: another capture is running in this process; ask again"`
	}
	c := &capture{m: m, start: time.Now(), done: make(chan struct{})}
	var inUse Kind
	if want&Trace != 0 {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: m.maxDuration, MaxBytes: uint64(m.maxBytes)})
		if err := fr.Start(); err != nil {
			inUse |= Trace
		} else {
			c.fr, c.kind = fr, c.kind|Trace
		}
	}
	if want&CPU != 0 {
		buf := &limitBuffer{max: m.maxBytes}
		if err := pprof.StartCPUProfile(buf); err != nil {
			inUse |= CPU
		} else {
			c.cpu, c.kind = buf, c.kind|CPU
		}
	}
	if inUse != 0 {
		m.skipped(r, inUse, reasonInUse)
	}
	if c.kind == 0 {
		busy.Store(false)
		return nil, metricCapture + `;desc="` + want.String() + ` not taken: the profiler is in use elsewhere in the program"`
	}
	c.id = m.ring.nextID(c.start)
	c.req = r.Clone(context.WithoutCancel(r.Context()))
	c.user, c.method, c.path = userID(r), seclog.Sanitize(r.Method), seclog.Sanitize(r.URL.EscapedPath())
	go c.watch(r.Context(), m.maxDuration)
	note := metricCapture + `;desc="` + c.kind.String() + " " + c.id
	if inUse != 0 {
		note += "; " + inUse.String() + " not taken: the profiler is in use elsewhere in the program"
	}
	return c, note + `"`
}

// watch stops the capture at the time bound or when ctx ends (the client
// went away), unless the request ended first.
func (c *capture) watch(ctx context.Context, bound time.Duration) {
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.finish(cutMaxDuration)
	case <-ctx.Done():
		c.finish(cutCanceled)
	}
}

// finish stops the capture and keeps what it took; cut says why it ended
// before the request ("" when the request ended). Only the first call
// does anything; later ones wait for it.
func (c *capture) finish(cut string) {
	c.once.Do(func() {
		close(c.done)
		c.stop(cut)
	})
}

func (c *capture) stop(cut string) {
	// Deferred, so that nothing is left running or held whatever happens
	// below. Both stops do nothing when already stopped.
	defer busy.Store(false)
	if c.cpu != nil {
		defer pprof.StopCPUProfile()
	}
	if c.fr != nil {
		defer c.fr.Stop()
	}
	d := time.Since(c.start)
	if c.fr != nil {
		// Snapshot first: the trace ends with the request, not with the
		// CPU profiler's stop.
		buf := &limitBuffer{max: c.m.maxBytes, fail: true}
		_, err := c.fr.WriteTo(buf)
		c.fr.Stop()
		if errors.Is(err, errTooLarge) {
			err = nil
		}
		c.keep(Trace, buf, err, d, cut)
	}
	if c.cpu != nil {
		pprof.StopCPUProfile()
		c.keep(CPU, c.cpu, nil, d, cut)
	}
}

// keep adds one kind's file to the ring and logs it, or logs why not.
func (c *capture) keep(k Kind, buf *limitBuffer, err error, d time.Duration, cut string) {
	switch {
	case buf.over:
		c.m.skipped(c.req, k, reasonTooLarge)
	case err != nil || len(buf.b) == 0:
		c.m.skipped(c.req, k, reasonError)
	default:
		c.m.ring.add(&Capture{
			ID: c.id, Kind: k, Start: c.start, Duration: d, Cut: cut,
			User: c.user, Method: c.method, Path: c.path, Data: buf.b,
		})
		c.m.log.Log(c.req, seclog.ProfilingCaptured,
			zap.String("capture_id", c.id), zap.String("kind", k.String()),
			zap.Int("bytes", len(buf.b)), zap.Int64("duration_ms", d.Milliseconds()))
	}
}

// skipped logs a profiling.skipped event for each kind of k.
func (m *Middleware) skipped(r *http.Request, k Kind, reason string) {
	for _, one := range []Kind{Trace, CPU} {
		if k&one != 0 {
			m.log.Log(r, seclog.ProfilingSkipped, zap.String("kind", one.String()), zap.String("reason", reason))
		}
	}
}

// userID returns the id of the request's identity user, or "".
func userID(r *http.Request) string {
	if u := identity.FromRequest(r); u != nil {
		return seclog.Sanitize(u.ID())
	}
	return ""
}

var errTooLarge = errors.New("profiling: capture over MaxCaptureBytes")

// limitBuffer keeps at most max bytes. Past that it drops everything (a
// cut trace or profile cannot be opened) and, with fail, makes the writer
// stop with errTooLarge; without (the CPU profiler's writer ignores
// errors), it swallows the rest.
type limitBuffer struct {
	b    []byte
	max  int
	fail bool
	over bool
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if !l.over && len(l.b)+len(p) > l.max {
		l.over, l.b = true, nil
	}
	if l.over {
		if l.fail {
			return 0, errTooLarge
		}
		return len(p), nil
	}
	l.b = append(l.b, p...)
	return len(p), nil
}
