package cspreport_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// violation is a Reporting API CSP report of img-src blocking blocked.
func violation(blocked string) string {
	return `{"type":"csp-violation","url":"https://example.com/","body":{"documentURL":"https://example.com/","effectiveDirective":"img-src","blockedURL":"` + blocked + `","disposition":"enforce"}}`
}

// TestStats: after real requests, Stats holds each request's outcome,
// each report's, the commits and the store's state.
func TestStats(t *testing.T) {
	fs := newFaultStore()
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rc, _, _ := newReceiver(t, cspreport.Config{Store: fs, Now: clock.Now, RateLimit: cspreport.RateLimit{PerSecond: 1, Burst: 50}})
	batch := "[" + strings.Join([]string{`1`, `{"type":"deprecation","body":{}}`, violation("chrome-extension://abc/x.png"), violation("https://img.example/a.png"), violation("https://img.example/c.png")}, ",") + "]"
	tooMany := "[" + strings.Repeat(`{"type":"deprecation","body":{}},`, 100) + `{"type":"deprecation","body":{}}]`
	for _, c := range []struct {
		method, ctype, body string
		hdr                 []string
		want                int
	}{
		{"POST", "application/csp-report", legacyBody, nil, 204},
		{"POST", "application/csp-report", legacyBody, nil, 204}, // the same group
		{"POST", "application/reports+json", batch, nil, 204},
		{"POST", "text/plain", legacyBody, nil, 415},
		{"POST", "application/csp-report", legacyBody, []string{"Content-Encoding", "gzip"}, 415},
		{"GET", "", "", nil, 405},
		{"POST", "application/csp-report", `{"csp-report":`, nil, 400},
		{"POST", "application/csp-report", `{"hello":"world"}`, nil, 400},
		{"POST", "application/reports+json", tooMany, nil, 413},
		{"POST", "application/csp-report", `"` + strings.Repeat("a", cspreport.DefaultMaxBodyBytes) + `"`, nil, 413},
		{"POST", "application/reports+json", strings.Repeat("[", 20) + strings.Repeat("]", 20), nil, 400},
		{"OPTIONS", "", "", nil, 204}, // a preflight is no request of its own
	} {
		r := httptest.NewRequest(c.method, "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", c.ctype)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Fatalf("%s %s %.20q: %d, want %d", c.method, c.ctype, c.body, w.Code, c.want)
		}
	}
	// A body that cannot be read.
	r := httptest.NewRequest("POST", "/", iotest.ErrReader(errors.New("connection reset")))
	r.Header.Set("Content-Type", "application/csp-report")
	if w := httptest.NewRecorder(); func() int { rc.ServeHTTP(w, r); return w.Code }() != 400 {
		t.Fatal("an unreadable body was not refused with 400")
	}
	// Another client sends a batch of 60: over its burst of 50.
	r = httptest.NewRequest("POST", "/", strings.NewReader("["+strings.Repeat(violation("https://img.example/b.png")+",", 59)+violation("https://img.example/b.png")+"]"))
	r.Header.Set("Content-Type", "application/reports+json")
	r.RemoteAddr = "198.51.100.1:1"
	if w := httptest.NewRecorder(); func() int { rc.ServeHTTP(w, r); return w.Code }() != 429 {
		t.Fatal("a batch over the burst was not refused with 429")
	}
	// The store fails: one Save is tried, the next commit is refused
	// within the back-off.
	fs.fail(errors.New("disk full"))
	for range 2 {
		if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
			t.Fatalf("failing store: %d", w.Code)
		}
	}

	s := rc.Stats()
	refused := map[cspreport.Refusal]uint64{
		{415, "content-type"}: 1, {415, "content-encoding"}: 1, {405, "method"}: 1,
		{400, "json"}: 1, {400, "shape"}: 1, {400, "depth"}: 1, {400, "read"}: 1,
		{413, "items"}: 1, {413, "body-size"}: 1, {429, "rate-limit"}: 1, {503, "store-error"}: 2,
	}
	if len(s.Refused) != 15 {
		t.Errorf("%d refusals listed, want the 15 the receiver makes: %v", len(s.Refused), s.Refused)
	}
	for k, v := range s.Refused {
		if v != refused[k] {
			t.Errorf("Refused[%v] = %d, want %d", k, v, refused[k])
		}
	}
	for _, k := range []cspreport.Refusal{{503, "queue-full"}, {503, "commit-timeout"}, {503, "closed"}, {503, "client-gone"}} {
		if _, ok := s.Refused[k]; !ok {
			t.Errorf("Refused has no %v: every refusal is listed, 0 until it happens", k)
		}
	}
	if got := s.RefusedWith(503); got != 2 {
		t.Errorf("RefusedWith(503) = %d, want 2", got)
	}
	if s.Accepted != 3 || s.Stored != 4 || s.Invalid != 1 || s.NewGroups != 2 {
		t.Errorf("Accepted %d, Stored %d, Invalid %d, NewGroups %d; want 3, 4, 1, 2", s.Accepted, s.Stored, s.Invalid, s.NewGroups)
	}
	if want := map[string]uint64{"scheme:chrome-extension": 1}; !maps.Equal(s.Filtered, want) {
		t.Errorf("Filtered %v, want %v", s.Filtered, want)
	}
	if want := map[string]uint64{"deprecation": 1}; !maps.Equal(s.Other, want) {
		t.Errorf("Other %v, want %v", s.Other, want)
	}
	// Four Saves were tried: 1, 1 and 2 reports, then the failed one of 1.
	if h := s.CommitSize; h.Count != 4 || h.Sum != 5 || h.Buckets[0] != (cspreport.Bucket{UpperBound: 1, Count: 3}) || h.Buckets[1] != (cspreport.Bucket{UpperBound: 2, Count: 4}) {
		t.Errorf("CommitSize %+v", h)
	}
	if h := s.CommitLatency; h.Count != 4 || h.Buckets[len(h.Buckets)-1].Count > h.Count || h.Sum <= 0 {
		t.Errorf("CommitLatency %+v", h)
	}
	if s.StoreErrors != 1 || !s.StoreFailing {
		t.Errorf("StoreErrors %d, StoreFailing %v; want 1, true", s.StoreErrors, s.StoreFailing)
	}
	if s.QueueDepth != 0 || s.QueueSize != cspreport.DefaultQueueSize {
		t.Errorf("queue %d of %d", s.QueueDepth, s.QueueSize)
	}

	// Recovered: the store is no longer failing.
	fs.fail(nil)
	clock.Add(time.Minute)
	if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 204 {
		t.Fatalf("recovered store: %d", w.Code)
	}
	if s := rc.Stats(); s.StoreFailing || s.StoreErrors != 1 || s.Accepted != 4 {
		t.Errorf("after recovery: StoreFailing %v, StoreErrors %d, Accepted %d", s.StoreFailing, s.StoreErrors, s.Accepted)
	}
}

