package profiling_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/profiling"
)

// goCommand returns the go command that built this test: on PATH, else
// in GOROOT. Without one the test is skipped (testenv.Missing: a
// failure under BULWARK_REQUIRE_SERVERS=1).
func goCommand(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, "no go command on PATH nor in GOROOT to open the capture with")
	return ""
}

// goTool runs go tool with args and returns its output; the test fails
// if the tool does. Opening the files with the very tools the docs name
// is the strongest check that they are real traces and profiles.
func goTool(t *testing.T, args ...string) string {
	t.Helper()
	goBin := goCommand(t)
	out, err := exec.Command(goBin, append([]string{"tool"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// traceHas opens a trace file with go tool trace -d=parsed, which parses
// every event and prints it, and reports which of wants are in its output,
// read as a stream (a busy process's trace prints hundreds of MB).
func traceHas(t *testing.T, file string, wants ...string) map[string]bool {
	t.Helper()
	goBin := goCommand(t)
	cmd := exec.Command(goBin, "tool", "trace", "-d=parsed", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		for _, w := range wants {
			if !found[w] && strings.Contains(sc.Text(), w) {
				found[w] = true
			}
		}
	}
	if err := cmd.Wait(); err != nil || sc.Err() != nil {
		t.Fatalf("go tool trace -d=parsed: %v %v\n%s", err, sc.Err(), stderr.Bytes())
	}
	return found
}

// save writes a capture's file to a temporary folder.
func save(t *testing.T, c profiling.Capture) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), c.FileName())
	if err := os.WriteFile(p, c.Data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// burn keeps a CPU busy for d.
func burn(d time.Duration) {
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 10000 {
			x += i * i
		}
	}
	sinkInt.Add(int64(x))
}

var sinkInt atomic.Int64

// nothingRunning fails the test if the CPU profiler or a flight recorder
// is still running: both can be started again.
func nothingRunning(t *testing.T) {
	t.Helper()
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Errorf("the CPU profiler was left running: %v", err)
	} else {
		pprof.StopCPUProfile()
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Errorf("a flight recorder was left running: %v", err)
	} else {
		fr.Stop()
	}
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestTraceCapture(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		end := profiling.Span(r.Context(), "db-query")
		burn(5 * time.Millisecond)
		end()
		w.Write([]byte("ok\n"))
	}))
	w := serve(h, as(httptest.NewRequest("GET", "/orders/7?profile=trace&token=secret", nil), staff))
	caps := m.Captures()
	if len(caps) != 1 {
		t.Fatalf("%d captures, want 1", len(caps))
	}
	c := caps[0]
	if c.Kind != profiling.Trace || c.User != "ada" || c.Method != "GET" || c.Path != "/orders/7" || c.Cut != "" ||
		!strings.HasSuffix(c.FileName(), ".trace") || !strings.HasPrefix(c.Timing, "total;dur=") || !strings.Contains(c.Timing, "db-query;dur=") {
		t.Errorf("capture %+v", c.Timing)
		t.Errorf("capture %s %v %s %s %s cut %q", c.FileName(), c.Kind, c.User, c.Method, c.Path, c.Cut)
	}
	if st := w.Header().Get("Server-Timing"); !strings.Contains(st, `capture;desc="trace `+c.ID+`"`) {
		t.Errorf("Server-Timing %q does not name the capture %s", st, c.ID)
	}
	if !bytes.HasPrefix(c.Data, []byte("go 1.")) || !bytes.Contains(c.Data[:16], []byte(" trace\x00")) {
		t.Errorf("not a Go trace header: %q", c.Data[:min(16, len(c.Data))])
	}
	wants := []string{`Type="bulwark.request"`, `Type="db-query"`, `Category="request" Message="GET /orders/7"`}
	found := traceHas(t, save(t, c), wants...)
	for _, want := range wants {
		if !found[want] {
			t.Errorf("go tool trace -d=parsed: no %s in the parsed trace", want)
		}
	}
	ev := rec.Take()
	if len(ev) != 1 || ev[0].Name != "profiling.captured" {
		t.Fatalf("events %+v", ev)
	}
	f := ev[0].Fields
	if f["capture_id"] != c.ID || f["kind"] != "trace" || f["bytes"] != int64(len(c.Data)) || f["user"] != "ada" || f["path"] != "/orders/7" || f["owasp"] != "sensitive_create" {
		t.Errorf("event fields %v", f)
	}
	nothingRunning(t)
}

