package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/metrics"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/postgres"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// defaultReportsDB is the collector's SQLite file when -db is not given:
// beside the demo's, in the user's cache directory.
func defaultReportsDB() string {
	return filepath.Join(filepath.Dir(defaultDBPath()), "csp-reports.db")
}

// openDB opens the database of -db with the driver its form names: a
// postgres:// or postgresql:// URL with sqldb/postgres, anything else (a
// file path, "sqlite:PATH", "file:…", ":memory:") with sqldb/sqlite, which
// creates the file but not its directory (see makeDefaultDir). The command
// links both drivers; an application that uses one imports that one alone.
func openDB(ctx context.Context, dsn string) (*sqldb.DB, error) {
	if isPostgresURL(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// isPostgresURL reports whether a -db value names PostgreSQL (a
// postgres:// or postgresql:// URL, in any case) rather than an SQLite
// file.
func isPostgresURL(dsn string) bool {
	lower := strings.ToLower(dsn)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// reportStore is the report store of -db and the database under it, which
// Close closes after the store.
type reportStore struct {
	*cspsql.Store
	db *sqldb.DB
}

// Close closes the store (it folds what its journal holds), then the
// database.
func (s *reportStore) Close() error { return errors.Join(s.Store.Close(), s.db.Close()) }

// openReportStore opens the database of -db (see openDB) and the report
// store on it.
func openReportStore(ctx context.Context, dsn string) (*reportStore, error) {
	db, err := openDB(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s, err := cspsql.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &reportStore{s, db}, nil
}

// runCollect is `bulwark collect`: the stand-alone CSP report collector,
// the receiver mounted at /csp-report on an http.Server with timeouts.
func runCollect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark collect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at /metrics on this address of its own, such as 127.0.0.1:9464\n(empty: none; keep it off the internet, never the -addr listener)")
	db := fs.String("db", defaultReportsDB(), "report database: an SQLite file, or a postgres:// URL")
	rate := fs.Float64("rate-limit", 20, "reports per second per client address prefix (/24, /64); 0 turns limiting off")
	burst := fs.Int("burst", 200, "reports a client may send at once before -rate-limit applies")
	origins := fs.String("allow-origin", "", "comma-separated origins allowed to upload cross-origin (Reporting API), or *")
	retain := fs.Duration("retain", 90*24*time.Hour, "delete what was last seen longer ago than this (0 keeps everything)")
	proxies := fs.String("trusted-proxies", "", "comma-separated reverse proxies (CIDR or address) whose X-Forwarded-For is believed")
	keepOther := fs.Bool("keep-other", false, "store Reporting API reports of other types (deprecation, intervention …) apart from the CSP figures")
	rawEvents := fs.Int("raw-events", 0, "keep the JSON of at most this many violation reports per detail key and hour (0: none; they hold full URLs)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file, for measurements (bench/collect)")
	collectHelp.install(fs)
	if done, err := parseFlags(fs, args, stdout); done || err != nil {
		return prefixErr("collect", err)
	}
	if err := makeDefaultDir(*db, defaultReportsDB()); err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	if *rate < 0 || *burst < 1 || *retain < 0 || *rawEvents < 0 {
		return errors.New("collect: -rate-limit, -retain and -raw-events must not be negative, -burst must be at least 1")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("collect: -cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("collect: -cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	_, z := newSecurityLogger(stderr)
	defer z.Sync() //nolint:errcheck // stderr
	sec, err := seclog.New(seclog.Config{Logger: z, TrustedProxies: splitList(*proxies)})
	if err != nil {
		return fmt.Errorf("collect: -trusted-proxies: %w", err)
	}
	store, err := openReportStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			store.Close()
		}
	}()
	rcv, err := cspreport.New(cspreport.Config{
		Store:          store,
		Logger:         sec,
		AllowedOrigins: splitList(*origins),
		RateLimit:      cspreport.RateLimit{Disabled: *rate == 0, PerSecond: *rate, Burst: *burst},
		KeepOther:      *keepOther,
		RawEvents:      *rawEvents,
	})
	if err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/csp-report", rcv)
	mux.Handle("GET /health", readiness(rcv))
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		rcv.Close(context.Background())
		return fmt.Errorf("collect: %w", err)
	}
	srv := collectServer(mux, z)
	servers := []*http.Server{srv}
	listening := fmt.Sprintf("receiving on http://%s/csp-report", ln.Addr())
	var metricsLn net.Listener
	if *metricsAddr != "" {
		h, err := metricsHandler(rcv, sec)
		if err == nil {
			metricsLn, err = net.Listen("tcp", *metricsAddr)
		}
		if err != nil {
			ln.Close()
			rcv.Close(context.Background())
			return fmt.Errorf("collect: -metrics-addr: %w", err)
		}
		servers = append(servers, collectServer(h, z))
		listening += fmt.Sprintf(", metrics on http://%s/metrics", metricsLn.Addr())
	}
	fmt.Fprintf(stdout, "bulwark collect: %s (database %s)\n", listening, redactDSN(*db))
	sec.Log(nil, seclog.SystemStartup, zap.String("command", "collect"), zap.String("addr", ln.Addr().String()), zap.String("version", version()))

	if *retain > 0 {
		go retainLoop(ctx, store, *retain, z)
	}
	errc := make(chan error, len(servers))
	go func() { errc <- srv.Serve(ln) }()
	if metricsLn != nil {
		go func() { errc <- servers[1].Serve(metricsLn) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	// Stop taking connections, let the handlers in flight get their
	// commit, then commit what is queued, then close the store (its last
	// fold); see collectDrainTimeout for the bound.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), collectDrainTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	for _, s := range servers[1:] {
		err = errors.Join(err, s.Shutdown(shutdownCtx))
	}
	if cerr := rcv.Close(shutdownCtx); cerr != nil {
		z.Error("collect: closing the receiver", zap.Error(cerr))
		err = errors.Join(err, cerr)
	}
	closed = true
	if cerr := store.Close(); cerr != nil {
		z.Error("collect: closing the report store", zap.Error(cerr))
		err = errors.Join(err, fmt.Errorf("closing the report store: %w", cerr))
	}
	sec.ReportDropped()
	reason := "signal"
	if serveErr != nil {
		reason = serveErr.Error()
	}
	sec.Log(nil, seclog.SystemShutdown, zap.String("command", "collect"), zap.String("reason", reason))
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("collect: %w", serveErr)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("collect: shutdown: %w", err)
	}
	return nil
}

// The collector's time bounds. A request waits at most
// cspreport.DefaultCommitTimeout (5s) for its commit, well inside
// collectWriteTimeout, so its 503 reaches the client. On SIGTERM,
// Shutdown and the receiver's last commit take at most
// collectDrainTimeout, and the store's Close at most
// cspsql.CloseTimeout more (its last fold, plus a second for a hung
// PostgreSQL connection to be dropped): under 30s, a usual grace period.
const (
	collectWriteTimeout = 30 * time.Second
	collectDrainTimeout = 10 * time.Second
)

// collectServer is an http.Server of the collector for h, with its
// timeouts.
func collectServer(h http.Handler, z *zap.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      collectWriteTimeout,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(z.Named("http")),
	}
}

// metricsHandler serves GET /metrics of -metrics-addr: the receiver's
// metrics (cspreport/metrics), the security events the logger's sampler
// dropped (droppedEvents), the Go runtime's and the process's, in
// Prometheus' text format, on a listener of their own. The report
// listener takes requests from the internet; the metrics tell how the
// collector and its store are doing and are for the operator's
// monitoring, so they are never served there, and -metrics-addr is
// empty (no metrics) unless the operator chooses where.
func metricsHandler(rcv *cspreport.Receiver, sec *seclog.Logger) (http.Handler, error) {
	c, err := metrics.New(rcv, metrics.Config{})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	if err := reg.Register(newDroppedEvents(sec)); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	return mux, nil
}

// droppedEvents exports seclog.Logger.Dropped: the high-volume security
// events the sampler left out of the log, by event name (a name of the
// catalog: a bounded set), as bulwark_seclog_dropped_events_total. A flood
// the log only samples shows there in full.
type droppedEvents struct {
	log  *seclog.Logger
	desc *prometheus.Desc
}

func newDroppedEvents(log *seclog.Logger) droppedEvents {
	return droppedEvents{log, prometheus.NewDesc("bulwark_seclog_dropped_events_total",
		"Security events the log's sampler dropped (not written), by event.", []string{"event"}, nil)}
}

func (d droppedEvents) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d droppedEvents) Collect(ch chan<- prometheus.Metric) {
	for name, n := range d.log.Dropped() {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(n), name)
	}
}

// readiness is /health: 200 "ok" while the receiver's store writes, 503
// with Retry-After while it fails (see cspreport.Receiver.Check), so that
// a load balancer stops sending reports to this instance. The error's
// text is logged by the receiver, never served: it may name hosts.
func readiness(rcv *cspreport.Receiver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := rcv.Check(r.Context()); err != nil {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "unavailable: the report store cannot write\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
}

// retainLoop deletes old reports at start and then every hour.
func retainLoop(ctx context.Context, store cspreport.Store, retain time.Duration, z *zap.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := store.DeleteBefore(ctx, time.Now().Add(-retain), 1000)
		if err != nil && ctx.Err() == nil {
			z.Warn("collect: retention", zap.Error(err))
		} else if n > 0 {
			z.Info("collect: retention", zap.Int64("deleted_rows", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redactDSN hides the password of a PostgreSQL URL.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if c := strings.Index(dsn[i+3:at], ":"); c >= 0 {
				return dsn[:i+3+c] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}
