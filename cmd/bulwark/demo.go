package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/pathrule"
	"github.com/bulwark-go/bulwark/internal/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/unrolled/secure"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// defaultDBPath is the demo's SQLite file: in the user's cache directory,
// so that running the demo from a checkout leaves the work tree clean.
func defaultDBPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "bulwark", "demo.db")
}

// newSecurityLogger returns the demo's zap logger: JSON lines on w, no
// sampler of zap's own (seclog samples only the high-volume events).
func newSecurityLogger(w io.Writer) (*seclog.Logger, *zap.Logger) {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	z := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zapcore.InfoLevel))
	return seclog.New(z), z
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dbPath := fs.String("db", defaultDBPath(), "SQLite database file of the demo")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q", fs.Arg(0))
	}

	sec, z := newSecurityLogger(stderr)
	defer z.Sync() //nolint:errcheck // stderr

	if err := os.MkdirAll(filepath.Dir(*dbPath), 0o700); err != nil {
		return fmt.Errorf("demo: database directory: %w", err)
	}
	db, err := sqlstore.Open(ctx, "sqlite:"+*dbPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer db.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	srv := &http.Server{
		Handler:           newDemoHandler(sec, db),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(z.Named("http")),
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "bulwark demo: serving on %s (database %s)\n", url, *dbPath)
	sec.Log(nil, seclog.SystemStartup, zap.String("command", "demo"), zap.String("addr", ln.Addr().String()), zap.String("version", version()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		sec.Log(nil, seclog.SystemShutdown, zap.String("command", "demo"), zap.String("reason", err.Error()))
		return fmt.Errorf("demo: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	sec.ReportDropped()
	sec.Log(nil, seclog.SystemShutdown, zap.String("command", "demo"), zap.String("reason", "signal"))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo: shutdown: %w", err)
	}
	return nil
}

// newDemoHandler builds the demo site: path cleaning first, then the
// recommended chain, then the routes.
func newDemoHandler(sec *seclog.Logger, db *sqlstore.DB) http.Handler {
	sessions := scs.New()
	sessions.Cookie.Name = "bulwark_session"
	sessions.Cookie.SameSite = http.SameSiteLaxMode

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := homePage.Execute(w, nil); err != nil {
			sec.Zap().Error("demo: render home page", zap.Error(err))
		}
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"status":"unavailable"}`+"\n")
			return
		}
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})

	chain := bulwark.Chain{
		Secure:   secure.New(bulwark.SecureOptions()),
		Sessions: sessions,
	}
	clean := pathrule.Clean(func(r *http.Request, reason string) {
		sec.Log(r, seclog.PathRejected, seclog.String("reason", reason))
	})
	return clean(chain.Then(mux))
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>bulwark demo</title></head>
<body>
<h1>bulwark demo</h1>
<p>This site runs the bulwark chain. On this page:</p>
<ul>
<li><b>unrolled/secure</b> with <code>bulwark.SecureOptions()</code> sent
<code>X-Content-Type-Options: nosniff</code>, <code>X-Frame-Options: DENY</code>,
<code>X-XSS-Protection: 0</code> and the Cross-Origin policies (and HSTS, over HTTPS only).</li>
<li><b>scs</b> loaded the session (cookie <code>bulwark_session</code>, set only when the session holds data).</li>
<li><b>internal/pathrule</b> refused or redirected any path that is not clean
(try <a href="/static/%2e%2e/health">/static/%2e%2e/health</a>), and logged a <code>path.rejected</code> security event.</li>
</ul>
<p>Security events are written to the terminal as JSON lines. <a href="/health">/health</a> checks the database.</p>
</body>
</html>
`))