func TestCPUCapture(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		wg.Go(func() { burn(300 * time.Millisecond) }) // a goroutine of the request: labelled too
		burn(300 * time.Millisecond)
		wg.Wait()
	}))
	r := httptest.NewRequest("POST", "/report", nil)
	r.Header.Set("X-Bulwark-Profile", "cpu")
	serve(h, as(r, staff))
	caps := m.Captures()
	if len(caps) != 1 || caps[0].Kind != profiling.CPU || !strings.HasSuffix(caps[0].FileName(), ".pprof") {
		t.Fatalf("captures %v", caps)
	}
	c := caps[0]
	zr, err := gzip.NewReader(bytes.NewReader(c.Data))
	if err != nil {
		t.Fatalf("the CPU profile is not gzipped: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := protoFields(raw)
	if err != nil {
		t.Fatalf("not a protobuf message: %v", err)
	}
	// profile.proto: 1 sample_type, 2 sample, 4 location, 5 function,
	// 6 string_table, 9 time_nanos.
	for _, f := range []int{1, 2, 4, 5, 6, 9} {
		if !fields[f] {
			t.Errorf("the profile has no field %d (fields %v)", f, fields)
		}
	}
	out := goTool(t, "pprof", "-tags", save(t, c))
	if !strings.Contains(out, "bulwark: Total") || !strings.Contains(out, "request") {
		t.Errorf("go tool pprof -tags: no bulwark=request label:\n%s", out)
	}
	top := goTool(t, "pprof", "-top", "-tagfocus=bulwark=request", save(t, c))
	if !strings.Contains(top, "burn") {
		t.Errorf("go tool pprof -top -tagfocus=bulwark=request: burn is not in the request's samples:\n%s", top)
	}
	if ev := rec.Names(); strings.Join(ev, " ") != "profiling.captured" {
		t.Errorf("events %v", ev)
	}
	nothingRunning(t)
}

// trace,cpu: two files of one ID.
func TestBothCaptures(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	w := serve(m.Handler(page), as(httptest.NewRequest("GET", "/?profile=trace,cpu", nil), staff))
	caps := m.Captures()
	if len(caps) != 2 || caps[0].ID != caps[1].ID || caps[0].Kind|caps[1].Kind != profiling.Trace|profiling.CPU {
		t.Fatalf("captures %v", caps)
	}
	if st := w.Header().Get("Server-Timing"); !strings.Contains(st, `capture;desc="trace,cpu `+caps[0].ID+`"`) {
		t.Errorf("Server-Timing %q", st)
	}
	if ev := rec.Names(); strings.Join(ev, " ") != "profiling.captured profiling.captured" {
		t.Errorf("events %v", ev)
	}
	nothingRunning(t)
}

// Two profiled requests at once: one capture. The other is served, with
// its Server-Timing and a note, and a profiling.skipped event.
func TestConcurrentCaptures(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	inside := make(chan struct{})
	release := make(chan struct{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside <- struct{}{}
		<-release
		w.Write([]byte("ok\n"))
	}))
	var wg sync.WaitGroup
	ws := make([]*httptest.ResponseRecorder, 2)
	for i, kind := range []string{"trace", "cpu"} {
		wg.Go(func() {
			ws[i] = serve(h, as(httptest.NewRequest("GET", "/?profile="+kind, nil), staff))
		})
	}
	<-inside
	<-inside // both are in the handler: their captures started or not
	close(release)
	wg.Wait()
	var taken, notTaken int
	for _, w := range ws {
		st := w.Header().Get("Server-Timing")
		switch {
		case w.Code != 200 || w.Body.String() != "ok\n":
			t.Errorf("response %d %q", w.Code, w.Body)
		case strings.Contains(st, `not taken: another capture is running in this process; ask again"`):
			notTaken++
		case strings.Contains(st, `capture;desc="`):
			taken++
		default:
			t.Errorf("Server-Timing %q says nothing of the capture", st)
		}
	}
	if taken != 1 || notTaken != 1 || len(m.Captures()) != 1 {
		t.Errorf("%d taken, %d not taken, %d kept; want 1, 1, 1", taken, notTaken, len(m.Captures()))
	}
	var skipped int
	for _, e := range rec.Take() {
		if e.Name == "profiling.skipped" {
			skipped++
			if e.Fields["reason"] != "busy" {
				t.Errorf("skipped reason %v", e.Fields["reason"])
			}
		}
	}
	if skipped != 1 {
		t.Errorf("%d profiling.skipped events, want 1", skipped)
	}
	nothingRunning(t)
}

