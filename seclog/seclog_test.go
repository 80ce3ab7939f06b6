package seclog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Sync() error { return nil }

func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s.b.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not one JSON object: %v\n%q", err, line)
		}
		out = append(out, m)
	}
	return out
}

// newTestLogger returns a security logger writing JSON lines to a buffer.
func newTestLogger(t *testing.T, cfg Config) (*Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	cfg.Logger = zap.New(zapcore.NewCore(enc, buf, zapcore.DebugLevel))
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
}

func TestSanitize(t *testing.T) {
	long := strings.Repeat("a", 10*1024)
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "/static/app.css", "/static/app.css"},
		{"unicode kept", "/café/日本", "/café/日本"},
		{"CRLF", "a\r\nb", `a\x0d\x0ab`},
		{"forged line", "x\n{\"level\":\"info\"}", `x\x0a{"level":"info"}`},
		{"ANSI", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"NUL DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"bidi override", "user\u202egnp.exe", `user\u202egnp.exe`},
		{"zero-width and BOM", "ad\u200bmin\ufeff", `ad\u200bmin\ufeff`},
		{"line separator", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"tag character", "a\U000E0041b", `a\U000e0041b`},
		{"soft hyphen", "a\u00adb", `a\u00adb`},
		{"backslash", `a\x0ab`, `a\\x0ab`},
		{"cut", long, strings.Repeat("a", MaxValueLen) + "…[+9984 bytes]"},
		{"cut on rune", strings.Repeat("a", 255) + "é", strings.Repeat("a", 255) + "…[+2 bytes]"},
		{"cut inside escape", strings.Repeat("a", 254) + "\n", strings.Repeat("a", 254) + "…[+1 bytes]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Sanitize(tc.in)
			if got != tc.want {
				t.Errorf("Sanitize(%.40q) = %.80q, want %.80q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("result is not valid UTF-8: %q", got)
			}
		})
	}
}

// TestEscape: Escape applies Sanitize's rules without the cut.
func TestEscape(t *testing.T) {
	long := strings.Repeat("\u202e", MaxValueLen)
	for in, want := range map[string]string{
		"":                   "",
		"/café/日本":           "/café/日本",
		"\x1b[31m\u009b2J":   `\x1b[31m\u009b2J`,
		"user\u202egnp.exe":  `user\u202egnp.exe`,
		"a\xffb\\":           `a\xffb\\`,
		"a\U000E0041b\u2028": `a\U000e0041b\u2028`,
		long:                 strings.Repeat(`\u202e`, MaxValueLen),
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%.40q) = %.80q, want %.80q", in, got, want)
		}
		if len(in) <= MaxValueLen && Escape(in) != Sanitize(in) {
			t.Errorf("Escape(%q) = %q, Sanitize %q", in, Escape(in), Sanitize(in))
		}
	}
	s := strings.Repeat("/account/settings", 100)
	if n := testing.AllocsPerRun(100, func() { _ = Escape(s) }); n != 0 {
		t.Errorf("Escape of a clean value allocates %v times", n)
	}
}

func TestSanitizeCleanDoesNotAllocate(t *testing.T) {
	s := "/account/settings?tab=security"
	if n := testing.AllocsPerRun(100, func() { _ = Sanitize(s) }); n != 0 {
		t.Errorf("Sanitize of a clean value allocates %v times", n)
	}
}

// A 10 KB header value with CR, LF and ANSI escapes is logged bounded and
// escaped: one line, no raw control byte, at most MaxValueLen plus the mark,
// through zap and through slog alike.
func TestHostileHeaderIsBoundedAndEscaped(t *testing.T) {
	for b := range backends {
		t.Run(backends[b].name, func(t *testing.T) { testHostileHeaderIsBoundedAndEscaped(t, b) })
	}
}

