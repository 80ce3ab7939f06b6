package cspreport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// ErrCommitTimeout is the answer of a request whose commit was not done
// within [Config.CommitTimeout]: the handler answers 503 with
// Retry-After; the commit goes on without it (the reports may still be
// stored: a browser that sends them again raises their count).
var ErrCommitTimeout = errors.New("cspreport: commit took longer than CommitTimeout")

// storeHealth follows whether the store can write, from the outcome of
// every commit and of Check's probes: it logs cspreport.store_error when
// the store starts failing and cspreport.store_recovered when it writes
// again, with the counts in between, never once per failed commit (a
// full disk or a stopped database would otherwise write a line per
// commit, thousands a second).
type storeHealth struct {
	log *seclog.Logger

	mu      sync.Mutex
	err     error     // the last failure, nil while the store writes
	since   time.Time // when it started failing
	commits int64     // failed commits since
	reports int64     // reports refused by them
	probing bool      // a probe is running
	backoff time.Duration
	retryAt time.Time // no commit tries the store before it
}

// While the store fails, commits try it at most once per back-off, which
// starts at minBackoff and doubles up to maxBackoff with every failed
// try; the commits in between are refused at once (503). A stopped
// database otherwise saw a connection attempt per commit, ~1,700 a
// second. maxBackoff bounds how long the receiver goes on refusing once
// the store is back.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// refuse returns the error that a commit is refused with without trying
// the store (it fails, and its back-off has not passed), or nil.
func (h *storeHealth) refuse(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil || !now.Before(h.retryAt) {
		return nil
	}
	return fmt.Errorf("cspreport: the store fails, next try in %v: %w", h.retryAt.Sub(now).Round(time.Millisecond), h.err)
}

// record notes the outcome, at now, of a commit of reports reports for requests
// requests (0 and 0 for a probe); tried is false for a commit refused by
// the back-off.
func (h *storeHealth) record(now time.Time, err error, reports, requests int, tried bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil && tried {
		h.backoff = min(maxBackoff, max(minBackoff, 2*h.backoff))
		h.retryAt = now.Add(h.backoff)
	}
	switch {
	case err != nil && h.err == nil:
		h.err, h.since, h.commits, h.reports = err, now, 0, 0
		h.log.Log(nil, seclog.CSPReportStoreError, seclog.String("error", err.Error()),
			zap.Int("reports", reports), zap.Int("requests", requests))
	case err == nil && h.err != nil:
		h.log.Log(nil, seclog.CSPReportStoreRecovered, seclog.String("error", h.err.Error()),
			zap.Int64("failed_commits", h.commits), zap.Int64("failed_reports", h.reports),
			zap.Duration("failing_for", now.Sub(h.since)))
		h.err, h.backoff, h.retryAt = nil, 0, time.Time{}
		return
	}
	if err != nil && requests > 0 {
		if tried {
			h.err = err
		}
		h.commits++
		h.reports += int64(reports)
	}
}

// failing returns the last failure, nil while the store writes.
func (h *storeHealth) failing() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Check reports whether the receiver can take reports now: nil while the
// store's last commit succeeded (or none was tried), else an error that
// says since when the store fails and why. While the store fails, Check
// probes it (one probe at a time, within [Config.CommitTimeout]; a
// call during a probe returns the failure known): it saves an empty
// batch, which a store refuses while it cannot write; a probe that succeeds ends the failure, so that a receiver no traffic
// reaches (a load balancer took it out) is seen to recover. A closed
// receiver reports [ErrClosed].
//
// Serve it as a readiness check (bulwark collect's /health answers 503
// while it returns an error): load balancers then stop sending reports to
// an instance whose store cannot write.
func (rc *Receiver) Check(ctx context.Context) error {
	if rc.commit.isClosed() {
		return ErrClosed
	}
	h := &rc.commit.health
	h.mu.Lock()
	err, since := h.err, h.since
	probe := err != nil && !h.probing
	h.probing = h.probing || probe
	h.mu.Unlock()
	if err == nil {
		return nil
	}
	if probe {
		perr := rc.probe(ctx)
		h.mu.Lock()
		h.probing = false
		h.mu.Unlock()
		if perr == nil {
			h.record(rc.now(), nil, 0, 0, true)
			return nil
		}
		err = perr
	}
	return fmt.Errorf("cspreport: the store fails since %s: %w", since.UTC().Format(time.RFC3339), err)
}

// probe tries a write: an empty batch.
func (rc *Receiver) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rc.commit.wait)
	defer cancel()
	_, err := rc.store.Save(ctx, &Batch{})
	return err
}
