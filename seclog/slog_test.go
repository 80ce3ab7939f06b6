package seclog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The two ways of writing the security log that these tests compare: a zap
// JSON core, and log/slog's JSON handler under zap. The zap encoder writes
// durations in nanoseconds and times in RFC 3339, as slog's JSON handler
// does, so that the values compare as they are; everything else is zap's
// production encoder configuration.
var backends = []struct {
	name string
	set  func(cfg *Config, w zapcore.WriteSyncer, level zapcore.Level)
}{
	{"zap", func(cfg *Config, w zapcore.WriteSyncer, level zapcore.Level) {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeDuration = zapcore.NanosDurationEncoder
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		cfg.Logger = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), w, level))
	}},
	{"slog", func(cfg *Config, w zapcore.WriteSyncer, level zapcore.Level) {
		cfg.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slogLevel(level)})
	}},
}

// newBackendLogger returns a security logger for cfg writing JSON lines to
// a buffer through backend b (an index in backends).
func newBackendLogger(t testing.TB, b int, cfg Config) (*Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	backends[b].set(&cfg, buf, zapcore.DebugLevel)
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
}

// A logLine is one JSON line: what the encoder writes itself (level,
// message, logger name, caller, stack trace) apart, and the fields in
// their order. The time is left out: it differs between two runs.
type logLine struct {
	Level, Msg, Logger string
	Keys               []string
	Fields             map[string]any
}

// builtin maps the keys that zap's and slog's encoders write themselves to
// the logLine member they fill ("" for the time, which is dropped).
var builtin = map[string]string{"level": "level", "msg": "msg", "logger": "logger", "ts": "", "time": ""}

// parseLines reads buf's JSON lines, keeping the order of the keys.
func parseLines(t testing.TB, buf *syncBuffer) []logLine {
	t.Helper()
	var out []logLine
	for line := range strings.SplitSeq(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("not a JSON object: %q", line)
		}
		l := logLine{Fields: map[string]any{}}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%v in %q", err, line)
			}
			key := tok.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%v in %q", err, line)
			}
			v = sameNumbers(v)
			switch b, ok := builtin[key]; {
			case !ok:
				l.Keys = append(l.Keys, key)
				l.Fields[key] = v
			case b == "level":
				l.Level = strings.ToLower(v.(string)) // zap "warn", slog "WARN"
			case b == "msg":
				l.Msg = v.(string)
			case b == "logger":
				l.Logger = v.(string)
			}
		}
		out = append(out, l)
	}
	return out
}

// sameNumbers writes each number of v in one form, so that the numbers
// compare by value: zap writes 1.5e-7 as 0.00000015, slog as 1.5e-7.
// Integers are kept as they are written (a float64 would round 1<<63+1).
func sameNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if _, err := v.Int64(); err == nil || !strings.ContainsAny(string(v), ".eE") {
			return v
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, e := range v {
			v[k] = sameNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = sameNumbers(e)
		}
	}
	return v
}

// compareLines reports every difference between the lines written through
// zap and through slog.
func compareLines(t *testing.T, zapLines, slogLines []logLine) {
	t.Helper()
	if len(zapLines) != len(slogLines) {
		t.Fatalf("zap wrote %d lines, slog %d", len(zapLines), len(slogLines))
	}
	for i, z := range zapLines {
		if s := slogLines[i]; !reflect.DeepEqual(z, s) {
			t.Errorf("line %d differs:\nzap:  %+v\nslog: %+v", i, z, s)
		}
	}
}

type addrStringer struct{ netip.Addr }

