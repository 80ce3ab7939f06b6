package csp

import (
	"bytes"
	"crypto/tls"
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
)

var nonceRE = regexp.MustCompile(`'nonce-([A-Za-z0-9_-]+)'`)

// serve runs one GET through m around h and returns the recorder.
func serve(t testing.TB, m *Middleware, h http.HandlerFunc, mod ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	for _, f := range mod {
		f(r)
	}
	w := httptest.NewRecorder()
	m.Handler(h).ServeHTTP(w, r)
	return w
}

func mustNew(t testing.TB, cfg Config) *Middleware {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ok(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }

func nonceOf(t testing.TB, header string) string {
	t.Helper()
	ms := nonceRE.FindAllStringSubmatch(header, -1)
	if len(ms) == 0 {
		t.Fatalf("no nonce in %q", header)
	}
	for _, m := range ms[1:] {
		if m[1] != ms[0][1] {
			t.Fatalf("two nonces in %q", header)
		}
	}
	return ms[0][1]
}

func TestZeroConfigIsStrictWithNonce(t *testing.T) {
	m := mustNew(t, Config{})
	var seen []string
	for range 3 {
		var inCtx string
		w := serve(t, m, func(w http.ResponseWriter, r *http.Request) { inCtx = Nonce(r.Context()); ok(w, r) })
		h := w.Header().Get("Content-Security-Policy")
		n := nonceOf(t, h)
		if n != inCtx {
			t.Fatalf("header nonce %q, context nonce %q", n, inCtx)
		}
		if len(n) != 22 { // 16 bytes, base64 without padding
			t.Errorf("nonce %q: want 22 characters", n)
		}
		want := strings.ReplaceAll(Strict().String(), "'nonce'", "'nonce-"+n+"'")
		if h != want {
			t.Errorf("header\n %q\nwant\n %q", h, want)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", got)
		}
		for _, s := range seen {
			if s == n {
				t.Fatalf("nonce %q repeated", n)
			}
		}
		seen = append(seen, n)
	}
}

func TestNonceInBothHeadersAndPercentSurvives(t *testing.T) {
	m := mustNew(t, Config{
		Enforce:    Raw("script-src 'self' $NONCE; style-src 'nonce'; trusted-types policy-%; object-src 'none'; base-uri 'none'"),
		ReportOnly: Raw("script-src 'nonce' 'strict-dynamic'; report-uri /csp?x=a%20b%s%d"),
	})
	w := serve(t, m, ok)
	e := w.Header().Get("Content-Security-Policy")
	ro := w.Header().Get("Content-Security-Policy-Report-Only")
	n := nonceOf(t, e)
	if nonceOf(t, ro) != n {
		t.Fatalf("enforce %q and report-only %q carry different nonces", e, ro)
	}
	if strings.Count(e, n) != 2 {
		t.Errorf("want the nonce in script-src and style-src: %q", e)
	}
	if want := "script-src 'self' 'nonce-" + n + "'; style-src 'nonce-" + n + "'; trusted-types policy-%; object-src 'none'; base-uri 'none'"; e != want {
		t.Errorf("enforce %q\nwant %q", e, want)
	}
	if want := "script-src 'nonce-" + n + "' 'strict-dynamic'; report-uri /csp?x=a%20b%s%d"; ro != want {
		t.Errorf("report-only %q\nwant %q", ro, want)
	}
}

func TestUpgradeInsecureRequestsOnlyOverHTTPS(t *testing.T) {
	sec, err := seclog.New(seclog.Config{TrustedProxies: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, nonce := range []bool{false, true} {
		p := Raw("default-src 'self'; upgrade-insecure-requests")
		if nonce {
			p = Raw("default-src 'self'; script-src 'nonce'; upgrade-insecure-requests")
		}
		m := mustNew(t, Config{Enforce: p, Logger: sec})
		tests := []struct {
			name string
			mod  func(*http.Request)
			uir  bool
		}{
			{"plain HTTP", func(r *http.Request) {}, false},
			{"TLS", func(r *http.Request) { r.TLS = &tls.ConnectionState{} }, true},
			{"trusted proxy https", func(r *http.Request) { r.RemoteAddr = "10.1.2.3:5000"; r.Header.Set("X-Forwarded-Proto", "https") }, true},
			{"untrusted proxy header", func(r *http.Request) { r.RemoteAddr = "192.0.2.1:5000"; r.Header.Set("X-Forwarded-Proto", "https") }, false},
		}
		for _, tt := range tests {
			w := serve(t, m, ok, tt.mod)
			h := w.Header().Get("Content-Security-Policy")
			if got := strings.Contains(h, "upgrade-insecure-requests"); got != tt.uir {
				t.Errorf("nonce=%v %s: %q: upgrade-insecure-requests present=%v, want %v", nonce, tt.name, h, got, tt.uir)
			}
			if strings.HasSuffix(h, "; ") || strings.Contains(h, ";;") {
				t.Errorf("malformed %q", h)
			}
		}
	}
}

func TestStaticPolicy(t *testing.T) {
	const pol = "default-src 'self'; object-src 'none'; base-uri 'none'"
	m := mustNew(t, Config{Enforce: Raw(pol)})
	if m.stateful {
		t.Fatal("a static policy should need no per-request state")
	}
	w := serve(t, m, ok)
	if got := w.Header().Get("Content-Security-Policy"); got != pol {
		t.Errorf("got %q", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "" {
		t.Errorf("Cache-Control %q on a response without nonce", got)
	}
	// The handler's own header wins.
	w = serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		ok(w, r)
	})
	if got := w.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != "default-src 'none'" {
		t.Errorf("handler's header not kept: %q", got)
	}
	// Per-request changes need state.
	serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if err := Append(r, ToBoth, Dir(ImgSrc, "data:")); err != ErrNoState {
			t.Errorf("Append on static: %v, want ErrNoState", err)
		}
	})
}

func TestHandlerHeadersRespectedUnlessForce(t *testing.T) {
	handlerCSP := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Header().Set("Cache-Control", "private, max-age=60")
		ok(w, r)
	}
	for _, lazy := range []bool{false, true} {
		m := mustNew(t, Config{Lazy: lazy})
		w := serve(t, m, handlerCSP)
		if got := w.Header().Get("Content-Security-Policy"); got != "default-src 'none'" {
			t.Errorf("lazy=%v: handler CSP replaced: %q", lazy, got)
		}
		if got := w.Header().Get("Cache-Control"); got != "private, max-age=60" {
			t.Errorf("lazy=%v: handler Cache-Control replaced: %q", lazy, got)
		}
	}
	m := mustNew(t, Config{Force: true})
	w := serve(t, m, handlerCSP)
	h := w.Header().Values("Content-Security-Policy")
	if len(h) != 1 || !strings.Contains(h[0], "'strict-dynamic'") {
		t.Errorf("Force: %q", h)
	}
	if got := w.Header().Get("Cache-Control"); got != "private, max-age=60" {
		t.Errorf("Force: handler Cache-Control replaced: %q", got)
	}
}

