// Package metrics exports a cspreport receiver's counts to Prometheus: a
// [prometheus.Collector] that reads [cspreport.Receiver.Stats] at each
// scrape and builds the metrics from it.
//
//	rcv, err := cspreport.New(cspreport.Config{Store: store})
//	c, err := metrics.New(rcv, metrics.Config{})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	adminMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Serve /metrics where only your monitoring reaches it, not beside the
// report endpoint, which takes requests from the internet (bulwark
// collect serves it on a listener of its own, -metrics-addr).
//
// The counting is in package cspreport, which links no metrics library:
// only an application that imports this package links client_golang.
// Nothing is counted twice and nothing is kept here: a scrape costs one
// Stats call.
//
// # Metrics
//
// With the default namespace, bulwark_cspreport:
//
//	bulwark_cspreport_requests_accepted_total               counter    requests answered 204 once their reports were committed
//	bulwark_cspreport_requests_refused_total{status,reason} counter    requests refused (see cspreport.Stats.Refused for the reasons)
//	bulwark_cspreport_reports_total{outcome}                counter    reports of accepted requests: stored, filtered, other, invalid
//	bulwark_cspreport_reports_filtered_total{reason}        counter    reports a noise filter dropped, by the filter's reason
//	bulwark_cspreport_reports_other_total{type}             counter    Reporting API reports of other types, by type
//	bulwark_cspreport_new_groups_total                      counter    report groups created: violations never seen before
//	bulwark_cspreport_commit_reports                        histogram  violation reports per commit
//	bulwark_cspreport_commit_duration_seconds               histogram  the store's Save, per commit
//	bulwark_cspreport_store_errors_total                    counter    commits whose Save failed
//	bulwark_cspreport_store_failing                         gauge      1 while the store fails, else 0
//	bulwark_cspreport_queue_depth                           gauge      requests waiting for a commit
//	bulwark_cspreport_queue_capacity                        gauge      requests that may wait (beyond: 503 queue-full)
//
// Every label value is from a bounded set the receiver's configuration
// decides (statuses, the refusal reasons, the filters' reasons, the
// report types it knows), never from a report's contents. Filtered
// reasons and other types appear once counted; every refusal and
// outcome is there from the start, at 0, so that rates over them work at
// once.
package metrics

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark/cspreport"
)

// DefaultNamespace is the prefix of the metric names when
// [Config.Namespace] is empty.
const DefaultNamespace = "bulwark_cspreport"

// Config configures a [Collector]. The zero value is ready to use.
type Config struct {
	// Namespace is the prefix of every metric name (default
	// DefaultNamespace, "bulwark_cspreport"): letters, digits and "_",
	// not starting with a digit.
	Namespace string
	// ConstLabels are labels added to every metric, to tell apart the
	// receivers of one process in one registry ({"endpoint": "app"}).
	// Their names must not be those the metrics use (status, reason,
	// outcome, type, le). Keep them few and fixed: each set of values is
	// a series per metric.
	ConstLabels prometheus.Labels
}

// Collector is a [prometheus.Collector] for one receiver: register it
// with a registry (prometheus.Registerer.Register) and serve that
// registry with promhttp. It is safe for concurrent use.
type Collector struct {
	rc *cspreport.Receiver

	accepted, refused, reports, filtered, other, newGroups *prometheus.Desc
	commitSize, commitLatency                              *prometheus.Desc
	storeErrors, storeFailing, queueDepth, queueCapacity   *prometheus.Desc
}

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New validates cfg and returns the collector of rc.
func New(rc *cspreport.Receiver, cfg Config) (*Collector, error) {
	if rc == nil {
		return nil, errors.New("metrics: the receiver is nil: pass the *cspreport.Receiver that cspreport.New returned")
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	if !nameRE.MatchString(ns) {
		return nil, fmt.Errorf("metrics: Config.Namespace %q: write letters, digits and \"_\", not starting with a digit, such as %q", ns, DefaultNamespace)
	}
	for name := range cfg.ConstLabels {
		switch {
		case !nameRE.MatchString(name) || len(name) >= 2 && name[:2] == "__":
			return nil, fmt.Errorf("metrics: Config.ConstLabels: %q is not a label name: write letters, digits and \"_\", not starting with a digit or \"__\", such as \"endpoint\"", name)
		case name == "status" || name == "reason" || name == "outcome" || name == "type" || name == "le":
			return nil, fmt.Errorf("metrics: Config.ConstLabels: %q is a label of the metrics themselves: choose another name, such as \"endpoint\"", name)
		}
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(ns+"_"+name, help, labels, cfg.ConstLabels)
	}
	return &Collector{
		rc:            rc,
		accepted:      desc("requests_accepted_total", "CSP report requests answered 204 once their reports were committed."),
		refused:       desc("requests_refused_total", "CSP report requests refused, by status and reason.", "status", "reason"),
		reports:       desc("reports_total", "Reports of accepted requests, by outcome: stored, filtered (by a noise filter), other (Reporting API reports of other types), invalid (unreadable batch items).", "outcome"),
		filtered:      desc("reports_filtered_total", "Reports a noise filter dropped, by the filter's reason.", "reason"),
		other:         desc("reports_other_total", "Reporting API reports of other types than CSP, by type.", "type"),
		newGroups:     desc("new_groups_total", "Report groups created: violations never seen before."),
		commitSize:    desc("commit_reports", "Violation reports per commit of the group commit."),
		commitLatency: desc("commit_duration_seconds", "Duration of the store's Save, per commit, failed ones included."),
		storeErrors:   desc("store_errors_total", "Commits whose Save failed."),
		storeFailing:  desc("store_failing", "1 while the report store fails (its last commit or probe failed), else 0."),
		queueDepth:    desc("queue_depth", "Requests waiting for a commit."),
		queueCapacity: desc("queue_capacity", "Requests that may wait for a commit; more are refused with 503 (queue-full)."),
	}, nil
}

// Describe sends the descriptors of every metric the collector makes.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.accepted, c.refused, c.reports, c.filtered, c.other, c.newGroups,
		c.commitSize, c.commitLatency, c.storeErrors, c.storeFailing, c.queueDepth, c.queueCapacity} {
		ch <- d
	}
}

// Collect sends the metrics of the receiver's Stats now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.rc.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.accepted, s.Accepted)
	for k, v := range s.Refused {
		counter(c.refused, v, strconv.Itoa(k.Status), k.Reason)
	}
	var filtered, other uint64
	for reason, v := range s.Filtered {
		counter(c.filtered, v, reason)
		filtered += v
	}
	for typ, v := range s.Other {
		counter(c.other, v, typ)
		other += v
	}
	counter(c.reports, s.Stored, "stored")
	counter(c.reports, filtered, "filtered")
	counter(c.reports, other, "other")
	counter(c.reports, s.Invalid, "invalid")
	counter(c.newGroups, s.NewGroups)
	histogram(ch, c.commitSize, s.CommitSize)
	histogram(ch, c.commitLatency, s.CommitLatency)
	counter(c.storeErrors, s.StoreErrors)
	failing := 0.0
	if s.StoreFailing {
		failing = 1
	}
	gauge(c.storeFailing, failing)
	gauge(c.queueDepth, float64(s.QueueDepth))
	gauge(c.queueCapacity, float64(s.QueueSize))
}

func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h cspreport.Histogram) {
	buckets := make(map[float64]uint64, len(h.Buckets))
	for _, b := range h.Buckets {
		buckets[b.UpperBound] = b.Count
	}
	ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}
