package profiling_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/seclog"
)

var (
	staff  = identity.Basic{UserID: "ada", IsActive: true, IsStaff: true}
	member = identity.Basic{UserID: "bob", IsActive: true}
	// inactive staff is anonymous for identity, so not authorized.
	inactiveStaff = identity.Basic{UserID: "eve", IsStaff: true}
)

// as returns r with u as its identity user (nil: anonymous).
func as(r *http.Request, u identity.User) *http.Request {
	if u == nil {
		return r
	}
	return r.WithContext(seclog.WithUser(identity.NewContext(r.Context(), u), u.ID()))
}

func newMiddleware(t testing.TB, cfg profiling.Config) (*profiling.Middleware, *seclogtest.Recorder) {
	t.Helper()
	l, rec := seclogtest.New(t)
	cfg.Logger = l
	m, err := profiling.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, rec
}

// page is the application handler of the tests: it marks a span and
// writes a small page.
var page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	end := profiling.Span(r.Context(), "db")
	time.Sleep(time.Millisecond)
	end()
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("hello\n"))
})

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  profiling.Config
		want string
	}{
		{"param with a space", profiling.Config{Param: "pro file"}, `Param "pro file" has ' '`},
		{"param with =", profiling.Config{Param: "a=b"}, `Param "a=b" has '='`},
		{"param with percent", profiling.Config{Param: "a%20"}, `has '%'`},
		{"param too long", profiling.Config{Param: strings.Repeat("p", 65)}, "longer than 64 bytes"},
		{"param and DisableParam", profiling.Config{Param: "p", DisableParam: true}, "DisableParam is set"},
		{"header with colon", profiling.Config{Header: "X-Profile:"}, `has ':'`},
		{"header with space", profiling.Config{Header: "X Profile"}, `has ' '`},
		{"header non-ASCII", profiling.Config{Header: "X-Pröfile"}, "a header name is a token"},
		{"header too long", profiling.Config{Header: strings.Repeat("h", 65)}, "longer than 64 bytes"},
		{"header and DisableHeader", profiling.Config{Header: "X-P", DisableHeader: true}, "DisableHeader is set"},
		{"both disabled", profiling.Config{DisableParam: true, DisableHeader: true}, "no request can ask"},
		{"negative duration", profiling.Config{MaxDuration: -time.Second}, "MaxDuration is -1s"},
		{"tiny duration", profiling.Config{MaxDuration: time.Millisecond}, "between 10ms and 5m0s"},
		{"huge duration", profiling.Config{MaxDuration: time.Hour}, "between 10ms and 5m0s"},
		{"tiny capture", profiling.Config{MaxCaptureBytes: 1000}, "MaxCaptureBytes is 1000"},
		{"negative capture", profiling.Config{MaxCaptureBytes: -1}, "MaxCaptureBytes is -1"},
		{"huge capture", profiling.Config{MaxCaptureBytes: 2 << 30, KeepBytes: 4 << 30}, "and 1073741824 (1 GiB)"},
		{"negative keep", profiling.Config{Keep: -1}, "Keep is -1"},
		{"huge keep", profiling.Config{Keep: 1001}, "between 1 and 1000"},
		{"negative keep bytes", profiling.Config{KeepBytes: -1}, "KeepBytes is -1"},
		{"keep bytes under capture", profiling.Config{KeepBytes: 1 << 20}, "raise KeepBytes to at least 16777216"},
		{"capture over default keep bytes", profiling.Config{MaxCaptureBytes: 128 << 20}, "KeepBytes (67108864) is less than MaxCaptureBytes (134217728)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := profiling.New(c.cfg)
			if err == nil {
				t.Fatalf("New(%+v) = nil error, want one containing %q", c.cfg, c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "profiling: ") {
				t.Errorf("New: %v\nwant an error containing %q", err, c.want)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, cfg := range []profiling.Config{
		{},
		{Param: "debug.profile-1_~", Header: "x-my-profile"},
		{DisableParam: true},
		{DisableHeader: true},
		{MaxDuration: 10 * time.Millisecond, MaxCaptureBytes: 64 << 10, Keep: 1, KeepBytes: 64 << 10},
		{MaxDuration: 5 * time.Minute, MaxCaptureBytes: 1 << 30, Keep: 1000, KeepBytes: 2 << 30},
	} {
		if _, err := profiling.New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestCheck(t *testing.T) {
	allowAll := func(*http.Request) bool { return true }
	for _, c := range []struct {
		name    string
		cfg     profiling.Config
		url     string
		header  [2]string
		user    identity.User
		want    profiling.Kind
		wantErr error
	}{
		{name: "no trigger", url: "/p", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "other query", url: "/p?q=profiles&x=1", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param as a value", url: "/p?q=profile", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param as a prefix", url: "/p?profiles=trace", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "bare param", url: "/p?profile", user: staff, want: 0},
		{name: "empty param", url: "/p?profile=", user: staff, want: 0},
		{name: "param 1", url: "/p?a=b&profile=1", user: staff, want: 0},
		{name: "param timing", url: "/p?profile=timing", user: staff, want: 0},
		{name: "param trace", url: "/p?profile=trace", user: staff, want: profiling.Trace},
		{name: "param CPU upper case", url: "/p?profile=CPU", user: staff, want: profiling.CPU},
		{name: "param both", url: "/p?profile=trace,cpu", user: staff, want: profiling.Trace | profiling.CPU},
		{name: "param both encoded", url: "/p?profile=trace%2C+cpu", user: staff, want: profiling.Trace | profiling.CPU},
		{name: "param key encoded", url: "/p?pro%66ile=cpu", user: staff, want: profiling.CPU},
		{name: "first param wins", url: "/p?profile=cpu&profile=trace", user: staff, want: profiling.CPU},
		{name: "param with semicolon skipped", url: "/p?profile=cpu;x", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param bad escape skipped", url: "/p?profile=%zz", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param 0", url: "/p?profile=0", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param off", url: "/p?profile=OFF", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "header trace", url: "/p", header: [2]string{"X-Bulwark-Profile", "trace"}, user: staff, want: profiling.Trace},
		{name: "header lower-case name", url: "/p", header: [2]string{"x-bulwark-profile", "cpu"}, user: staff, want: profiling.CPU},
		{name: "header false", url: "/p", header: [2]string{"X-Bulwark-Profile", "false"}, user: staff, wantErr: profiling.ErrNotAsked},
		{name: "header and param add up", url: "/p?profile=cpu", header: [2]string{"X-Bulwark-Profile", "trace"}, user: staff, want: profiling.Trace | profiling.CPU},
		{name: "header off, param on", url: "/p?profile=cpu", header: [2]string{"X-Bulwark-Profile", "off"}, user: staff, want: profiling.CPU},
		{name: "unknown value still asks", url: "/p?profile=cup", user: staff, want: 0},
		{name: "anonymous", url: "/p?profile=trace", wantErr: profiling.ErrNotAuthorized},
		{name: "not staff", url: "/p?profile=trace", user: member, wantErr: profiling.ErrNotAuthorized},
		{name: "inactive staff", url: "/p", header: [2]string{"X-Bulwark-Profile", "1"}, user: inactiveStaff, wantErr: profiling.ErrNotAuthorized},
		{name: "custom param", cfg: profiling.Config{Param: "prof"}, url: "/p?prof=cpu&profile=trace", user: staff, want: profiling.CPU},
		{name: "custom header", cfg: profiling.Config{Header: "X-Prof"}, url: "/p", header: [2]string{"X-Prof", "trace"}, user: staff, want: profiling.Trace},
		{name: "default header off with custom", cfg: profiling.Config{Header: "X-Prof"}, url: "/p", header: [2]string{"X-Bulwark-Profile", "trace"}, user: staff, wantErr: profiling.ErrNotAsked},
		{name: "param disabled", cfg: profiling.Config{DisableParam: true}, url: "/p?profile=cpu", user: staff, wantErr: profiling.ErrNotAsked},
		{name: "header disabled", cfg: profiling.Config{DisableHeader: true}, url: "/p", header: [2]string{"X-Bulwark-Profile", "cpu"}, user: staff, wantErr: profiling.ErrNotAsked},
		{name: "custom authorizer", cfg: profiling.Config{Authorize: allowAll}, url: "/p?profile=trace", want: profiling.Trace},
		{name: "custom authorizer refuses staff", cfg: profiling.Config{Authorize: func(*http.Request) bool { return false }}, url: "/p?profile=trace", user: staff, wantErr: profiling.ErrNotAuthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := newMiddleware(t, c.cfg)
			r := httptest.NewRequest("GET", c.url, nil)
			if c.header[0] != "" {
				r.Header.Set(c.header[0], c.header[1])
			}
			got, err := m.Check(as(r, c.user))
			if err != c.wantErr || got != c.want {
				t.Errorf("Check(%s) = %v, %v; want %v, %v", c.url, got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[profiling.Kind]string{
		0: "timing", profiling.Trace: "trace", profiling.CPU: "cpu",
		profiling.Trace | profiling.CPU: "trace,cpu", 8: "Kind(8)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// A request that does not ask, or is not authorized, reaches the handler
// as it came: the same ResponseWriter, no Server-Timing.
func TestNotProfiled(t *testing.T) {
	for _, c := range []struct {
		name   string
		url    string
		user   identity.User
		events []string
	}{
		{"not asking", "/p?q=1", staff, nil},
		{"anonymous asking", "/p?profile=trace", nil, []string{"profiling.refused"}},
		{"member asking", "/p?profile=cpu", member, []string{"profiling.refused"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, rec := newMiddleware(t, profiling.Config{})
			w := httptest.NewRecorder()
			var gotW http.ResponseWriter
			var profiled bool
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotW, profiled = w, profiling.Profiled(r.Context())
				page(w, r)
			})).ServeHTTP(w, as(httptest.NewRequest("GET", c.url, nil), c.user))
			if gotW != w || profiled {
				t.Errorf("handler got %T (profiled %v), want the recorder itself, not profiled", gotW, profiled)
			}
			if v := w.Header().Get("Server-Timing"); v != "" || w.Body.String() != "hello\n" {
				t.Errorf("Server-Timing %q, body %q", v, w.Body)
			}
			if got := rec.Names(); strings.Join(got, " ") != strings.Join(c.events, " ") {
				t.Errorf("events %v, want %v", got, c.events)
			}
			if len(m.Captures()) != 0 {
				t.Errorf("captures: %v", m.Captures())
			}
		})
	}
}

func TestRefusedEventFields(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	r := httptest.NewRequest("GET", "/p?profile=cpu", nil)
	r.Header.Set("X-Bulwark-Profile", "trace\x1b[31m"+strings.Repeat("x", 400))
	m.Handler(page).ServeHTTP(httptest.NewRecorder(), as(r, member))
	ev := rec.Take()
	if len(ev) != 1 || ev[0].Name != "profiling.refused" {
		t.Fatalf("events %+v", ev)
	}
	f := ev[0].Fields
	if f["trigger"] != "header+query" || f["user"] != "bob" || f["path"] != "/p" || f["owasp"] != "authz_fail" {
		t.Errorf("fields %v", f)
	}
	v, _ := f["capture"].(string)
	if strings.ContainsRune(v, 0x1b) || len(v) > seclog.MaxValueLen+32 || !strings.HasPrefix(v, "trace") {
		t.Errorf("capture field not bounded and escaped: %q", v)
	}
}

// parseTiming splits a Server-Timing value into its metrics, by name.
func parseTiming(t *testing.T, v string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range strings.Split(v, ", ") {
		name, params, _ := strings.Cut(m, ";")
		if name == "" {
			t.Fatalf("empty metric name in %q", v)
		}
		out[name] += params
	}
	return out
}

func TestServerTiming(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		for range 3 {
			end := profiling.Span(ctx, "db")
			end()
			end() // a second end is ignored
		}
		profiling.Span(ctx, "total")()                  // a name the middleware uses itself
		profiling.Span(ctx, `tmpl "x", y;z=1\`)()       // not a token
		profiling.Span(ctx, "")()                       // empty
		profiling.Span(ctx, strings.Repeat("n", 100))() // too long
		_ = profiling.Span(ctx, "open")                 // never ended: not reported
		sink = make([]byte, 1<<20)                      // at least 1 MiB allocated during the request
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.WriteHeader(http.StatusTeapot)
		profiling.Span(ctx, "late")() // after the header: not in it
		w.Write([]byte("hello\n"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, as(httptest.NewRequest("GET", "/p?profile", nil), staff))
	if w.Code != http.StatusTeapot || w.Body.String() != "hello\n" {
		t.Fatalf("response %d %q", w.Code, w.Body)
	}
	v := w.Header().Get("Server-Timing")
	got := parseTiming(t, v)
	for name, want := range map[string]string{
		"total": "dur=", "db": `desc="3 spans"`, "app-total": "dur=",
		"span": "dur=", strings.Repeat("n", 64): "dur=",
		"alloc": `desc="process-wide: `, "gc": `desc="process-wide: `,
	} {
		params, ok := got[name]
		if !ok || !strings.Contains(params, want) {
			t.Errorf("Server-Timing %q: metric %q = %q, want it with %q", v, name, params, want)
		}
	}
	if _, ok := got[`tmpl__x___y_z_1_`]; !ok {
		t.Errorf("Server-Timing %q: the non-token span name is not made a token", v)
	}
	for _, name := range []string{"open", "late", "capture"} {
		if _, ok := got[name]; ok {
			t.Errorf("Server-Timing %q has %q", v, name)
		}
	}
	if !strings.Contains(got["alloc"], "MiB in ") {
		t.Errorf("alloc %q: want at least 1 MiB", got["alloc"])
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if ev := rec.Names(); len(ev) != 0 {
		t.Errorf("timing only logged %v", ev)
	}
	if len(m.Captures()) != 0 {
		t.Error("timing only kept a capture")
	}
}

var sink []byte

func TestServerTimingSpanLimit(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{})
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range profiling.MaxSpanNames + 5 {
			profiling.Span(r.Context(), "s"+strings.Repeat("x", i))()
		}
		profiling.Span(r.Context(), "s")() // an existing name still adds up
	})).ServeHTTP(w, as(httptest.NewRequest("GET", "/?profile", nil), staff))
	got := parseTiming(t, w.Header().Get("Server-Timing"))
	if len(got) != profiling.MaxSpanNames+4 { // total, spans-dropped, alloc, gc
		t.Errorf("%d metrics, want %d: %v", len(got), profiling.MaxSpanNames+4, got)
	}
	if got["spans-dropped"] != `desc="5 spans under further names not shown"` || !strings.Contains(got["s"], `desc="2 spans"`) {
		t.Errorf("spans-dropped %q, s %q", got["spans-dropped"], got["s"])
	}
}

// A handler that writes nothing still gets the header (net/http sends it
// after the handler returns); the existing Server-Timing values are kept.
func TestServerTimingNoWrite(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{})
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server-Timing", "app;dur=1")
	})).ServeHTTP(w, as(httptest.NewRequest("GET", "/?profile", nil), staff))
	if v := w.Header().Values("Server-Timing"); len(v) != 2 || v[0] != "app;dur=1" || !strings.HasPrefix(v[1], "total;dur=") {
		t.Errorf("Server-Timing %q", v)
	}
}

func TestUnknownValueNote(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	w := httptest.NewRecorder()
	m.Handler(page).ServeHTTP(w, as(httptest.NewRequest("GET", "/?profile=flamegraph", nil), staff))
	v := w.Header().Get("Server-Timing")
	if !strings.Contains(v, `capture;desc="unknown profile value: write timing, trace, cpu or trace,cpu"`) {
		t.Errorf("Server-Timing %q lacks the note", v)
	}
	if ev := rec.Names(); len(ev) != 0 {
		t.Errorf("events %v", ev)
	}
}

// Flush and http.ResponseController reach the real writer through the
// wrapper, after the header is stamped.
func TestFlushAndResponseController(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{})
	w := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the wrapper is not an http.Flusher")
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err == nil {
			t.Error("SetWriteDeadline on a recorder: want ErrNotSupported through Unwrap")
		}
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if _, _, err := rc.Hijack(); err == nil {
			t.Error("Hijack of a recorder succeeded")
		}
	})).ServeHTTP(w, as(httptest.NewRequest("GET", "/?profile", nil), staff))
	if !w.Flushed || w.Header().Get("Server-Timing") == "" {
		t.Errorf("flushed %v, Server-Timing %q", w.Flushed, w.Header().Get("Server-Timing"))
	}
}

// Over a real connection: the header arrives with a streamed response,
// 103 Early Hints carries no Server-Timing, SetWriteDeadline works through
// Unwrap.
func TestRealServer(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{Authorize: func(*http.Request) bool { return true }})
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		defer profiling.Span(r.Context(), "stream")()
		w.Write([]byte("part 1\n"))
		w.(http.Flusher).Flush()
		w.Write([]byte("part 2\n"))
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("X-Bulwark-Profile", "timing")
	var early http.Header
	ctx := httptraceWith1xx(req.Context(), func(code int, h http.Header) {
		if code == http.StatusEarlyHints {
			early = h
		}
	})
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if early == nil || early.Get("Server-Timing") != "" {
		t.Errorf("103 header %v: want one without Server-Timing", early)
	}
	if v := resp.Header.Get("Server-Timing"); !strings.HasPrefix(v, "total;dur=") || strings.Contains(v, "stream") {
		t.Errorf("Server-Timing %q: want total, without the span still open", v)
	}
}

// httptraceWith1xx returns ctx with a client trace that reports 1xx
// responses to f.
func httptraceWith1xx(ctx context.Context, f func(code int, h http.Header)) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			f(code, http.Header(h))
			return nil
		},
	})
}

// Span and Profiled outside a profiled request do nothing and allocate
// nothing.
func TestSpanNotProfiled(t *testing.T) {
	ctx := context.WithValue(context.Background(), struct{ k int }{1}, "v")
	if profiling.Profiled(ctx) {
		t.Error("Profiled(background) = true")
	}
	allocs := testing.AllocsPerRun(100, func() {
		profiling.Span(ctx, "db")()
	})
	if allocs != 0 {
		t.Errorf("Span on a context that is not profiled: %v allocations, want 0", allocs)
	}
}