// Captures are process-wide: two Middlewares share the one-at-a-time rule.
func TestOneCaptureAcrossMiddlewares(t *testing.T) {
	a, _ := newMiddleware(t, profiling.Config{})
	b, _ := newMiddleware(t, profiling.Config{})
	var inner *httptest.ResponseRecorder
	outer := serve(a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = serve(b.Handler(page), as(httptest.NewRequest("GET", "/?profile=cpu", nil), staff))
	})), as(httptest.NewRequest("GET", "/?profile=trace", nil), staff))
	if !strings.Contains(inner.Header().Get("Server-Timing"), "not taken") || len(b.Captures()) != 0 || len(a.Captures()) != 1 {
		t.Errorf("inner %q; %d and %d captures", inner.Header().Get("Server-Timing"), len(a.Captures()), len(b.Captures()))
	}
	_ = outer
}

// A panicking handler leaves neither profiler running; the capture is
// kept (a trace of a panic is worth having) and the next one works.
func TestPanicStopsCapture(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want the handler's panic to go on", v)
			}
		}()
		serve(h, as(httptest.NewRequest("GET", "/?profile=trace,cpu", nil), staff))
	}()
	nothingRunning(t)
	if n := len(m.Captures()); n != 2 {
		t.Errorf("%d captures after the panic, want 2", n)
	}
	serve(m.Handler(page), as(httptest.NewRequest("GET", "/?profile=cpu", nil), staff))
	if n := len(m.Captures()); n != 3 {
		t.Errorf("%d captures after the next request, want 3", n)
	}
}

// A capture stops at MaxDuration while the handler goes on; the process
// can capture again at once.
func TestMaxDuration(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{MaxDuration: 50 * time.Millisecond})
	var during int
	var elapsed time.Duration
	start := time.Now()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for len(m.Captures()) < 2 && time.Since(start) < 10*time.Second {
			time.Sleep(5 * time.Millisecond)
		}
		elapsed = time.Since(start)
		// The first capture was stopped: another can run.
		serve(m.Handler(page), as(httptest.NewRequest("GET", "/inner?profile=cpu", nil), staff))
		during = len(m.Captures())
	}))
	serve(h, as(httptest.NewRequest("GET", "/slow?profile=trace,cpu", nil), staff))
	caps := m.Captures()
	if during != 3 || len(caps) != 3 {
		t.Fatalf("%d captures during the slow request, %d after; want 3 and 3", during, len(caps))
	}
	for _, c := range caps[1:] { // the two of /slow
		if c.Path != "/slow" || c.Cut != "max_duration" || c.Duration < 50*time.Millisecond || c.Duration > elapsed {
			t.Errorf("capture %s: cut %q after %v; want max_duration after 50ms, before the handler saw it (%v)", c, c.Cut, c.Duration, elapsed)
		}
		if !strings.HasPrefix(c.Timing, "total;dur=") {
			t.Errorf("capture %s: the request's final timing %q was not recorded", c, c.Timing)
		}
	}
	tr := caps[1]
	if tr.Kind != profiling.Trace {
		tr = caps[2]
	}
	if !traceHas(t, save(t, tr), `Type="bulwark.request"`)[`Type="bulwark.request"`] {
		t.Error("the trace cut at MaxDuration lacks the request's task")
	}
	nothingRunning(t)
}

