package profiling

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// Errors of [Middleware.Check].
var (
	// ErrNotAsked: the request carries neither the trigger parameter nor
	// the trigger header (or says "0", "false", "off" or "no").
	ErrNotAsked = errors.New("profiling: the request does not ask to be profiled")
	// ErrNotAuthorized: the request asks to be profiled but the authorizer
	// refuses it.
	ErrNotAuthorized = errors.New("profiling: the request asks to be profiled but is not authorized")
)

// maxValueLen bounds the trigger's value: longer is an unknown value.
const maxValueLen = 64

// ask is what a request asks for, read from its trigger.
type ask struct {
	kind    Kind
	unknown bool   // a value that is not timing, trace or cpu
	via     string // "query", "header" or "header+query"
	raw     string // the value as sent (the header's, else the query's)
}

// asked reads the trigger of r. It allocates nothing unless the raw query
// plausibly holds the parameter in percent-encoded form.
func (m *Middleware) asked(r *http.Request) (a ask, ok bool) {
	if m.header != "" {
		if v := r.Header[m.header]; len(v) > 0 {
			a.raw, a.via = v[0], "header"
			ok = a.parse(v[0])
		}
	}
	if m.param != "" && r.URL != nil && r.URL.RawQuery != "" {
		if v, found := queryValue(r.URL.RawQuery, m.param); found {
			if a.via == "" {
				a.raw, a.via = v, "query"
			} else {
				a.via = "header+query"
			}
			ok = a.parse(v) || ok
		}
	}
	return a, ok
}

// parse adds what value v asks for to a, and reports whether it asks at
// all: "0", "false", "off" and "no" do not.
func (a *ask) parse(v string) bool {
	if len(v) > maxValueLen {
		a.unknown = true
		return true
	}
	switch {
	case strings.EqualFold(v, "0"), strings.EqualFold(v, "false"), strings.EqualFold(v, "off"), strings.EqualFold(v, "no"):
		return false
	}
	for v != "" {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		tok = strings.TrimSpace(tok)
		switch {
		case tok == "", tok == "1", strings.EqualFold(tok, "true"), strings.EqualFold(tok, "on"),
			strings.EqualFold(tok, "yes"), strings.EqualFold(tok, "timing"):
		case strings.EqualFold(tok, "trace"):
			a.kind |= Trace
		case strings.EqualFold(tok, "cpu"):
			a.kind |= CPU
		default:
			a.unknown = true
		}
	}
	return true
}

// queryValue returns the first value of key in the raw query, as
// url.ParseQuery reads it (pairs split on '&', a pair with ';' skipped,
// key and value unescaped), without allocating unless something is
// percent-encoded.
func queryValue(raw, key string) (string, bool) {
	if !mayHold(raw, key) {
		return "", false
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if strings.IndexByte(k, '%') < 0 {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			uv, err := url.QueryUnescape(v)
			if err != nil {
				continue
			}
			v = uv
		}
		return v, true
	}
	return "", false
}

// Check returns what r asks to capture (the zero Kind is timing only), or
// [ErrNotAsked] or [ErrNotAuthorized]. It is the middleware's decision
// alone: it neither logs nor profiles.
func (m *Middleware) Check(r *http.Request) (Kind, error) {
	a, ok := m.asked(r)
	if !ok {
		return 0, ErrNotAsked
	}
	if !m.authorize(r) {
		return 0, ErrNotAuthorized
	}
	return a.kind, nil
}

// Handler returns next wrapped. A request that does not ask to be
// profiled goes straight to next (a header lookup and, when the URL has a
// query, a scan of it; no allocation). A request that asks but is not
// authorized is served normally and logged as profiling.refused. An
// authorized one is profiled: see the package documentation.
//
// Put it after the identity middleware (the default authorizer reads the
// identity user) and before the application:
//
//	chain := alice.New(ids.Handler, prof.Handler, csp.Handler)
func (m *Middleware) Handler(next http.Handler) http.Handler {
	return &handler{m: m, next: next}
}

// handler is what Handler returns: a struct rather than a closure, so
// that serving a request is a direct method call.
type handler struct {
	m    *Middleware
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The fast path, written out here rather than in a function that
	// would not be inlined: false when r certainly does not ask (no
	// trigger header, and a raw query that holds neither the parameter's
	// name nor a '%').
	m := h.m
	if m.header != "" {
		if _, ok := r.Header[m.header]; ok {
			m.serveMayAsk(w, r, h.next)
			return
		}
	}
	if q := r.URL.RawQuery; q != "" && m.param != "" && mayHold(q, m.param) {
		m.serveMayAsk(w, r, h.next)
		return
	}
	h.next.ServeHTTP(w, r)
}

// mayHold reports whether the raw query q may hold the parameter p: it
// contains p or a '%' (p needs no escaping, see isUnreserved, so only an
// escaped form could hide it).
func mayHold(q, p string) bool {
	return strings.Contains(q, p) || strings.IndexByte(q, '%') >= 0
}

// serveMayAsk serves a request that may ask to be profiled.
func (m *Middleware) serveMayAsk(w http.ResponseWriter, r *http.Request, next http.Handler) {
	a, ok := m.asked(r)
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	if !m.authorize(r) {
		m.log.Log(r, seclog.ProfilingRefused, zap.String("trigger", a.via), seclog.String("capture", a.raw))
		next.ServeHTTP(w, r)
		return
	}
	m.profile(w, r, next, a)
}

// profile serves an authorized request that asks to be profiled. Every
// profiler it starts is stopped by a deferred call, so a panicking
// handler leaves nothing running.
func (m *Middleware) profile(w http.ResponseWriter, r *http.Request, next http.Handler, a ask) {
	st := &state{}
	var c *capture
	if a.kind != 0 {
		// Started before the request's task, so that the trace holds it.
		c, st.note = m.startCapture(r, a.kind)
	}
	if a.unknown {
		if st.note != "" {
			st.note += ", "
		}
		st.note += noteUnknown
	}
	ctx, task := trace.NewTask(r.Context(), "bulwark.request")
	if trace.IsEnabled() {
		trace.Log(ctx, "request", seclog.Sanitize(r.Method)+" "+seclog.Sanitize(r.URL.EscapedPath()))
	}
	ctx = context.WithValue(ctx, stateKey{}, st)
	pw := &writer{ResponseWriter: w, st: st}
	// The figures start after the profilers did: their start is not the
	// request's time, nor its allocations.
	st.start, st.before = time.Now(), readMetrics()
	defer func() {
		pw.stamp() // a handler that wrote nothing: the header is sent after this
		task.End()
		if c != nil {
			final := st.timing(time.Now(), readMetrics())
			c.finish("")
			m.ring.setTiming(c.id, final)
		}
	}()
	if c != nil && c.kind&CPU != 0 {
		// Samples of this goroutine, and of those it starts, carry the
		// label: go tool pprof -tagfocus=bulwark=request.
		pprof.Do(ctx, pprof.Labels(LabelKey, LabelValue), func(ctx context.Context) {
			next.ServeHTTP(pw, r.WithContext(ctx))
		})
		return
	}
	next.ServeHTTP(pw, r.WithContext(ctx))
}

// The pprof label on the CPU samples of a profiled request's goroutines:
// go tool pprof -tagfocus=bulwark=request x.pprof shows only them.
const (
	LabelKey   = "bulwark"
	LabelValue = "request"
)