// catalogFields returns a value for each of ev's own fields, of a type
// that changes from field to field and from event to event, so that the
// catalog run writes every type of field an event can carry.
func catalogFields(i int, ev *Event) []zap.Field {
	at := time.Date(2026, 12, 6, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	var fs []zap.Field
	for j, key := range ev.Fields {
		switch (i + j) % 10 {
		case 0:
			fs = append(fs, String(key, "value of "+key+"\r\n\u202e"))
		case 1:
			fs = append(fs, zap.Int(key, -(i*100+j)))
		case 2:
			fs = append(fs, zap.Bool(key, j%2 == 0))
		case 3:
			fs = append(fs, zap.Int64(key, int64(i)<<40+int64(j)))
		case 4:
			fs = append(fs, zap.Uint64(key, 1<<63+uint64(i)))
		case 5:
			fs = append(fs, zap.Stringer(key, addrStringer{netip.MustParseAddr("2001:db8::1")}))
		case 6:
			fs = append(fs, zap.NamedError(key, fmt.Errorf("store: %w", errors.New("connection refused"))))
		case 7:
			fs = append(fs, zap.Duration(key, time.Duration(i)*time.Second+time.Millisecond))
		case 8:
			fs = append(fs, zap.Time(key, at.Add(time.Duration(j)*time.Hour)))
		case 9:
			fs = append(fs, zap.Float64(key, 0.25+float64(i)))
		}
	}
	return fs
}

// TestCatalogSameThroughZapAndSlog runs every event of the catalog, with a
// value for each of its fields, through a zap logger and through a slog
// handler, and compares the two logs event by event: the same message
// (the event's name), level and logger name, the same fields in the same
// order with the same values, and those fields are the contract of
// docs/security-events.md (the common fields, then the event's own).
func TestCatalogSameThroughZapAndSlog(t *testing.T) {
	r := httptest.NewRequest("POST", "/static/%2e%2e/admin", nil)
	r.RemoteAddr = "10.1.2.3:4444"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("X-Request-Id", "req-1\r\nforged")
	r = r.WithContext(WithUser(r.Context(), "alice"))
	cfg := Config{TrustedProxies: []string{"10.0.0.0/8"}}

	var logs [2][]logLine
	for b := range backends {
		l, buf := newBackendLogger(t, b, cfg)
		for i, ev := range Catalog() {
			l.Log(r, ev, catalogFields(i, ev)...)
		}
		logs[b] = parseLines(t, buf)
	}
	compareLines(t, logs[0], logs[1])

	catalog := Catalog()
	if len(logs[1]) != len(catalog) {
		t.Fatalf("%d lines for %d events", len(logs[1]), len(catalog))
	}
	for i, line := range logs[1] {
		ev := catalog[i]
		if line.Msg != ev.Name || line.Level != ev.Level.String() || line.Logger != Name {
			t.Errorf("event %s: msg %q level %q logger %q", ev.Name, line.Msg, line.Level, line.Logger)
		}
		if want := append(slices.Clone(CommonFields), ev.Fields...); !slices.Equal(line.Keys, want) {
			t.Errorf("event %s: fields %v, want %v", ev.Name, line.Keys, want)
		}
	}
}

type ordered struct{}

func (ordered) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("z", "first")
	enc.AddInt("a", 2)
	return enc.AddObject("nested", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
		enc.AddBool("ok", true)
		return nil
	}))
}

type verboseError struct{}

func (verboseError) Error() string { return "short" }
func (verboseError) Format(s fmt.State, verb rune) {
	if s.Flag('+') {
		fmt.Fprint(s, "short\nwith detail")
		return
	}
	fmt.Fprint(s, "short")
}