func testHostileHeaderIsBoundedAndEscaped(t *testing.T, backend int) {
	l, buf := newBackendLogger(t, backend, Config{})
	hostile := strings.Repeat("\r\n{\"level\":\"error\",\"msg\":\"forged\"}\x1b[2J\x1b]0;pwned\x07", 10*1024/45+1)
	if len(hostile) < 10*1024 {
		t.Fatalf("hostile value is %d bytes", len(hostile))
	}
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("X-Request-Id", hostile)
	r = r.WithContext(WithUser(r.Context(), hostile))
	l.Log(r, PathRejected, String("reason", hostile))

	raw := buf.b.String()
	if strings.Count(raw, "\n") != 1 {
		t.Fatalf("want exactly one log line, got %d:\n%s", strings.Count(raw, "\n"), raw)
	}
	for _, c := range []string{"\r", "\x1b", "\x07"} {
		if strings.Contains(raw, c) {
			t.Errorf("raw control %q in the log line", c)
		}
	}
	if len(raw) > 4*1024 {
		t.Errorf("log line is %d bytes; three 10 KB values must be cut", len(raw))
	}
	m := buf.lines(t)[0]
	for _, f := range []string{"request_id", "user", "reason"} {
		v, _ := m[f].(string)
		if len(v) > MaxValueLen+len("…[+99999 bytes]") || !strings.Contains(v, "…[+") {
			t.Errorf("%s = %.60q (len %d): not cut", f, v, len(v))
		}
		if strings.ContainsAny(v, "\r\n\x1b\x07") {
			t.Errorf("%s keeps a control character: %q", f, v)
		}
		if !strings.HasPrefix(v, `\x0d\x0a{"level"`) {
			t.Errorf("%s = %.40q: want the escaped value", f, v)
		}
	}
	if m["msg"] != PathRejected.Name || m["logger"] != Name {
		t.Errorf("msg %v logger %v", m["msg"], m["logger"])
	}
}

func TestCommonFields(t *testing.T) {
	l, buf := newTestLogger(t, Config{
		TrustedProxies: []string{"10.0.0.0/8"},
		User:           func(r *http.Request) string { return "alice" },
	})
	r := httptest.NewRequest("POST", "/static/%2e%2e/admin", nil)
	r.RemoteAddr = "10.1.2.3:4444"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.9.9.9")
	r.Header.Set("X-Request-Id", "req-1")
	r = r.WithContext(WithAuth(r.Context(), "token"))
	l.Log(r, PathRejected, String("reason", "dot-segment"))
	l.Log(nil, SystemStartup, zap.String("command", "demo"))

	lines := buf.lines(t)
	if len(lines) != 2 {
		t.Fatalf("got %d lines", len(lines))
	}
	want := map[string]any{
		"event": "path.rejected", "owasp": "input_validation_fail", "method": "POST",
		"path": "/static/%2e%2e/admin", "remote_ip": "203.0.113.9", "user": "alice",
		"auth": "token", "request_id": "req-1", "reason": "dot-segment",
		"level": "warn", "logger": "security", "msg": "path.rejected",
	}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("%s = %v, want %v", k, lines[0][k], v)
		}
	}
	if _, ok := lines[1]["path"]; ok {
		t.Errorf("an event without a request has a path field: %v", lines[1])
	}
	if lines[1]["event"] != "system.startup" || lines[1]["command"] != "demo" {
		t.Errorf("startup line: %v", lines[1])
	}
}

// TestNewDefaults: New(Config{}) writes to slog.Default() (not to zap.L(),
// which is silent unless the program replaced it) under the name
// "security"; a zap logger already named "security" is not renamed
// "security.security".
func TestNewDefaults(t *testing.T) {
	buf := &syncBuffer{}
	setSlogDefault(t, slog.NewJSONHandler(buf, nil))
	l, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	l.Log(nil, SystemShutdown, zap.String("reason", "test"))
	lines := buf.lines(t)
	if len(lines) != 1 || lines[0]["logger"] != "security" || lines[0]["msg"] != SystemShutdown.Name {
		t.Fatalf("New(Config{}) did not log to slog.Default() as \"security\": %v", lines)
	}
	l, err = New(Config{Logger: zap.NewNop().Named(Name)})
	if err != nil {
		t.Fatal(err)
	}
	if l.Zap().Name() != Name {
		t.Errorf("name %q", l.Zap().Name())
	}
}

