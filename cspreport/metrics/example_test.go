package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/metrics"
	"github.com/bulwark-go/bulwark/seclog"
)

// An application mounts the receiver on its public mux and serves the
// metrics on a mux of its own, which only its monitoring reaches.
func Example() {
	rcv, err := cspreport.New(cspreport.Config{Store: cspreport.NewMemoryStore(), Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}
	defer rcv.Close(context.Background())
	collector, err := metrics.New(rcv, metrics.Config{})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector)

	public := http.NewServeMux()
	public.Handle("/csp-report", rcv)
	admin := http.NewServeMux()
	admin.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// A browser reports a violation.
	r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(
		`{"csp-report":{"document-uri":"https://app.example.com/","effective-directive":"img-src","blocked-uri":"https://cdn.example.net/a.png"}}`))
	r.Header.Set("Content-Type", "application/csp-report")
	public.ServeHTTP(httptest.NewRecorder(), r)

	// Prometheus scrapes.
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "bulwark_cspreport_reports_total") || strings.HasPrefix(line, "bulwark_cspreport_new_groups_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// bulwark_cspreport_new_groups_total 1
	// bulwark_cspreport_reports_total{outcome="filtered"} 0
	// bulwark_cspreport_reports_total{outcome="invalid"} 0
	// bulwark_cspreport_reports_total{outcome="other"} 0
	// bulwark_cspreport_reports_total{outcome="stored"} 1
}
