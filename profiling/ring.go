package profiling

import (
	"strconv"
	"sync"
	"time"
)

// A Capture is one execution trace or CPU profile the middleware kept.
type Capture struct {
	// ID names the capture: its start time (UTC) and a sequence number,
	// as in "20261123T181600Z-0007". A request that asked for both kinds
	// has two captures of the same ID.
	ID string
	// Kind is Trace or CPU.
	Kind Kind
	// Start is when the capture started, just before the handler ran.
	Start time.Time
	// Duration is how long it ran.
	Duration time.Duration
	// Cut says why it ended before the request did: "max_duration" (the
	// time bound) or "canceled" (the request's context ended: the client
	// went away); "" when it covers the whole request.
	Cut string
	// User is the identity user's id, Method and Path the request's (the
	// escaped path, bounded; never the query, which may hold secrets).
	User, Method, Path string
	// Timing is the request's Server-Timing figures at its end ("" while
	// it still runs): what the header said, completed with the spans and
	// the time after the header was sent.
	Timing string
	// Data is the file: an execution trace for go tool trace, or a
	// gzipped pprof profile for go tool pprof. It is shared: do not
	// modify it.
	Data []byte
}

// FileName returns the capture's file name: its ID and ".trace" or
// ".pprof".
func (c Capture) FileName() string { return c.ID + c.Kind.ext() }

// Size returns len(c.Data).
func (c Capture) Size() int { return len(c.Data) }

// String returns the file name, the request and the size, for logs and
// tests (not the data).
func (c Capture) String() string {
	return c.FileName() + " " + c.Method + " " + c.Path + " (" + strconv.Itoa(len(c.Data)) + " bytes)"
}

// ring keeps the last captures, bounded in count and total bytes.
type ring struct {
	mu       sync.Mutex
	max      int
	maxBytes int
	bytes    int
	seq      uint64
	caps     []*Capture // oldest first
}

// nextID returns a new capture id for a capture started at t.
func (r *ring) nextID(t time.Time) string {
	r.mu.Lock()
	r.seq++
	n := r.seq
	r.mu.Unlock()
	b := t.UTC().AppendFormat(make([]byte, 0, 32), "20060102T150405Z-")
	for range 4 - len(strconv.FormatUint(n, 10)) {
		b = append(b, '0')
	}
	return string(strconv.AppendUint(b, n, 10))
}

// add keeps c, dropping the oldest captures until the ring is within its
// bounds. c is no larger than maxBytes (MaxCaptureBytes ≤ KeepBytes).
func (r *ring) add(c *Capture) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.caps = append(r.caps, c)
	r.bytes += len(c.Data)
	for len(r.caps) > r.max || r.bytes > r.maxBytes {
		r.bytes -= len(r.caps[0].Data)
		r.caps[0] = nil
		r.caps = r.caps[1:]
	}
}

// setTiming records the request's final figures on its captures.
func (r *ring) setTiming(id, timing string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.caps {
		if c.ID == id {
			c.Timing = timing
		}
	}
}

// list returns copies of the captures, newest first, and their total
// size.
func (r *ring) list() ([]Capture, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Capture, len(r.caps))
	for i, c := range r.caps {
		out[len(out)-1-i] = *c
	}
	return out, r.bytes
}

// get returns a copy of the capture named name (see Capture.FileName).
func (r *ring) get(name string) (Capture, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.caps {
		if c.FileName() == name {
			return *c, true
		}
	}
	return Capture{}, false
}

// Captures returns the captures the middleware keeps, newest first. The
// Data of each is shared with the ring: do not modify it.
func (m *Middleware) Captures() []Capture {
	caps, _ := m.ring.list()
	return caps
}