func TestReporting(t *testing.T) {
	m := mustNew(t, Config{
		Enforce:    Raw("default-src 'self'; script-src 'nonce'; object-src 'none'; base-uri 'none'"),
		ReportOnly: Raw("default-src 'none'"),
		Reporting:  &Reporting{},
	})
	w := serve(t, m, ok, overTLS)
	e := w.Header().Get("Content-Security-Policy")
	ro := w.Header().Get("Content-Security-Policy-Report-Only")
	for _, h := range []string{e, ro} {
		if !strings.HasSuffix(h, "; report-to csp-endpoint; report-uri /csp-report") {
			t.Errorf("no reporting directives in %q", h)
		}
	}
	if got := w.Header().Get("Reporting-Endpoints"); got != `csp-endpoint="/csp-report"` {
		t.Errorf("Reporting-Endpoints %q", got)
	}
	// On plain HTTP, Chromium would send no report at all with report-to
	// in the policy (the Reporting API needs a secure page, and report-uri
	// is ignored beside report-to): report-uri alone, no endpoints header.
	w = serve(t, m, ok)
	for _, h := range []string{w.Header().Get("Content-Security-Policy"), w.Header().Get("Content-Security-Policy-Report-Only")} {
		if strings.Contains(h, "report-to") || !strings.HasSuffix(h, "; report-uri /csp-report") {
			t.Errorf("plain HTTP: %q, want report-uri without report-to", h)
		}
	}
	if got := w.Header().Get("Reporting-Endpoints"); got != "" {
		t.Errorf("plain HTTP: Reporting-Endpoints %q", got)
	}
}

