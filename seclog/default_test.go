package seclog

import (
	"log"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// captureStdLog sends the log package's output to a buffer, without time
// or file, until the test ends.
func captureStdLog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	w, flags := log.Writer(), log.Flags()
	log.SetOutput(buf)
	log.SetFlags(0)
	t.Cleanup(func() {
		log.SetOutput(w)
		log.SetFlags(flags)
	})
	return buf
}

// setSlogDefault makes h slog's default handler until the test ends.
// slog.SetDefault also sends the log package's output to h: that is put
// back too.
func setSlogDefault(t *testing.T, h slog.Handler) {
	t.Helper()
	prev := slog.Default()
	w, flags := log.Writer(), log.Flags()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() {
		slog.SetDefault(prev)
		log.SetOutput(w)
		log.SetFlags(flags)
	})
}

// TestDefaultIsNeverSilent: the logger of a middleware whose Config names
// none writes its events. A program that set no slog default sees them
// through the log package (stderr unless it chose otherwise); one that
// calls slog.SetDefault, even after the logger was made, gets them in
// its own handler.
func TestDefaultIsNeverSilent(t *testing.T) {
	r := httptest.NewRequest("POST", "/login", nil)
	r.Header.Set("X-Request-Id", "req-7")

	t.Run("log package", func(t *testing.T) {
		buf := captureStdLog(t)
		Default().Log(r, MFAReplay, String("mfa_method", "totp"))
		got := buf.String()
		for _, want := range []string{"ERROR mfa.replay", "logger=security", "event=mfa.replay", "owasp=authn_token_reuse", "path=/login", "request_id=req-7", "mfa_method=totp"} {
			if !strings.Contains(got, want) {
				t.Errorf("the log package's output lacks %q:\n%s", want, got)
			}
		}
	})

	t.Run("slog.SetDefault after the logger was made", func(t *testing.T) {
		sec := Default()
		buf := &syncBuffer{}
		setSlogDefault(t, slog.NewJSONHandler(buf, nil))
		sec.Log(r, MFAReplay, String("mfa_method", "totp"))
		lines := buf.lines(t)
		if len(lines) != 1 {
			t.Fatalf("the slog default handler got %d lines, want 1:\n%s", len(lines), buf.String())
		}
		want := map[string]any{"level": "ERROR", "msg": "mfa.replay", "logger": "security", "event": "mfa.replay", "request_id": "req-7", "mfa_method": "totp"}
		for k, v := range want {
			if lines[0][k] != v {
				t.Errorf("%s = %v, want %v", k, lines[0][k], v)
			}
		}
	})

	// New with neither Logger nor Handler is Default's configuration.
	t.Run("New(Config{})", func(t *testing.T) {
		sec, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		buf := captureStdLog(t)
		sec.Log(nil, SystemShutdown, String("reason", "test"))
		if got := buf.String(); !strings.Contains(got, "INFO system.shutdown") || !strings.Contains(got, "reason=test") {
			t.Errorf("New(Config{}) wrote %q; want the event through the log package", got)
		}
	})
}

// TestDiscardWritesNothing: Discard is the one explicit silence, wherever
// the program's other logs go.
func TestDiscardWritesNothing(t *testing.T) {
	buf := &syncBuffer{}
	setSlogDefault(t, slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	std := captureStdLog(t)
	sec := Discard()
	r := httptest.NewRequest("GET", "/", nil)
	for _, ev := range Catalog() {
		sec.Log(r, ev)
	}
	sec.ReportDropped()
	sec.Zap().Error("not an event")
	if buf.String() != "" || std.String() != "" {
		t.Errorf("Discard wrote %q and %q", buf.String(), std.String())
	}
}