// TestFieldTypesSameThroughZapAndSlog: each kind of zap field is written
// with the same key and value by slog's JSON handler as by zap's JSON
// encoder.
func TestFieldTypesSameThroughZapAndSlog(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	var nilAddr *netip.Addr
	for _, tc := range []struct {
		name   string
		fields []zap.Field
	}{
		{"string", []zap.Field{zap.String("s", "a\"b"), String("hostile", "x\r\ny"), zap.ByteString("bs", []byte("raw"))}},
		{"binary", []zap.Field{zap.Binary("bin", []byte{0, 1, 2, 255})}},
		{"bool", []zap.Field{zap.Bool("t", true), zap.Bool("f", false)}},
		{"signed", []zap.Field{zap.Int("i", -1), zap.Int8("i8", -8), zap.Int16("i16", -16), zap.Int32("i32", -32), zap.Int64("i64", -1<<62)}},
		{"unsigned", []zap.Field{zap.Uint("u", 1), zap.Uint8("u8", 8), zap.Uint16("u16", 16), zap.Uint32("u32", 32), zap.Uint64("u64", 1<<63), zap.Uintptr("up", 0xdead)}},
		{"float", []zap.Field{zap.Float64("f64", 1.5e-7), zap.Float32("f32", 0.1)}},
		{"complex", []zap.Field{zap.Complex128("c128", 1.5-2i), zap.Complex64("c64", 0.1+0.2i)}},
		{"duration", []zap.Field{zap.Duration("d", 1500*time.Millisecond)}},
		{"time", []zap.Field{zap.Time("at", at), zap.Time("utc", at.UTC())}},
		{"error", []zap.Field{zap.Error(errors.New("boom")), zap.NamedError("cause", verboseError{})}},
		{"stringer", []zap.Field{zap.Stringer("addr", netip.MustParseAddr("192.0.2.1")), zap.Stringer("nil", nilAddr)}},
		{"array", []zap.Field{zap.Strings("ss", []string{"a", "b"}), zap.Ints("is", []int{1, 2}), zap.Durations("ds", []time.Duration{time.Second})}},
		{"object", []zap.Field{zap.Object("obj", ordered{})}},
		{"reflected", []zap.Field{zap.Any("m", map[string]int{"b": 2, "a": 1}), zap.Reflect("list", []string{"x"})}},
		{"namespace", []zap.Field{zap.String("before", "b"), zap.Namespace("ns"), zap.String("inside", "i"), zap.Namespace("deeper"), zap.Int("n", 1)}},
		{"skip", []zap.Field{zap.Skip(), zap.String("after", "a")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs [2][]logLine
			for b := range backends {
				l, buf := newBackendLogger(t, b, Config{})
				l.Zap().Info("types", tc.fields...)
				logs[b] = parseLines(t, buf)
			}
			compareLines(t, logs[0], logs[1])
			if len(logs[1]) != 1 || len(logs[1][0].Keys) == 0 {
				t.Fatalf("slog wrote %+v", logs[1])
			}
		})
	}
}

// TestWithSameThroughZapAndSlog: fields given to zap's With, namespaces
// among them, come out as zap writes them.
func TestWithSameThroughZapAndSlog(t *testing.T) {
	var logs [2][]logLine
	for b := range backends {
		l, buf := newBackendLogger(t, b, Config{})
		z := l.Zap().With(zap.String("app", "shop"), zap.Namespace("req"), zap.Int("n", 1))
		z.Warn("with", zap.String("own", "x"))
		logs[b] = parseLines(t, buf)
	}
	compareLines(t, logs[0], logs[1])
}

// TestSamplingSameThroughZapAndSlog: a flood of high-volume events is
// sampled the same through a slog handler as through zap, the same drops
// are counted, and the same drop reports are written.
func TestSamplingSameThroughZapAndSlog(t *testing.T) {
	cfg := Config{Sampling: Sampling{Interval: 1 << 62, First: 5, Thereafter: 10}}
	r := httptest.NewRequest("GET", "/", nil)
	var logs [2][]logLine
	var dropped [2]map[string]uint64
	for b := range backends {
		l, buf := newBackendLogger(t, b, cfg)
		for i := range 1000 {
			l.Log(r, PathRejected, zap.Int("i", i))
			if i%3 == 0 {
				l.Log(r, AjaxOnlyRefused)
			}
			if i%100 == 0 {
				l.Log(r, MFAReplay) // not high-volume: never sampled
			}
		}
		dropped[b] = l.Dropped()
		l.ReportDropped()
		logs[b] = parseLines(t, buf)
	}
	compareLines(t, logs[0], logs[1])
	if !reflect.DeepEqual(dropped[0], dropped[1]) {
		t.Errorf("Dropped: zap %v, slog %v", dropped[0], dropped[1])
	}
	written, reports := map[string]int{}, 0
	for _, line := range logs[1] {
		written[line.Msg]++
		if line.Msg == SamplingDropped.Name {
			reports++
			ev := line.Fields["dropped_event"].(string)
			if n := line.Fields["dropped"].(json.Number).String(); n != fmt.Sprint(dropped[1][ev]) {
				t.Errorf("report of %s: dropped %s, want %d", ev, n, dropped[1][ev])
			}
		}
	}
	want := map[string]int{PathRejected.Name: 5 + 995/10, AjaxOnlyRefused.Name: 5 + 329/10, MFAReplay.Name: 10, SamplingDropped.Name: 2}
	if !reflect.DeepEqual(written, want) || reports != 2 {
		t.Errorf("slog wrote %v, want %v", written, want)
	}
}

