package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/metrics"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
)

// failStore is a MemoryStore whose Save fails while fail is set, as a
// full disk or a stopped database does.
type failStore struct {
	*cspreport.MemoryStore
	fail atomic.Bool
}

func (s *failStore) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	if s.fail.Load() {
		return nil, errors.New("disk full")
	}
	return s.MemoryStore.Save(ctx, b)
}

const legacy = `{"csp-report":{"document-uri":"https://example.com/page","effective-directive":"script-src-elem","disposition":"enforce","blocked-uri":"https://evil.example/x.js"}}`

func violation(blocked string) string {
	return `{"type":"csp-violation","url":"https://example.com/","body":{"documentURL":"https://example.com/","effectiveDirective":"img-src","blockedURL":"` + blocked + `","disposition":"enforce"}}`
}

// send posts body from client and returns the status.
func send(rc *cspreport.Receiver, client, ctype, body string) int {
	r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	r.RemoteAddr = client + ":1"
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, r)
	return w.Code
}

// newReceiver returns a receiver on a failStore with a burst of 4
// reports per client, and its collector.
func newReceiver(t *testing.T, cfg metrics.Config) (*cspreport.Receiver, *failStore, *metrics.Collector) {
	t.Helper()
	fs := &failStore{MemoryStore: cspreport.NewMemoryStore()}
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rc, err := cspreport.New(cspreport.Config{Store: fs, Logger: seclog.Discard(), Now: clock.Now,
		RateLimit: cspreport.RateLimit{PerSecond: 0.001, Burst: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close(context.Background()) })
	c, err := metrics.New(rc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rc, fs, c
}

// TestCollector: after real requests (stored, filtered, of another type,
// refused 413, 415 and 429, and 503 while the store fails) the
// collector's metrics hold each outcome.
func TestCollector(t *testing.T) {
	rc, fs, c := newReceiver(t, metrics.Config{})
	batch := "[" + violation("https://img.example/a.png") + "," + violation("moz-extension://abc/x.png") + `,{"type":"deprecation","body":{}},1]`
	tooMany := "[" + strings.Repeat(`1,`, 100) + `1]`
	five := "[" + strings.Repeat(violation("https://img.example/b.png")+",", 4) + violation("https://img.example/b.png") + "]"
	for _, c := range []struct {
		client, ctype, body string
		want                int
	}{
		{"192.0.2.1", "application/csp-report", legacy, 204},
		{"192.0.3.1", "application/reports+json", batch, 204},
		{"192.0.4.1", "application/reports+json", tooMany, 413},
		{"192.0.5.1", "text/plain", legacy, 415},
		{"192.0.6.1", "application/reports+json", five, 429}, // over its burst of 4
	} {
		if got := send(rc, c.client, c.ctype, c.body); got != c.want {
			t.Fatalf("%s %.30q: %d, want %d", c.client, c.body, got, c.want)
		}
	}
	fs.fail.Store(true)
	for _, client := range []string{"192.0.7.1", "192.0.8.1"} {
		if got := send(rc, client, "application/csp-report", legacy); got != 503 {
			t.Fatalf("failing store: %d", got)
		}
	}
	want := `
# HELP bulwark_cspreport_new_groups_total Report groups created: violations never seen before.
# TYPE bulwark_cspreport_new_groups_total counter
bulwark_cspreport_new_groups_total 2
# HELP bulwark_cspreport_reports_filtered_total Reports a noise filter dropped, by the filter's reason.
# TYPE bulwark_cspreport_reports_filtered_total counter
bulwark_cspreport_reports_filtered_total{reason="scheme:moz-extension"} 1
# HELP bulwark_cspreport_reports_other_total Reporting API reports of other types than CSP, by type.
# TYPE bulwark_cspreport_reports_other_total counter
bulwark_cspreport_reports_other_total{type="deprecation"} 1
# HELP bulwark_cspreport_reports_total Reports of accepted requests, by outcome: stored, filtered (by a noise filter), other (Reporting API reports of other types), invalid (unreadable batch items).
# TYPE bulwark_cspreport_reports_total counter
bulwark_cspreport_reports_total{outcome="filtered"} 1
bulwark_cspreport_reports_total{outcome="invalid"} 1
bulwark_cspreport_reports_total{outcome="other"} 1
bulwark_cspreport_reports_total{outcome="stored"} 2
# HELP bulwark_cspreport_requests_accepted_total CSP report requests answered 204 once their reports were committed.
# TYPE bulwark_cspreport_requests_accepted_total counter
bulwark_cspreport_requests_accepted_total 2
# HELP bulwark_cspreport_store_errors_total Commits whose Save failed.
# TYPE bulwark_cspreport_store_errors_total counter
bulwark_cspreport_store_errors_total 1
# HELP bulwark_cspreport_store_failing 1 while the report store fails (its last commit or probe failed), else 0.
# TYPE bulwark_cspreport_store_failing gauge
bulwark_cspreport_store_failing 1
# HELP bulwark_cspreport_queue_depth Requests waiting for a commit.
# TYPE bulwark_cspreport_queue_depth gauge
bulwark_cspreport_queue_depth 0
# HELP bulwark_cspreport_queue_capacity Requests that may wait for a commit; more are refused with 503 (queue-full).
# TYPE bulwark_cspreport_queue_capacity gauge
bulwark_cspreport_queue_capacity 4096
`
	names := []string{"bulwark_cspreport_new_groups_total", "bulwark_cspreport_reports_filtered_total", "bulwark_cspreport_reports_other_total",
		"bulwark_cspreport_reports_total", "bulwark_cspreport_requests_accepted_total", "bulwark_cspreport_store_errors_total",
		"bulwark_cspreport_store_failing", "bulwark_cspreport_queue_depth", "bulwark_cspreport_queue_capacity"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// The refusals: every one is there, the counted ones with their count.
	refused := map[[2]string]float64{
		{"413", "items"}: 1, {"415", "content-type"}: 1, {"429", "rate-limit"}: 1, {"503", "store-error"}: 2,
	}
	families := gather(t, c)
	n := 0
	for _, m := range families["bulwark_cspreport_requests_refused_total"].GetMetric() {
		l := labels(m)
		if got, want := m.GetCounter().GetValue(), refused[[2]string{l["status"], l["reason"]}]; got != want {
			t.Errorf("refused %v: %v, want %v", l, got, want)
		}
		n++
	}
	if n != 15 {
		t.Errorf("%d refusal series, want the 15 the receiver makes", n)
	}
	// The commits: three Saves of 1 report tried (the legacy report, the
	// batch's one stored, the failed one), each observed in both
	// histograms.
	for _, name := range []string{"bulwark_cspreport_commit_reports", "bulwark_cspreport_commit_duration_seconds"} {
		h := families[name].GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 3 || len(h.GetBucket()) == 0 {
			t.Errorf("%s: %d observations in %d buckets, want 3", name, h.GetSampleCount(), len(h.GetBucket()))
		}
	}
	if h := families["bulwark_cspreport_commit_reports"].GetMetric()[0].GetHistogram(); h.GetSampleSum() != 3 || h.GetBucket()[0].GetCumulativeCount() != 3 {
		t.Errorf("commit_reports: sum %v, le=1 %d; want 3 and 3", h.GetSampleSum(), h.GetBucket()[0].GetCumulativeCount())
	}
}

// TestCollectorLint: names, types, units and help follow Prometheus'
// conventions (promlint), with every metric present.
func TestCollectorLint(t *testing.T) {
	rc, fs, c := newReceiver(t, metrics.Config{})
	send(rc, "192.0.2.1", "application/reports+json", "["+violation("chrome-extension://x/y")+`,{"type":"crash","body":{}}]`)
	send(rc, "192.0.2.1", "application/csp-report", legacy)
	fs.fail.Store(true)
	send(rc, "192.0.2.2", "application/csp-report", legacy)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := len(gather(t, c)); n != 12 {
		t.Errorf("%d metric families, want 12", n)
	}
}

// TestTwoReceivers: two receivers in one registry are told apart by
// ConstLabels; without them the second is refused at registration.
func TestTwoReceivers(t *testing.T) {
	_, _, a := newReceiver(t, metrics.Config{ConstLabels: prometheus.Labels{"endpoint": "app"}})
	_, _, b := newReceiver(t, metrics.Config{ConstLabels: prometheus.Labels{"endpoint": "admin"}})
	_, _, same := newReceiver(t, metrics.Config{ConstLabels: prometheus.Labels{"endpoint": "app"}})
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(a); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(b); err != nil {
		t.Fatalf("a second receiver with other labels: %v", err)
	}
	if err := reg.Register(same); err == nil {
		t.Error("a receiver with the same labels was registered")
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestNewValidates: a mistake in Config is an error that names the field
// and says what to write.
func TestNewValidates(t *testing.T) {
	rc, _, _ := newReceiver(t, metrics.Config{})
	for _, c := range []struct {
		name string
		rc   *cspreport.Receiver
		cfg  metrics.Config
		want string
	}{
		{"nil receiver", nil, metrics.Config{}, "receiver is nil"},
		{"namespace with a dash", rc, metrics.Config{Namespace: "csp-reports"}, "Config.Namespace"},
		{"namespace with a colon", rc, metrics.Config{Namespace: "csp:reports"}, "Config.Namespace"},
		{"namespace starting with a digit", rc, metrics.Config{Namespace: "1csp"}, "Config.Namespace"},
		{"label name with a dash", rc, metrics.Config{ConstLabels: prometheus.Labels{"end-point": "x"}}, "Config.ConstLabels"},
		{"reserved label name", rc, metrics.Config{ConstLabels: prometheus.Labels{"__name__": "x"}}, "Config.ConstLabels"},
		{"a label of the metrics", rc, metrics.Config{ConstLabels: prometheus.Labels{"status": "x"}}, "choose another name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := metrics.New(c.rc, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
		})
	}
	c, err := metrics.New(rc, metrics.Config{Namespace: "csp"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := gather(t, c)["csp_reports_total"]; !ok {
		t.Error("Namespace csp: no csp_reports_total")
	}
}