// hangStore is a MemoryStore whose Save hangs until release is closed,
// whatever its context (as a driver that does not honour it), and says
// when a Save starts.
type hangStore struct {
	*cspreport.MemoryStore
	saving  chan struct{}
	release chan struct{}
}

func (s *hangStore) Save(ctx context.Context, b *cspreport.Batch) ([]string, error) {
	select {
	case s.saving <- struct{}{}:
	default:
	}
	<-s.release
	return s.MemoryStore.Save(ctx, b)
}

// TestStatsUnavailable: each 503 is counted under its reason: a commit
// that outlived CommitTimeout, a client that hung up, a full queue (which
// QueueDepth shows), a closed receiver.
func TestStatsUnavailable(t *testing.T) {
	hs := &hangStore{MemoryStore: cspreport.NewMemoryStore(), saving: make(chan struct{}, 1), release: make(chan struct{})}
	rc, _, _ := newReceiver(t, cspreport.Config{Store: hs, QueueSize: 1, CommitTimeout: 200 * time.Millisecond, RateLimit: cspreport.RateLimit{Disabled: true}})
	if w := postWithin(t, rc, 5*time.Second); w.Code != 503 {
		t.Fatalf("hung store: %d", w.Code)
	}
	<-hs.saving // the committer holds that request's job, in Save
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(legacyBody))
	r.Header.Set("Content-Type", "application/csp-report")
	rc.ServeHTTP(httptest.NewRecorder(), r) // its job waits in the queue
	if s := rc.Stats(); s.QueueDepth != 1 || s.QueueSize != 1 {
		t.Fatalf("queue %d of %d, want 1 of 1", s.QueueDepth, s.QueueSize)
	}
	if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
		t.Fatalf("full queue: %d", w.Code)
	}
	close(hs.release)
	if err := rc.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := post(rc, "/", "application/csp-report", legacyBody); w.Code != 503 {
		t.Fatalf("closed: %d", w.Code)
	}
	s := rc.Stats()
	for _, reason := range []string{"commit-timeout", "client-gone", "queue-full", "closed"} {
		if n := s.Refused[cspreport.Refusal{Status: 503, Reason: reason}]; n != 1 {
			t.Errorf("503 %s: %d, want 1", reason, n)
		}
	}
	if s.RefusedWith(503) != 4 || s.QueueDepth != 0 {
		t.Errorf("503s %d, want 4; queue %d, want 0", s.RefusedWith(503), s.QueueDepth)
	}
}

// TestStatsCustomReasonsBounded: the results of Filters.Custom are told
// apart up to a bound, then counted together, so that a Custom that
// returns report contents cannot grow the metrics without end.
func TestStatsCustomReasonsBounded(t *testing.T) {
	rc, _, _ := newReceiver(t, cspreport.Config{
		RateLimit: cspreport.RateLimit{Disabled: true},
		Filters:   cspreport.Filters{Custom: func(r *cspreport.Report) string { return r.BlockedOrigin }},
	})
	for i := range 40 {
		if w := post(rc, "/", "application/reports+json", "["+violation(fmt.Sprintf("https://h%d.example/x.png", i))+"]"); w.Code != 204 {
			t.Fatalf("%d", w.Code)
		}
	}
	s := rc.Stats()
	if len(s.Filtered) != 33 || s.Filtered["custom:other"] != 8 {
		t.Errorf("%d reasons, custom:other %d; want 33 and 8", len(s.Filtered), s.Filtered["custom:other"])
	}
	var n uint64
	for _, v := range s.Filtered {
		n += v
	}
	if n != 40 || s.Stored != 0 {
		t.Errorf("filtered %d, stored %d; want 40 and 0", n, s.Stored)
	}
}
