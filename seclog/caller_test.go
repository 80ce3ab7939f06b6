package seclog

import (
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