// overTLS makes a test request arrive over HTTPS.
func overTLS(r *http.Request) { r.TLS = &tls.ConnectionState{} }

func TestReportSampling(t *testing.T) {
	for _, nonce := range []bool{false, true} {
		p := Raw("default-src 'self'; object-src 'none'; base-uri 'none'")
		if nonce {
			p = append(p, Dir(ScriptSrc, NonceSource))
		}
		m := mustNew(t, Config{Enforce: p, ReportOnly: Raw("default-src 'none'"), Reporting: &Reporting{Path: "https://r.example/c", Group: "g", SampleRate: 0.25}})
		sampled := 0
		const n = 2000
		for range n {
			w := serve(t, m, ok, overTLS)
			e := w.Header().Get("Content-Security-Policy")
			ro, hasRO := w.Header()["Content-Security-Policy-Report-Only"]
			ep := w.Header().Get("Reporting-Endpoints")
			if strings.Contains(e, "report-to g; report-uri https://r.example/c") {
				sampled++
				if !hasRO || !strings.Contains(ro[0], "report-to g") || ep != `g="https://r.example/c"` {
					t.Fatalf("sampled response: ro %q endpoints %q", ro, ep)
				}
			} else {
				if strings.Contains(e, "report") || hasRO || ep != "" {
					t.Fatalf("unsampled response still reports: %q %q %q", e, ro, ep)
				}
				if !strings.HasPrefix(e, "default-src 'self'; object-src 'none'; base-uri 'none'") {
					t.Fatalf("unsampled enforce %q", e)
				}
			}
		}
		if sampled < n/8 || sampled > n*3/8 {
			t.Errorf("nonce=%v: %d of %d sampled at 0.25", nonce, sampled, n)
		}
	}
}

