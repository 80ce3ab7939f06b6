// Package seclogtest gives tests a security logger whose events they can
// read back.
package seclogtest

import (
	"fmt"
	"testing"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Recorder holds the events a test's security logger wrote.
type Recorder struct {
	logs *observer.ObservedLogs
}

// Event is one logged security event.
type Event struct {
	Name   string         // the event name (the log message)
	Level  zapcore.Level  // the level it was written at
	Fields map[string]any // every field, the common ones included
}

// New returns a security logger that records every event at every level,
// without sampling, and the Recorder to read them.
func New(t testing.TB) (*seclog.Logger, *Recorder) {
	t.Helper()
	return NewConfig(t, seclog.Config{})
}

// NewConfig is [New] for a logger with the rest of cfg: trusted proxies,
// user and request-id functions, sampling. cfg.Logger is replaced by the
// recorder; a zero cfg.Sampling means no sampling, so the test sees every
// event (set Sampling to test the sampler itself).
func NewConfig(t testing.TB, cfg seclog.Config) (*seclog.Logger, *Recorder) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg.Logger = zap.New(core)
	if cfg.Sampling == (seclog.Sampling{}) {
		cfg.Sampling.Disabled = true
	}
	l, err := seclog.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, &Recorder{logs: logs}
}

// Take returns the events written since the last Take, and forgets them.
func (r *Recorder) Take() []Event {
	return events(r.logs.TakeAll())
}

func events(entries []observer.LoggedEntry) []Event {
	out := make([]Event, len(entries))
	for i, e := range entries {
		out[i] = Event{Name: e.Message, Level: e.Level, Fields: e.ContextMap()}
	}
	return out
}

// All returns the events written since the last Take, and keeps them.
func (r *Recorder) All() []Event {
	return events(r.logs.All())
}

// Named returns the events called name written since the last Take, and
// keeps them.
func (r *Recorder) Named(name string) []Event {
	return events(r.logs.FilterMessage(name).All())
}

// Len returns how many events were written since the last Take.
func (r *Recorder) Len() int { return r.logs.Len() }

// Field returns the field key of e as text ("" when e has none): strings
// as they are, other values as fmt.Sprint writes them.
func (e Event) Field(key string) string {
	v, ok := e.Fields[key]
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Names returns the names of the events written since the last Take or
// Names, and forgets them.
func (r *Recorder) Names() []string {
	var names []string
	for _, e := range r.Take() {
		names = append(names, e.Name)
	}
	return names
}
