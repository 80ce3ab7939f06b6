package cspreport_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// faultStore is a MemoryStore whose Save can be made to fail (err) or to
// hang until released (hang), as a refused or paused database does.
type faultStore struct {
	*cspreport.MemoryStore
	err  atomic.Pointer[error]
	hang atomic.Pointer[chan struct{}]
}

func newFaultStore() *faultStore { return &faultStore{MemoryStore: cspreport.NewMemoryStore()} }

func (s *faultStore) fail(err error) {
	if err == nil {
		s.err.Store(nil)
		return
	}
	s.err.Store(&err)
}

func (s *faultStore) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	if h := s.hang.Load(); h != nil {
		select {
		case <-*h:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if e := s.err.Load(); e != nil {
		return nil, *e
	}
	return s.MemoryStore.Save(ctx, b)
}

// postWithin posts a report and fails the test if no answer comes within
// limit: the receiver's bound, with room for a slow machine.
func postWithin(t *testing.T, rc *cspreport.Receiver, limit time.Duration) *httptest.ResponseRecorder {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- post(rc, "/", "application/csp-report", legacyBody) }()
	select {
	case w := <-done:
		return w
	case <-time.After(limit):
		t.Fatalf("no answer within %v", limit)
		return nil
	}
}

// TestHungStoreAnswersWithinBound: while Save hangs, every request is
// answered 503 with Retry-After once CommitTimeout has passed, not when
// the store gives up; the store's hang is logged as overloaded with
// reason commit-timeout, and the reports stored after it recovers are
// answered 204.
func TestHungStoreAnswersWithinBound(t *testing.T) {
	fs := newFaultStore()
	hang := make(chan struct{})
	fs.hang.Store(&hang)
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rc, _, rec := newReceiver(t, cspreport.Config{Store: fs, Now: clock.Now, CommitTimeout: 50 * time.Millisecond, RateLimit: cspreport.RateLimit{Disabled: true}})
	for range 3 {
		w := postWithin(t, rc, 5*time.Second)
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("hung store: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
	}
	var timeouts int
	for _, e := range rec.Take() {
		if e.Name == "cspreport.overloaded" && e.Fields["reason"] == "commit-timeout" {
			timeouts++
		}
	}
	if timeouts != 3 {
		t.Errorf("%d overloaded events with reason commit-timeout, want 3", timeouts)
	}
	fs.hang.Store(nil)
	close(hang)
	clock.Add(time.Minute) // past the back-off, if the hung Save has failed
	if w := postWithin(t, rc, 5*time.Second); w.Code != 204 {
		t.Fatalf("after recovery: %d", w.Code)
	}
}

// TestClientGoneNotOverloaded: a client that hangs up while its commit
// waits is no overload and no rate limiting: nothing is logged for it.
func TestClientGoneNotOverloaded(t *testing.T) {
	fs := newFaultStore()
	hang := make(chan struct{})
	fs.hang.Store(&hang)
	defer close(hang)
	rc, _, rec := newReceiver(t, cspreport.Config{Store: fs, RateLimit: cspreport.RateLimit{Disabled: true}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // gone before its commit is done
	r := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(legacyBody))
	r.Header.Set("Content-Type", "application/csp-report")
	rc.ServeHTTP(httptest.NewRecorder(), r)
	for _, e := range rec.Take() {
		if e.Name == "cspreport.overloaded" {
			t.Errorf("client gone logged as %s %v", e.Name, e.Fields)
		}
	}
}

// TestStoreErrorOncePerState: a failing store is logged once when it
// starts failing and once when it recovers, with the counts in between,
// not once per commit; while it fails, commits within the back-off are
// refused without trying the store; Check reports the failure (for
// /health) and probes the store to see it recover.
func TestStoreErrorOncePerState(t *testing.T) {
	fs := newFaultStore()
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rc, _, rec := newReceiver(t, cspreport.Config{Store: fs, Now: clock.Now, RateLimit: cspreport.RateLimit{Disabled: true}})
	ctx := context.Background()
	if err := rc.Check(ctx); err != nil {
		t.Fatalf("Check before any commit: %v", err)
	}
	for round := range 2 {
		fs.fail(errors.New("disk full"))
		for range 10 {
			if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
				t.Fatalf("failing store: %d", w.Code)
			}
		}
		if err := rc.Check(ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("Check while failing: %v", err)
		}
		fs.fail(nil)
		if round == 0 {
			// Recovery seen by the next commit once the back-off has
			// passed (until then commits are refused untried).
			if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
				t.Fatalf("within the back-off: %d", w.Code)
			}
			clock.Add(time.Minute)
			if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 204 {
				t.Fatalf("recovered store: %d", w.Code)
			}
		}
		// Recovery seen by Check's probe (round 1), or already known.
		if err := rc.Check(ctx); err != nil {
			t.Fatalf("Check after recovery: %v", err)
		}
		var errs, recovered int
		for _, e := range rec.Take() {
			switch e.Name {
			case "cspreport.store_error":
				errs++
			case "cspreport.store_recovered":
				recovered++
				if want := int64(10 + 1 - round); e.Fields["failed_commits"] != want || e.Fields["failed_reports"] != want || e.Fields["failing_for"] != time.Duration(round-1)*-time.Minute {
					t.Errorf("round %d: recovered %v", round, e.Fields)
				}
			}
		}
		if errs != 1 || recovered != 1 {
			t.Errorf("round %d: %d store_error, %d store_recovered events; want 1 and 1", round, errs, recovered)
		}
	}
}

// TestCommitTimeoutValidated: a negative CommitTimeout is an error that
// names the field.
func TestCommitTimeoutValidated(t *testing.T) {
	_, err := cspreport.New(cspreport.Config{Store: cspreport.NewMemoryStore(), CommitTimeout: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "CommitTimeout") {
		t.Fatalf("CommitTimeout -1s: %v", err)
	}
}