func TestPerRequestChanges(t *testing.T) {
	base := Raw("default-src 'self' cdn.example; script-src 'self' 'nonce'; object-src 'none'; base-uri 'none'")
	ro := Raw("default-src 'none'; report-uri /r")
	cfg := Config{Enforce: base, ReportOnly: ro, Presets: map[string]Change{
		"embed":   {Target: ToEnforce, Override: Policy{Dir(FrameAncestors, "https://partner.example")}},
		"noro":    {Target: ToReportOnly, Exempt: true},
		"maps":    {Append: Policy{Dir(ImgSrc, "maps.example")}},
		"nothing": {Exempt: true},
	}}
	tests := []struct {
		name       string
		do         func(r *http.Request) error
		enforce    string // with NONCE for the nonce; "" = absent
		reportOnly string
	}{
		{"none", func(r *http.Request) error { return nil },
			"default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'", "default-src 'none'; report-uri /r"},
		{"append seeds from default-src", func(r *http.Request) error { return Append(r, ToEnforce, Dir(ImgSrc, "img.example")) },
			"default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'; img-src 'self' cdn.example img.example", "default-src 'none'; report-uri /r"},
		{"append to existing", func(r *http.Request) error {
			return Append(r, ToBoth, Dir(ScriptSrc, "js.example"), Dir(DefaultSrc, "x.example"))
		},
			"default-src 'self' cdn.example x.example; script-src 'self' 'nonce-NONCE' js.example; object-src 'none'; base-uri 'none'",
			"default-src x.example; report-uri /r; script-src x.example js.example"},
		{"override", func(r *http.Request) error { return Override(r, ToBoth, Dir(ScriptSrc, Self)) },
			"default-src 'self' cdn.example; script-src 'self'; object-src 'none'; base-uri 'none'", "default-src 'none'; report-uri /r; script-src 'self'"},
		{"exempt enforce", func(r *http.Request) error { return Exempt(r, ToEnforce) }, "", "default-src 'none'; report-uri /r"},
		{"exempt report-only", func(r *http.Request) error { return Exempt(r, ToReportOnly) },
			"default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'", ""},
		{"exempt both", func(r *http.Request) error { return Exempt(r, ToBoth) }, "", ""},
		{"preset embed", func(r *http.Request) error { return Use(r, "embed") },
			"default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'; frame-ancestors https://partner.example", "default-src 'none'; report-uri /r"},
		{"preset maps", func(r *http.Request) error { return Use(r, "maps") },
			"default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'; img-src 'self' cdn.example maps.example",
			"default-src 'none'; report-uri /r; img-src maps.example"},
		{"preset then append", func(r *http.Request) error {
			if err := Use(r, "noro"); err != nil {
				return err
			}
			return Append(r, ToBoth, Dir(ConnectSrc, "api.example"))
		}, "default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'; connect-src 'self' cdn.example api.example", ""},
		{"invalid change is refused", func(r *http.Request) error {
			if err := Append(r, ToBoth, Dir(ScriptSrc, "unsafe-inline")); err == nil || !strings.Contains(err.Error(), "'unsafe-inline'") {
				t.Errorf("invalid Append: %v", err)
			}
			if err := Use(r, "missing"); err == nil {
				t.Error("unknown preset accepted")
			}
			return nil
		}, "default-src 'self' cdn.example; script-src 'self' 'nonce-NONCE'; object-src 'none'; base-uri 'none'", "default-src 'none'; report-uri /r"},
	}
	for _, lazy := range []bool{false, true} {
		cfg.Lazy = lazy
		m := mustNew(t, cfg)
		for _, tt := range tests {
			var nonce string
			w := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
				if err := tt.do(r); err != nil {
					t.Errorf("%s: %v", tt.name, err)
				}
				nonce = Nonce(r.Context())
				ok(w, r)
			})
			check := func(key, want string) {
				got, present := w.Header()[key]
				want = strings.ReplaceAll(want, "NONCE", nonce)
				if want == "" {
					if present {
						t.Errorf("lazy=%v %s: %s %q, want none", lazy, tt.name, key, got)
					}
					return
				}
				if len(got) != 1 || got[0] != want {
					t.Errorf("lazy=%v %s: %s\n %q\nwant\n %q", lazy, tt.name, key, got, want)
				}
			}
			check("Content-Security-Policy", tt.enforce)
			check("Content-Security-Policy-Report-Only", tt.reportOnly)
			wantCC := ""
			if strings.Contains(tt.enforce+tt.reportOnly, "NONCE") {
				wantCC = "no-store"
			}
			if got := w.Header().Get("Cache-Control"); got != wantCC {
				t.Errorf("lazy=%v %s: Cache-Control %q, want %q", lazy, tt.name, got, wantCC)
			}
		}
	}
}

func TestWith(t *testing.T) {
	m := mustNew(t, Config{Enforce: Raw("default-src 'self'"), Presets: map[string]Change{"api": {Override: Policy{Dir(DefaultSrc, None), Dir(FrameAncestors, None)}}}})
	w := serve(t, m, m.With("api")(http.HandlerFunc(ok)).ServeHTTP)
	if got := w.Header().Get("Content-Security-Policy"); got != "default-src 'none'; frame-ancestors 'none'" {
		t.Errorf("got %q", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("With of an unknown preset did not panic")
		}
	}()
	m.With("nope")
}

