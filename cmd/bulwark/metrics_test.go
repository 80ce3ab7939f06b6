package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwark-go/bulwark/seclog"
)

// TestCollectMetrics: with -metrics-addr (or BULWARK_METRICS_ADDR), collect
// serves Prometheus metrics on that listener: the receiver's counts after
// the reports posted, the Go runtime's and the process's; the report
// listener serves none. Without it, no metrics are served.
func TestCollectMetrics(t *testing.T) {
	for _, viaEnv := range []bool{false, true} {
		name := "flag"
		if viaEnv {
			name = "environment"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"-db", filepath.Join(t.TempDir(), "reports.db"), "-rate-limit", "0"}
			if viaEnv {
				t.Setenv("BULWARK_METRICS_ADDR", "127.0.0.1:0")
			} else {
				args = append(args, "-metrics-addr", "127.0.0.1:0")
			}
			line, stop := startCollectorLine(t, args...)
			reports := regexp.MustCompile(`http://\S+/csp-report`).FindString(line)
			scrape := regexp.MustCompile(`http://\S+/metrics`).FindString(line)
			if reports == "" || scrape == "" {
				t.Fatalf("no report and metrics URLs in %q", line)
			}
			for _, p := range []struct{ ctype, body string }{
				{"application/csp-report", collectLegacy},
				{"application/csp-report", collectLegacy},
				{"application/reports+json", collectBatch},
				{"text/plain", collectLegacy},
			} {
				resp, err := http.Post(reports, p.ctype, strings.NewReader(p.body))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			code, body := get(t, scrape)
			if code != 200 {
				t.Fatalf("GET /metrics: %d", code)
			}
			for _, want := range []string{
				`bulwark_cspreport_requests_accepted_total 3`,
				`bulwark_cspreport_requests_refused_total{reason="content-type",status="415"} 1`,
				`bulwark_cspreport_requests_refused_total{reason="store-error",status="503"} 0`,
				`bulwark_cspreport_reports_total{outcome="stored"} 3`,
				`bulwark_cspreport_reports_total{outcome="other"} 1`,
				`bulwark_cspreport_reports_other_total{type="deprecation"} 1`,
				`bulwark_cspreport_new_groups_total `, // counted when sqlstore's fold merges them
				`bulwark_cspreport_store_failing 0`,
				`bulwark_cspreport_commit_duration_seconds_count `,
				`go_goroutines `,
				`promhttp_metric_handler_requests_total{code="200"} `,
				`process_resident_memory_bytes `,
			} {
				if !strings.Contains(body, "\n"+want) {
					t.Errorf("no %q in the metrics", want)
				}
			}
			if code, _ := get(t, strings.TrimSuffix(reports, "/csp-report")+"/metrics"); code != 404 {
				t.Errorf("GET /metrics on the report listener: %d, want 404", code)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("off by default", func(t *testing.T) {
		line, _ := startCollectorLine(t, "-db", filepath.Join(t.TempDir(), "reports.db"))
		if strings.Contains(line, "metrics") {
			t.Errorf("metrics served without -metrics-addr: %q", line)
		}
	})
}

// TestCollectMetricsAddrInUse: a -metrics-addr that cannot be listened on
// is an error that names the flag, and collect does not start.
func TestCollectMetricsAddrInUse(t *testing.T) {
	line, _ := startCollectorLine(t, "-db", filepath.Join(t.TempDir(), "a.db"), "-metrics-addr", "127.0.0.1:0")
	taken := regexp.MustCompile(`http://(\S+)/metrics`).FindStringSubmatch(line)
	if taken == nil {
		t.Fatalf("no metrics URL in %q", line)
	}
	err := run(t.Context(), []string{"collect", "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "b.db"), "-metrics-addr", taken[1]}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-metrics-addr") {
		t.Fatalf("metrics address in use: %v", err)
	}
}

// TestDroppedEventsMetric: the events seclog's sampler drops are exported
// by event name.
func TestDroppedEventsMetric(t *testing.T) {
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.DebugLevel)
	sec, err := seclog.New(seclog.Config{Logger: zap.New(core), Sampling: seclog.Sampling{Interval: time.Hour, First: 1, Thereafter: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sec.Log(nil, seclog.CSPReportRejected, zap.Int("status", 415), zap.String("reason", "content-type"))
	}
	want := `
# HELP bulwark_seclog_dropped_events_total Security events the log's sampler dropped (not written), by event.
# TYPE bulwark_seclog_dropped_events_total counter
bulwark_seclog_dropped_events_total{event="cspreport.rejected"} 2
`
	if err := testutil.CollectAndCompare(newDroppedEvents(sec), strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(newDroppedEvents(sec)); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
