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
	l, err := NewWithConfig(Config{Logger: zap.New(core, zap.AddCaller())})
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