func TestLazy(t *testing.T) {
	l, logs := seclogtest.New(t)
	m := mustNew(t, Config{Lazy: true, Logger: l})
	// Nothing asks for the nonce: the header has none, the page may be cached.
	w := serve(t, m, ok)
	h := w.Header().Get("Content-Security-Policy")
	if strings.Contains(h, "nonce") || !strings.Contains(h, "script-src 'strict-dynamic'") {
		t.Errorf("lazy, unused: %q", h)
	}
	if got := w.Header().Get("Cache-Control"); got != "" {
		t.Errorf("lazy, unused: Cache-Control %q", got)
	}
	// Asked for: in the header.
	var n string
	w = serve(t, m, func(w http.ResponseWriter, r *http.Request) { n = Nonce(r.Context()); ok(w, r) })
	if got := nonceOf(t, w.Header().Get("Content-Security-Policy")); got != n || n == "" {
		t.Errorf("lazy: header nonce %q, Nonce %q", got, n)
	}
	// Asked for after the response started: none, and an event.
	w = serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		ok(w, r)
		if n := Nonce(r.Context()); n != "" {
			t.Errorf("late Nonce returned %q", n)
		}
		if err := Append(r, ToBoth, Dir(ImgSrc, "data:")); err != ErrTooLate {
			t.Errorf("late Append: %v", err)
		}
	})
	if len(logs.Named("csp.nonce_late")) != 1 || len(logs.Named("csp.change_refused")) != 1 {
		t.Errorf("events: %v", logs.All())
	}
	// No write at all: headers still decided when the handler returns.
	w = serve(t, m, func(w http.ResponseWriter, r *http.Request) {})
	if w.Header().Get("Content-Security-Policy") == "" {
		t.Error("no header when the handler wrote nothing")
	}
}

func TestLazyWriterFlushAndUnwrap(t *testing.T) {
	m := mustNew(t, Config{Lazy: true})
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := Nonce(r.Context())
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		w.Write([]byte(n))
		if _, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok {
			t.Error("no Unwrap")
		}
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if n := nonceOf(t, resp.Header.Get("Content-Security-Policy")); n != body.String() {
		t.Errorf("flushed header nonce %q, body %q", n, body.String())
	}
	// Hijack reaches the connection through Unwrap.
	srv2 := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		c.Write([]byte("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"))
		c.Close()
	})))
	defer srv2.Close()
	resp2, err := http.Get(srv2.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 204 {
		t.Errorf("hijacked status %d", resp2.StatusCode)
	}
}

func TestTemplateFuncs(t *testing.T) {
	tmpl := template.Must(template.New("p").Funcs(TemplateFuncs()).Parse(`<script nonce="{{cspNonce .Request}}">go()</script><style nonce="{{cspNonce .Ctx}}"></style>`))
	m := mustNew(t, Config{})
	w := serve(t, m, func(w http.ResponseWriter, r *http.Request) {
		if err := tmpl.Execute(w, map[string]any{"Request": r, "Ctx": r.Context()}); err != nil {
			t.Error(err)
		}
	})
	n := nonceOf(t, w.Header().Get("Content-Security-Policy"))
	if want := `<script nonce="` + n + `">go()</script><style nonce="` + n + `"></style>`; w.Body.String() != want {
		t.Errorf("body %q, want %q", w.Body.String(), want)
	}
	if _, err := templateNonce(42); err == nil {
		t.Error("cspNonce of an int")
	}
}

func TestStartupEvents(t *testing.T) {
	l, logs := seclogtest.New(t)
	_, err := New(Config{
		Enforce:    Raw("default-src 'self'; script-src 'self' 'unsafe-inline'; plugin-types application/pdf"),
		ReportOnly: Raw("default-src 'self'; sandbox"),
		Logger:     l,
	})
	if err != nil {
		t.Fatal(err)
	}
	weak := logs.Named("csp.policy_weak")
	dep := logs.Named("csp.directive_deprecated")
	if len(dep) != 1 || len(weak) < 5 {
		t.Fatalf("weak %d, deprecated %d: %v", len(weak), len(dep), logs.All())
	}
	var ro int
	for _, e := range weak {
		if e.Field("policy") == "report-only" {
			ro++
		}
	}
	if ro < 2 { // sandbox ignored; no reporting
		t.Errorf("report-only lints: %d", ro)
	}
}

