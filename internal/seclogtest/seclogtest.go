// Package seclogtest gives tests a security logger whose events they can
// read back.
package seclogtest

import (
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
	core, logs := observer.New(zapcore.DebugLevel)
	l, err := seclog.New(seclog.Config{Logger: zap.New(core), Sampling: seclog.Sampling{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	return l, &Recorder{logs: logs}
}

// Take returns the events written since the last Take, and forgets them.
func (r *Recorder) Take() []Event {
	entries := r.logs.TakeAll()
	out := make([]Event, len(entries))
	for i, e := range entries {
		out[i] = Event{Name: e.Message, Level: e.Level, Fields: e.ContextMap()}
	}
	return out
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

// From returns a security logger that writes to z with the default
// configuration. It panics on an error, which the default configuration
// cannot have.
func From(z *zap.Logger) *seclog.Logger {
	l, err := seclog.New(seclog.Config{Logger: z})
	if err != nil {
		panic(err)
	}
	return l
}
