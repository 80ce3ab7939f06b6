package seclog_test

import (
	"log"
	"log/slog"
	"net/http/httptest"
	"os"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// One security logger for the whole application: every middleware of the
// suite is given the same *seclog.Logger.
func Example() {
	// A zap logger writing JSON to stdout, without a time field so that the
	// example's output is stable. In production use your own zap logger.
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = ""
	z := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(os.Stdout), zapcore.InfoLevel))

	sec, err := seclog.New(seclog.Config{
		Logger:         z,
		TrustedProxies: []string{"10.0.0.0/8"},
	})
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest("GET", "/static/%2e%2e/admin", nil)
	r.RemoteAddr = "10.0.0.7:41000"                        // the load balancer
	r.Header.Set("X-Forwarded-For", "203.0.113.9")         // the client, as it saw it
	r.Header.Set("X-Request-Id", "req-42\r\nforged: line") // hostile: escaped, never a new line
	sec.Log(r, seclog.PathRejected, seclog.String("reason", "encoded-dot-segment"))
	// Output:
	// {"level":"warn","logger":"security","msg":"path.rejected","event":"path.rejected","owasp":"input_validation_fail","method":"GET","path":"/static/%2e%2e/admin","remote_ip":"203.0.113.9","user":"","auth":"","request_id":"req-42\\x0d\\x0aforged: line","reason":"encoded-dot-segment"}
}

// A program that logs with log/slog hands its handler over (here a JSON
// handler; logger.Handler() of an existing *slog.Logger works the same,
// with its attributes). The events, fields and sampling are those of the
// zap example above; the record's time is left out so that the output is
// stable.
func ExampleNew_slog() {
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	sec, err := seclog.New(seclog.Config{
		Handler:        h,
		TrustedProxies: []string{"10.0.0.0/8"},
	})
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest("GET", "/static/%2e%2e/admin", nil)
	r.RemoteAddr = "10.0.0.7:41000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("X-Request-Id", "req-42\r\nforged: line")
	sec.Log(r, seclog.PathRejected, seclog.String("reason", "encoded-dot-segment"))
	// Output:
	// {"level":"WARN","msg":"path.rejected","logger":"security","event":"path.rejected","owasp":"input_validation_fail","method":"GET","path":"/static/%2e%2e/admin","remote_ip":"203.0.113.9","user":"","auth":"","request_id":"req-42\\x0d\\x0aforged: line","reason":"encoded-dot-segment"}
}

// A middleware given no logger uses seclog.Default, which writes to
// slog.Default() as it is when the event is written: here a text handler
// set after the logger was made. Without slog.SetDefault the events go to
// the log package (stderr). seclog.Discard is the way to drop them.
func ExampleDefault() {
	prev := slog.Default()
	defer slog.SetDefault(prev)
	w, flags := log.Writer(), log.Flags()
	defer func() { log.SetOutput(w); log.SetFlags(flags) }() // slog.SetDefault redirects the log package too

	sec := seclog.Default() // what a Config with a nil Logger gets
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})))
	sec.Log(nil, seclog.SystemStartup, seclog.String("command", "demo"))
	seclog.Discard().Log(nil, seclog.SystemStartup, seclog.String("command", "silent"))
	// Output:
	// level=INFO msg=system.startup logger=security event=system.startup owasp=sys_startup command=demo
}