// TestConcurrent hammers one middleware of each kind from many goroutines
// (run with -race): each response must carry its own nonce, equal to the
// one its handler saw.
func TestConcurrent(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Lazy: true},
		{Enforce: Raw("default-src 'self'; upgrade-insecure-requests"), Reporting: &Reporting{SampleRate: 0.5}},
		{Presets: map[string]Change{"p": {Append: Policy{Dir(ImgSrc, "data:")}}}, ReportOnly: Raw("default-src 'none'"), Reporting: &Reporting{}},
	} {
		m := mustNew(t, cfg)
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/p" {
				Use(r, "p")
			}
			w.Write([]byte(Nonce(r.Context())))
		}))
		var wg sync.WaitGroup
		var mu sync.Mutex
		seen := map[string]bool{}
		for g := range 16 {
			wg.Go(func() {
				for i := range 200 {
					path := "/"
					if i%2 == g%2 {
						path = "/p"
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
					n := w.Body.String()
					if n == "" {
						continue
					}
					if got := nonceRE.FindStringSubmatch(w.Header().Get("Content-Security-Policy")); got == nil || got[1] != n {
						t.Errorf("header %q, body nonce %q", w.Header().Get("Content-Security-Policy"), n)
						return
					}
					mu.Lock()
					if seen[n] {
						t.Errorf("nonce %q twice", n)
					}
					seen[n] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
}

// quiet is a security logger that writes nothing.
var quiet = seclog.Discard()

// TestAllocs guards the costs the benchmarks measure: a static policy
// allocates nothing; a nonce policy allocates the per-request state (which
// holds the request copy) and the header value, nothing else.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tests := []struct {
		name string
		cfg  Config
		h    http.HandlerFunc
		max  float64
	}{
		{"static", Config{Enforce: Raw(benchPolicy)}, trivial, 0},
		{"static with reporting", Config{Enforce: Raw("default-src 'self'"), ReportOnly: Raw("default-src 'none'"), Reporting: &Reporting{SampleRate: 0.5}}, trivial, 0},
		{"nonce", Config{Enforce: Raw(benchNonce)}, withNonce, 2},
		{"nonce, both policies", Config{Enforce: Raw(benchNonce), ReportOnly: Raw(benchNonce)}, withNonce, 2},
	}
	for _, tt := range tests {
		tt.cfg.Logger = quiet
		h := mustNew(t, tt.cfg).Handler(tt.h)
		r := httptest.NewRequest("GET", "/", nil)
		w := httptest.NewRecorder()
		got := testing.AllocsPerRun(200, func() {
			clear(w.HeaderMap)
			w.Body.Reset()
			h.ServeHTTP(w, r)
		})
		if got > tt.max {
			t.Errorf("%s: %v allocations per request, want at most %v", tt.name, got, tt.max)
		}
	}
}

// TestOuterPolicyKeptIsWarnedOnce: a policy set by an outer middleware
// (unrolled/secure's ContentSecurityPolicy option) is kept, and the
// middleware says so once, for the static and the nonce path alike.
func TestOuterPolicyKeptIsWarnedOnce(t *testing.T) {
	for _, enforce := range []Policy{Strict(), {Dir(DefaultSrc, Self)}} {
		l, logs := seclogtest.New(t)
		m := mustNew(t, Config{Enforce: enforce, Logger: l})
		outer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Security-Policy", "default-src *")
				next.ServeHTTP(w, r)
			})
		}
		h := outer(m.Handler(http.HandlerFunc(ok)))
		for range 3 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			if got := w.Header().Values("Content-Security-Policy"); len(got) != 1 || got[0] != "default-src *" {
				t.Fatalf("%v: header %q; want the outer one kept", enforce, got)
			}
		}
		var warnings int
		for _, e := range logs.All() {
			if strings.Contains(e.Name, "already set") {
				warnings++
			}
		}
		if warnings != 1 {
			t.Errorf("%v: %d warnings; want 1: %v", enforce, warnings, logs.All())
		}
	}
}
