package seclog

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func benchLogger(b *testing.B, level zapcore.Level, s Sampling) *Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	l, err := New(Config{
		Logger:   zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), level)),
		Sampling: s,
	})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkLog emits one security event about a request, with its common
// fields and two of its own, JSON-encoded to io.Discard.
func BenchmarkLog(b *testing.B) {
	l := benchLogger(b, zapcore.DebugLevel, Sampling{Disabled: true})
	r := httptest.NewRequest("GET", "/account/settings", nil)
	r.Header.Set("X-Request-Id", "4bf92f3577b34da6")
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r, PathRejected, String("reason", "dot-segment"))
	}
}

// BenchmarkLogSampledOut measures a high-volume event that the sampler
// drops: the cost an attacker's flood puts on the server.
func BenchmarkLogSampledOut(b *testing.B) {
	l := benchLogger(b, zapcore.DebugLevel, Sampling{Interval: 1 << 62, First: 1, Thereafter: 1 << 30})
	r := httptest.NewRequest("GET", "/account/settings", nil)
	l.Log(r, PathRejected)
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r, PathRejected, String("reason", "dot-segment"))
	}
}

// BenchmarkLogDisabledLevel measures an event below the logger's level.
func BenchmarkLogDisabledLevel(b *testing.B) {
	l := benchLogger(b, zapcore.ErrorLevel, Sampling{})
	r := httptest.NewRequest("GET", "/account/settings", nil)
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r, PathRejected, String("reason", "dot-segment"))
	}
}

func BenchmarkSanitize(b *testing.B) {
	b.Run("clean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Sanitize("/account/settings?tab=security")
		}
	})
	hostile := string(make([]byte, 10*1024))
	b.Run("hostile10KB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Sanitize(hostile)
		}
	})
}

func BenchmarkClientIP(b *testing.B) {
	p, _ := ParseProxies("10.0.0.0/8", "172.16.0.0/12")
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7, 172.16.0.4")
	b.ReportAllocs()
	for b.Loop() {
		_ = p.ClientIP(r)
	}
}

// BenchmarkLogJSON writes the event of BenchmarkLog as a JSON line to
// io.Discard through each way of writing: zap's JSON encoder (zap; and
// zap-caller, with zap.AddCaller, as zap's production configuration has
// it) and log/slog's JSON handler under zap (slog, which always takes the
// caller, as slog.Logger does). Besides the time, it reports the CPU time
// the process spent per event (cpu-ns/op, where the system tells it),
// which other processes on a busy machine disturb less.
func BenchmarkLogJSON(b *testing.B) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	zc := zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.DebugLevel)
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"zap", Config{Logger: zap.New(zc)}},
		{"zap-caller", Config{Logger: zap.New(zc, zap.AddCaller())}},
		{"slog", Config{Handler: slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.cfg.Sampling = Sampling{Disabled: true}
			l, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/account/settings", nil)
			r.Header.Set("X-Request-Id", "4bf92f3577b34da6")
			b.ReportAllocs()
			cpu := testenv.ProcessCPU()
			for b.Loop() {
				l.Log(r, PathRejected, String("reason", "dot-segment"))
			}
			if cpu > 0 {
				b.ReportMetric(float64(testenv.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