// TestLoggerAndHandlerBothSet: a zap logger and a slog handler together
// are refused, with an error that names both fields and says what each
// is for.
func TestLoggerAndHandlerBothSet(t *testing.T) {
	_, err := New(Config{Logger: zap.NewNop(), Handler: slog.NewJSONHandler(io.Discard, nil)})
	if err == nil {
		t.Fatal("New accepted Logger and Handler both set")
	}
	for _, want := range []string{"Logger", "Handler", "*zap.Logger", "slog", "not both"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{TrustedProxies: []string{"10.0.0.0/33"}},
		{TrustedProxies: []string{"10.0.0.1/8"}},
		{TrustedProxies: []string{"proxy.internal"}},
		{Sampling: Sampling{First: -1}},
		{Logger: zap.NewNop(), Handler: slog.NewJSONHandler(io.Discard, nil)},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		} else if !strings.HasPrefix(err.Error(), "seclog: ") {
			t.Errorf("error %q does not name the package", err)
		}
	}
}

func TestSamplingCountsDrops(t *testing.T) {
	l, buf := newTestLogger(t, Config{Sampling: Sampling{Interval: 1 << 62, First: 5, Thereafter: 10}})
	r := httptest.NewRequest("GET", "/", nil)
	const n = 1000
	for range n {
		l.Log(r, PathRejected, zap.String("reason", "flood"))
	}
	// Events that are not high-volume are never sampled.
	for range 50 {
		l.Log(nil, SystemStartup)
	}
	written := 5 + (n-5)/10
	dropped := uint64(n - written)
	if got := l.Dropped()[PathRejected.Name]; got != dropped {
		t.Errorf("Dropped = %d, want %d", got, dropped)
	}
	counts := map[string]int{}
	for _, m := range buf.lines(t) {
		counts[m["event"].(string)]++
	}
	if counts[PathRejected.Name] != written || counts[SystemStartup.Name] != 50 {
		t.Errorf("written: %v, want %d path.rejected and 50 system.startup", counts, written)
	}
	l.ReportDropped()
	var report map[string]any
	for _, m := range buf.lines(t) {
		if m["event"] == SamplingDropped.Name {
			report = m
		}
	}
	if report == nil || report["dropped_event"] != PathRejected.Name || report["dropped"] != float64(dropped) {
		t.Fatalf("no or wrong seclog.dropped report: %v", report)
	}
	// Reported once: a second report has nothing to say.
	before := len(buf.lines(t))
	l.ReportDropped()
	if after := len(buf.lines(t)); after != before {
		t.Errorf("a second ReportDropped wrote %d lines", after-before)
	}
}

func TestSamplingDisabled(t *testing.T) {
	l, buf := newTestLogger(t, Config{Sampling: Sampling{Disabled: true}})
	for range 300 {
		l.Log(nil, PathRejected)
	}
	if got := len(buf.lines(t)); got != 300 || len(l.Dropped()) != 0 {
		t.Errorf("wrote %d, dropped %v", got, l.Dropped())
	}
}

func TestConcurrentLogging(t *testing.T) {
	for b := range backends {
		t.Run(backends[b].name, func(t *testing.T) { testConcurrentLogging(t, b) })
	}
}

func testConcurrentLogging(t *testing.T, backend int) {
	l, buf := newBackendLogger(t, backend, Config{Sampling: Sampling{First: 1, Thereafter: 1000}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			r := httptest.NewRequest("GET", "/", nil)
			for range 500 {
				l.Log(r, PathRejected)
			}
		})
	}
	wg.Wait()
	l.ReportDropped()
	var logged, reported uint64
	for _, m := range buf.lines(t) {
		switch m["event"] {
		case PathRejected.Name:
			logged++
		case SamplingDropped.Name:
			reported += uint64(m["dropped"].(float64))
		}
	}
	if logged+reported != 4000 || l.Dropped()[PathRejected.Name] != reported {
		t.Errorf("logged %d + reported dropped %d != 4000 (Dropped %v)", logged, reported, l.Dropped())
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