// recordHandler keeps the records it is given, and the context of each.
type recordHandler struct {
	mu      sync.Mutex
	level   slog.Leveler
	records []slog.Record
	ctxs    []context.Context
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *recordHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	h.ctxs = append(h.ctxs, ctx)
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { panic("not used") }
func (h *recordHandler) WithGroup(string) slog.Handler      { panic("not used") }

type traceKey struct{}

// TestSlogRecord: what a slog handler is given for an event: the event's
// name as message, slog's level, the caller's program counter, typed
// attributes, and the request's context (where a handler finds a trace
// id, as slog.Logger.LogAttrs(ctx, …) gives it).
func TestSlogRecord(t *testing.T) {
	h := &recordHandler{level: slog.LevelDebug}
	l, err := New(Config{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), traceKey{}, "trace-1"))
	l.Log(r, MFAFailure, String("mfa_method", "totp"), zap.Int64("attempts", 3))
	l.Log(nil, SystemStartup)
	if len(h.records) != 2 {
		t.Fatalf("%d records", len(h.records))
	}
	rec := h.records[0]
	if rec.Message != MFAFailure.Name || rec.Level != slog.LevelWarn || rec.PC == 0 || rec.Time.IsZero() {
		t.Errorf("record: message %q level %v pc %#x time %v", rec.Message, rec.Level, rec.PC, rec.Time)
	}
	if got := h.ctxs[0].Value(traceKey{}); got != "trace-1" {
		t.Errorf("the handler's context has trace %v, want the request's", got)
	}
	if h.ctxs[1] == nil {
		t.Error("an event without a request has a nil context")
	}
	attrs := map[string]slog.Value{}
	var keys []string
	rec.Attrs(func(a slog.Attr) bool {
		keys = append(keys, a.Key)
		attrs[a.Key] = a.Value
		return true
	})
	if want := append([]string{"logger"}, append(slices.Clone(CommonFields), "mfa_method", "attempts")...); !slices.Equal(keys, want) {
		t.Errorf("attributes %v, want %v", keys, want)
	}
	if v := attrs["attempts"]; v.Kind() != slog.KindInt64 || v.Int64() != 3 {
		t.Errorf("attempts = %v (%v), want the int64 3", v, v.Kind())
	}
	if v := attrs["logger"]; v.String() != Name {
		t.Errorf("logger = %v", v)
	}
	for zl, want := range map[zapcore.Level]slog.Level{
		zapcore.DebugLevel: slog.LevelDebug, zapcore.InfoLevel: slog.LevelInfo,
		zapcore.WarnLevel: slog.LevelWarn, zapcore.ErrorLevel: slog.LevelError,
		zapcore.DPanicLevel: slog.LevelError + 4, zapcore.FatalLevel: slog.LevelError + 12,
	} {
		if got := slogLevel(zl); got != want {
			t.Errorf("slogLevel(%v) = %v, want %v", zl, got, want)
		}
	}
}

// TestSlogStackTrace: a stack trace that zap takes (an option of the zap
// logger given to New, or of a logger derived from Zap) reaches the slog
// handler as a "stacktrace" attribute, after the fields, as zap writes it.
func TestSlogStackTrace(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Config{Handler: slog.NewJSONHandler(&buf, nil)})
	if err != nil {
		t.Fatal(err)
	}
	l.Zap().WithOptions(zap.AddStacktrace(zapcore.ErrorLevel)).Error("failed", zap.String("k", "v"))
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if st, _ := m["stacktrace"].(string); !strings.Contains(st, "TestSlogStackTrace") || m["k"] != "v" {
		t.Errorf("line %v: want k and a stack trace through this test", m)
	}
}
