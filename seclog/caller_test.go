package seclog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestCallerIsLogsCaller: an event's caller is the code that called Log,
// for sampled and unsampled events alike, so that an auditor can find
// where it was decided.
func TestCallerIsLogsCaller(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l, err := New(Config{Logger: zap.New(core, zap.AddCaller())})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, ev := range []*Event{AjaxOnlyRefused, ClearSiteSent} {
		l.Log(r, ev)
	}
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d entries", len(all))
	}
	for _, e := range all {
		if !e.Caller.Defined || !strings.HasSuffix(e.Caller.File, "caller_test.go") {
			t.Errorf("%s: caller %v; want this test file", e.Message, e.Caller)
		}
	}
}

// TestLevelOff: an event whose level the logger does not enable is not
// written, sampled or not, and one whose level it enables still is (Log
// asks the core first, before building any field). A level changed at
// run time is seen at once.
func TestLevelOff(t *testing.T) {
	level := zap.NewAtomicLevelAt(zapcore.WarnLevel)
	core, logs := observer.New(level)
	l, err := New(Config{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	l.Log(r, ClearSiteSent)   // info
	l.Log(r, AjaxOnlyRefused) // warn
	if n := logs.Len(); n != 1 || logs.All()[0].Message != AjaxOnlyRefused.Name {
		t.Fatalf("at warn level: %v; want the one %s entry", logs.All(), AjaxOnlyRefused.Name)
	}
	level.SetLevel(zapcore.InfoLevel)
	l.Log(r, ClearSiteSent)
	if n := logs.FilterMessage(ClearSiteSent.Name).Len(); n != 1 {
		t.Fatalf("%d %s entries after the level went down to info, want 1", n, ClearSiteSent.Name)
	}
}

// TestSlogSourceIsLogsCaller: through a slog handler with AddSource, the
// source of an event is the code that called Log, as zap's caller is.
func TestSlogSourceIsLogsCaller(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Config{Handler: slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true})})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, ev := range []*Event{AjaxOnlyRefused, ClearSiteSent} {
		l.Log(r, ev)
	}
	l.Zap().Info("not an event")
	dec := json.NewDecoder(&buf)
	for range 3 {
		var line struct {
			Msg    string
			Source struct {
				Function, File string
				Line           int
			}
		}
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(line.Source.File, "caller_test.go") || !strings.HasSuffix(line.Source.Function, "TestSlogSourceIsLogsCaller") || line.Source.Line == 0 {
			t.Errorf("%s: source %+v; want this test", line.Msg, line.Source)
		}
	}
}

// TestSlogLevelOff: the handler's Enabled decides, asked before any field
// is built, and a level changed at run time is seen at once.
func TestSlogLevelOff(t *testing.T) {
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	h := &recordHandler{level: &level}
	l, err := New(Config{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	l.Log(r, ClearSiteSent)   // info
	l.Log(r, AjaxOnlyRefused) // warn
	if len(h.records) != 1 || h.records[0].Message != AjaxOnlyRefused.Name {
		t.Fatalf("at warn level: %d records; want the one %s", len(h.records), AjaxOnlyRefused.Name)
	}
	level.Set(slog.LevelInfo)
	l.Log(r, ClearSiteSent)
	if len(h.records) != 2 || h.records[1].Message != ClearSiteSent.Name {
		t.Fatalf("after the level went down to info: %d records", len(h.records))
	}
	level.Set(slog.LevelWarn)
	if n := testing.AllocsPerRun(100, func() { l.Log(r, ClearSiteSent) }); n != 0 || len(h.records) != 2 {
		t.Errorf("an event below the handler's level: %v allocations, %d records", n, len(h.records))
	}
}
