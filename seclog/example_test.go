package seclog_test

import (
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
	// {"level":"warn","logger":"security","msg":"path.rejected","event":"path.rejected","owasp":"input_validation_fail","method":"GET","path":"/static/%2e%2e/admin","remote_ip":"203.0.113.9","user":"","request_id":"req-42\\x0d\\x0aforged: line","reason":"encoded-dot-segment"}
}