// A capture stops when the request's context ends (the client went
// away), whether or not the handler notices.
func TestClientGone(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		deadline := time.Now().Add(5 * time.Second)
		for len(m.Captures()) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}))
	serve(h, as(httptest.NewRequestWithContext(ctx, "GET", "/?profile=trace", nil), staff))
	caps := m.Captures()
	if len(caps) != 1 || caps[0].Cut != "canceled" {
		t.Fatalf("captures %v; want one cut: canceled", caps)
	}
	nothingRunning(t)
}

// When another part of the program holds the CPU profiler, a cpu capture
// is skipped with a note and an event; the trace of trace,cpu is still
// taken.
func TestProfilerInUse(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	m, rec := newMiddleware(t, profiling.Config{})
	w1 := serve(m.Handler(page), as(httptest.NewRequest("GET", "/?profile=cpu", nil), staff))
	w2 := serve(m.Handler(page), as(httptest.NewRequest("GET", "/?profile=trace,cpu", nil), staff))
	pprof.StopCPUProfile()
	if st := w1.Header().Get("Server-Timing"); !strings.Contains(st, `capture;desc="cpu not taken: the profiler is in use elsewhere in the program"`) {
		t.Errorf("Server-Timing %q", st)
	}
	if st := w2.Header().Get("Server-Timing"); !strings.Contains(st, "; cpu not taken: the profiler is in use elsewhere in the program") {
		t.Errorf("Server-Timing %q", st)
	}
	caps := m.Captures()
	if len(caps) != 1 || caps[0].Kind != profiling.Trace {
		t.Errorf("captures %v, want the trace alone", caps)
	}
	var reasons []string
	for _, e := range rec.Take() {
		if e.Name == "profiling.skipped" {
			reasons = append(reasons, e.Fields["kind"].(string)+":"+e.Fields["reason"].(string))
		}
	}
	if strings.Join(reasons, " ") != "cpu:in_use cpu:in_use" {
		t.Errorf("skipped events %v", reasons)
	}
	nothingRunning(t)
}

// The ring keeps the last Keep captures.
func TestRingKeep(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{Keep: 2})
	for _, p := range []string{"/a", "/b", "/c"} {
		serve(m.Handler(page), as(httptest.NewRequest("GET", p+"?profile=trace", nil), staff))
	}
	caps := m.Captures()
	if len(caps) != 2 || caps[0].Path != "/c" || caps[1].Path != "/b" {
		t.Errorf("captures %v, want /c and /b, newest first", caps)
	}
	if caps[0].ID <= caps[1].ID {
		t.Errorf("ids %s, %s: want increasing", caps[1].ID, caps[0].ID)
	}
}

// protoFields walks the top-level fields of a protobuf message and
// returns the field numbers it holds; it fails on anything that is not
// well-formed protobuf.
func protoFields(b []byte) (map[int]bool, error) {
	seen := map[int]bool{}
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("bad key varint at %x", b[:min(8, len(b))])
		}
		b = b[n:]
		field, wire := int(key>>3), key&7
		if field == 0 {
			return nil, errors.New("field number 0")
		}
		switch wire {
		case 0:
			if _, n = binary.Uvarint(b); n <= 0 {
				return nil, errors.New("bad varint")
			}
		case 1:
			n = 8
		case 2:
			l, m := binary.Uvarint(b)
			if m <= 0 || uint64(len(b)-m) < l {
				return nil, errors.New("bad length")
			}
			n = m + int(l)
		case 5:
			n = 4
		default:
			return nil, fmt.Errorf("wire type %d", wire)
		}
		if n > len(b) {
			return nil, errors.New("truncated")
		}
		b = b[n:]
		seen[field] = true
	}
	return seen, nil
}
