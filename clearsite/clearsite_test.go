package clearsite_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"

	"go.uber.org/zap/zapcore"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// newLogger returns a security logger that records every event (sampling
// off), trusting the proxy 10.0.0.1.
func newLogger(t testing.TB) (*seclog.Logger, *seclogtest.Recorder) {
	t.Helper()
	return seclogtest.NewConfig(t, seclog.Config{TrustedProxies: []string{"10.0.0.1"}})
}

// newMiddleware builds a middleware for cfg that logs to a recorder.
func newMiddleware(t testing.TB, cfg clearsite.Config) (*clearsite.Middleware, *seclogtest.Recorder) {
	t.Helper()
	l, logs := newLogger(t)
	cfg.Logger = l
	m, err := clearsite.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, logs
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  clearsite.Config
		want string // a part of the error
	}{
		{"unknown", clearsite.Config{Directives: []clearsite.Directive{"session"}}, `Directives[0] "session": not a Clear-Site-Data directive; use one of clearsite.Cache, clearsite.Cookies`},
		{"quoted", clearsite.Config{Directives: []clearsite.Directive{`"cookies"`}}, `Directives[0] "\"cookies\"": write it without quotes, as clearsite.Cookies`},
		{"single quoted", clearsite.Config{Directives: []clearsite.Directive{clearsite.Storage, `'cache'`}}, `Directives[1] "'cache'": write it without quotes, as clearsite.Cache`},
		{"case", clearsite.Config{Directives: []clearsite.Directive{"Cookies"}}, `directives are case-sensitive (browsers ignore "Cookies"): write clearsite.Cookies ("cookies")`},
		{"case executionContexts", clearsite.Config{Directives: []clearsite.Directive{"executioncontexts"}}, `write clearsite.ExecutionContexts ("executionContexts")`},
		{"comma list", clearsite.Config{Directives: []clearsite.Directive{`cookies, storage`}}, `one directive per element`},
		{"empty string", clearsite.Config{Directives: []clearsite.Directive{""}}, `Directives[0] "": not a Clear-Site-Data directive`},
		{"duplicate", clearsite.Config{Directives: []clearsite.Directive{clearsite.Cookies, clearsite.Storage, clearsite.Cookies}}, `Directives[2] "cookies": listed twice (also Directives[0]); remove one`},
		{"all with others", clearsite.Config{Directives: []clearsite.Directive{clearsite.Cookies, clearsite.All}}, `Directives[1] "*": "*" already means every type of data; list clearsite.All alone`},
		{"subtree path", clearsite.Config{Paths: []string{"/logout/"}}, `Paths[0] "/logout/": a pattern ending in "/" matches every path below it too, and the header must only be sent where it is meant; write "/logout/{$}" for that one path`},
		{"subtree with method", clearsite.Config{Paths: []string{"/a", "POST /account/"}}, `Paths[1] "POST /account/": a pattern ending in "/" matches every path below it too, and the header must only be sent where it is meant; write "POST /account/{$}" for that one path`},
		{"root", clearsite.Config{Paths: []string{"/"}}, `Paths[0] "/": a pattern ending in "/" matches every path below it too, and the header must only be sent where it is meant; write "/{$}" for the root page alone`},
		{"rest wildcard", clearsite.Config{Paths: []string{"/logout/{rest...}"}}, `Paths[0] "/logout/{rest...}": a {name...} wildcard matches every path below it`},
		{"no slash", clearsite.Config{Paths: []string{"logout"}}, `clearsite: Paths[0] "logout": `},
		{"duplicate path", clearsite.Config{Paths: []string{"/logout", "/logout"}}, `clearsite: Paths[1] "/logout": listed twice (also Paths[0]); remove one`},
		{"unclean path", clearsite.Config{Paths: []string{"/a/../logout"}}, `clearsite: Paths[0] "/a/../logout": path "/a/../logout" is not clean, so no request can match it: write "/logout"`},
		{"method without space", clearsite.Config{Paths: []string{"POST/logout"}}, `clearsite: Paths[0] "POST/logout": host "POST" looks like a method: write "POST /logout"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := newLogger(t)
			tc.cfg.Logger = l
			m, err := clearsite.New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error containing %q", m, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "clearsite: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error:\n%s\nwant it to start with \"clearsite: \" and contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestValueAndWarnings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ds       []clearsite.Directive
		want     string
		warnings []string // directives warned about, in order
	}{
		{"default", nil, `"cookies", "storage"`, nil},
		{"empty is default", []clearsite.Directive{}, `"cookies", "storage"`, nil},
		{"order kept", []clearsite.Directive{clearsite.Storage, clearsite.Cookies, clearsite.ClientHints}, `"storage", "cookies", "clientHints"`, nil},
		{"speculation", []clearsite.Directive{clearsite.PrefetchCache, clearsite.PrerenderCache}, `"prefetchCache", "prerenderCache"`, nil},
		{"cache", []clearsite.Directive{clearsite.Cookies, clearsite.Cache}, `"cookies", "cache"`, []string{"cache"}},
		{"all", []clearsite.Directive{clearsite.All}, `"*"`, []string{"*"}},
		{"executionContexts", []clearsite.Directive{clearsite.ExecutionContexts, clearsite.Cache}, `"executionContexts", "cache"`, []string{"executionContexts", "cache"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, logs := newLogger(t)
			m, err := clearsite.New(clearsite.Config{Directives: tc.ds, Logger: l})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Value(); got != tc.want {
				t.Errorf("Value() = %s, want %s", got, tc.want)
			}
			var warned []string
			for _, e := range logs.Take() {
				if e.Name != seclog.ClearSiteDirective.Name || e.Level != zapcore.WarnLevel {
					t.Errorf("unexpected event %s at %v", e.Name, e.Level)
					continue
				}
				if e.Field("reason") == "" {
					t.Errorf("warning for %q has no reason", e.Field("directive"))
				}
				warned = append(warned, e.Field("directive"))
			}
			if strings.Join(warned, " ") != strings.Join(tc.warnings, " ") {
				t.Errorf("warnings for %q, want %q", warned, tc.warnings)
			}
		})
	}
	if got := clearsite.DefaultDirectives(); len(got) != 2 || got[0] != clearsite.Cookies || got[1] != clearsite.Storage {
		t.Errorf("DefaultDirectives() = %q", got)
	}
}

// req builds a request; target is a full URL, so "https://…" gives r.TLS.
func req(method, target, remote string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

func TestPaths(t *testing.T) {
	const def = `"cookies", "storage"`
	literal := []string{"/logout", "/account/forget/{$}"}
	general := []string{"POST /signout", "/users/{id}/forget", "example.com/bye"}
	narrowed := []string{"POST /signout", "example.com/bye"} // literal paths, with a method or host
	for _, tc := range []struct {
		name     string
		cfg      clearsite.Config
		r        *http.Request
		preset   string // a Clear-Site-Data value set before the middleware
		want     string // the header sent, "" for none
		wantEvnt string
	}{
		{"listed", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logout", ""), "", def, "clearsite.sent"},
		{"listed {$}", clearsite.Config{Paths: literal}, req("POST", "https://example.com/account/forget/", ""), "", def, "clearsite.sent"},
		{"listed, query", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logout?next=/", ""), "", def, "clearsite.sent"},
		{"not listed", clearsite.Config{Paths: literal}, req("GET", "https://example.com/", ""), "", "", ""},
		{"below a listed path", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logout/x", ""), "", "", ""},
		{"{$} is exact", clearsite.Config{Paths: literal}, req("GET", "https://example.com/account/forget/x", ""), "", "", ""},
		{"trailing slash is another path", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logout/", ""), "", "", ""},
		{"case differs: ambiguous, not sent", clearsite.Config{Paths: literal}, req("GET", "https://example.com/LOGOUT", ""), "", "", ""},
		{"dot segments: not clean, not sent", clearsite.Config{Paths: literal}, req("GET", "https://example.com/x/../logout", ""), "", "", ""},
		{"encoded letter: same path", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logou%74", ""), "", def, "clearsite.sent"},
		{"method pattern", clearsite.Config{Paths: general}, req("POST", "https://example.com/signout", ""), "", def, "clearsite.sent"},
		{"method pattern, other method", clearsite.Config{Paths: general}, req("GET", "https://example.com/signout", ""), "", "", ""},
		{"wildcard pattern", clearsite.Config{Paths: general}, req("GET", "https://example.com/users/42/forget", ""), "", def, "clearsite.sent"},
		{"wildcard pattern, other path", clearsite.Config{Paths: general}, req("GET", "https://example.com/users/42", ""), "", "", ""},
		{"host pattern", clearsite.Config{Paths: general}, req("GET", "https://example.com/bye", ""), "", def, "clearsite.sent"},
		{"host pattern, other host", clearsite.Config{Paths: general}, req("GET", "https://other.example/bye", ""), "", "", ""},
		{"literal with method", clearsite.Config{Paths: narrowed}, req("POST", "https://example.com/signout", ""), "", def, "clearsite.sent"},
		{"literal with method, other method", clearsite.Config{Paths: narrowed}, req("GET", "https://example.com/signout", ""), "", "", ""},
		{"literal with host", clearsite.Config{Paths: narrowed}, req("GET", "https://example.com/bye", ""), "", def, "clearsite.sent"},
		{"literal with host, other host", clearsite.Config{Paths: narrowed}, req("GET", "https://other.example/bye", ""), "", "", ""},
		{"literal with host, other path", clearsite.Config{Paths: narrowed}, req("GET", "https://example.com/bye/x", ""), "", "", ""},
		{"custom directives", clearsite.Config{Paths: literal, Directives: []clearsite.Directive{clearsite.Cookies}}, req("GET", "https://example.com/logout", ""), "", `"cookies"`, "clearsite.sent"},
		{"earlier value kept", clearsite.Config{Paths: literal}, req("GET", "https://example.com/logout", ""), `"cache"`, `"cache"`, ""},
		{"plain HTTP: not sent", clearsite.Config{Paths: literal}, req("GET", "http://example.com/logout", "203.0.113.5:1234"), "", "", "clearsite.not_sent"},
		{"trusted proxy says https", clearsite.Config{Paths: literal}, req("GET", "http://example.com/logout", "10.0.0.1:1234", "X-Forwarded-Proto", "https"), "", def, "clearsite.sent"},
		{"untrusted peer says https", clearsite.Config{Paths: literal}, req("GET", "http://example.com/logout", "203.0.113.5:1234", "X-Forwarded-Proto", "https"), "", "", "clearsite.not_sent"},
		{"trusted proxy says http", clearsite.Config{Paths: literal}, req("GET", "http://example.com/logout", "10.0.0.1:1234", "X-Forwarded-Proto", "http"), "", "", "clearsite.not_sent"},
		{"loopback, option off", clearsite.Config{Paths: literal}, req("GET", "http://localhost:8080/logout", "127.0.0.1:5000"), "", "", "clearsite.not_sent"},
		{"loopback, option on", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://localhost:8080/logout", "127.0.0.1:5000"), "", def, "clearsite.sent"},
		{"loopback 127.0.0.1", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://127.0.0.1:8080/logout", "127.0.0.1:5000"), "", def, "clearsite.sent"},
		{"loopback [::1]", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://[::1]:8080/logout", "[::1]:5000"), "", def, "clearsite.sent"},
		{"loopback app.localhost", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://app.localhost/logout", "127.0.0.1:5000"), "", def, "clearsite.sent"},
		{"loopback peer, public host (a local proxy)", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://example.com/logout", "127.0.0.1:5000"), "", "", "clearsite.not_sent"},
		{"loopback host, remote peer", clearsite.Config{Paths: literal, AllowLoopbackHTTP: true}, req("GET", "http://localhost/logout", "203.0.113.5:1234"), "", "", "clearsite.not_sent"},
		{"no paths", clearsite.Config{}, req("GET", "https://example.com/logout", ""), "", "", ""},
		{"with Trigger", clearsite.Config{Paths: literal, Trigger: true}, req("GET", "https://example.com/logout", ""), "", def, "clearsite.sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, logs := newMiddleware(t, tc.cfg)
			h := m.Handler(http.HandlerFunc(ok))
			rec := httptest.NewRecorder()
			if tc.preset != "" {
				rec.Header().Set(clearsite.HeaderName, tc.preset)
			}
			h.ServeHTTP(rec, tc.r)
			if got := rec.Header().Values(clearsite.HeaderName); strings.Join(got, "|") != tc.want {
				t.Errorf("Clear-Site-Data = %q, want %q", got, tc.want)
			}
			if rec.Code != 200 || rec.Body.String() != "ok" {
				t.Errorf("response %d %q: the handler did not run as usual", rec.Code, rec.Body)
			}
			if got := strings.Join(logs.Names(), " "); got != tc.wantEvnt {
				t.Errorf("events %q, want %q", got, tc.wantEvnt)
			}
		})
	}
}

// TestSentEvent checks the fields of the events.
func TestSentEvent(t *testing.T) {
	l, logs := newLogger(t)
	m := testenv.Must(clearsite.New(clearsite.Config{Paths: []string{"/logout"}, Logger: l}))
	m.Handler(http.HandlerFunc(ok)).ServeHTTP(httptest.NewRecorder(), req("GET", "https://example.com/logout", ""))
	m.Handler(http.HandlerFunc(ok)).ServeHTTP(httptest.NewRecorder(), req("GET", "http://example.com/logout", ""))
	all := logs.Take()
	if len(all) != 2 {
		t.Fatalf("%d events, want 2", len(all))
	}
	if e := all[0]; e.Name != "clearsite.sent" || e.Level != zapcore.InfoLevel || e.Field("trigger") != "path" ||
		e.Field("directives") != `"cookies", "storage"` || e.Field("owasp") != "authn_token_delete" || e.Field("path") != "/logout" {
		t.Errorf("sent event: %s %v %v", e.Name, e.Level, e.Fields)
	}
	if e := all[1]; e.Name != "clearsite.not_sent" || e.Level != zapcore.WarnLevel || e.Field("trigger") != "path" || e.Field("reason") != "insecure" {
		t.Errorf("not_sent event: %s %v %v", e.Name, e.Level, e.Fields)
	}
}

// unwrapper is a wrapper of another middleware, with Unwrap.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// opaque is a wrapper without Unwrap.
type opaque struct{ http.ResponseWriter }

func TestTrigger(t *testing.T) {
	const def = `"cookies", "storage"`
	logout := func(w http.ResponseWriter, r *http.Request) error {
		err := clearsite.Trigger(w)
		identity.Redirect(w, r, "/login", http.StatusSeeOther)
		return err
	}
	for _, tc := range []struct {
		name      string
		cfg       clearsite.Config
		r         *http.Request
		wrap      func(http.ResponseWriter) http.ResponseWriter // between the middleware and the handler
		handler   func(w http.ResponseWriter, r *http.Request) error
		want      string
		wantErr   error
		wantCode  int
		wantEvent string
	}{
		{"logout 303", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, logout, def, nil, 303, "clearsite.sent"},
		{"twice", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			clearsite.Trigger(w)
			return logout(w, r)
		}, def, nil, 303, "clearsite.sent"},
		{"custom directives", clearsite.Config{Directives: []clearsite.Directive{clearsite.Cookies}, Trigger: true}, req("POST", "https://example.com/logout", ""), nil, logout, `"cookies"`, nil, 303, "clearsite.sent"},
		{"through a wrapper with Unwrap", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), func(w http.ResponseWriter) http.ResponseWriter { return unwrapper{w} }, logout, def, nil, 303, "clearsite.sent"},
		{"through a wrapper without Unwrap", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), func(w http.ResponseWriter) http.ResponseWriter { return opaque{w} }, logout, "", clearsite.ErrNotWrapped, 303, ""},
		{"without Config.Trigger: no wrapper", clearsite.Config{}, req("POST", "https://example.com/logout", ""), nil, logout, "", clearsite.ErrNotWrapped, 303, ""},
		{"handler's value kept", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set(clearsite.HeaderName, `"cookies"`)
			return logout(w, r)
		}, `"cookies"`, nil, 303, ""},
		{"handler may replace it after", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			err := clearsite.Trigger(w)
			w.Header().Set(clearsite.HeaderName, `"storage"`)
			w.WriteHeader(204)
			return err
		}, `"storage"`, nil, 204, "clearsite.sent"},
		{"on a listed path too", clearsite.Config{Paths: []string{"/logout"}, Trigger: true}, req("POST", "https://example.com/logout", ""), nil, logout, def, nil, 303, "clearsite.sent"},
		{"plain HTTP", clearsite.Config{Trigger: true}, req("POST", "http://example.com/logout", "203.0.113.5:1234"), nil, logout, "", clearsite.ErrInsecure, 303, "clearsite.not_sent"},
		{"plain HTTP from loopback, option on", clearsite.Config{AllowLoopbackHTTP: true, Trigger: true}, req("POST", "http://localhost:8000/logout", "127.0.0.1:1234"), nil, logout, def, nil, 303, "clearsite.sent"},
		{"after WriteHeader", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(200)
			return clearsite.Trigger(w)
		}, "", clearsite.ErrHeadersWritten, 200, "clearsite.not_sent"},
		{"after Write", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			io.WriteString(w, "bye")
			return clearsite.Trigger(w)
		}, "", clearsite.ErrHeadersWritten, 200, "clearsite.not_sent"},
		{"after ResponseController.Flush", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			if err := http.NewResponseController(w).Flush(); err != nil {
				return err
			}
			return clearsite.Trigger(w)
		}, "", clearsite.ErrHeadersWritten, 200, "clearsite.not_sent"},
		{"after io.Copy (ReadFrom)", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			io.Copy(w, strings.NewReader("bye"))
			return clearsite.Trigger(w)
		}, "", clearsite.ErrHeadersWritten, 200, "clearsite.not_sent"},
		{"after 103 Early Hints: still in time", clearsite.Config{Trigger: true}, req("POST", "https://example.com/logout", ""), nil, func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusEarlyHints)
			return logout(w, r)
		}, def, nil, 0, "clearsite.sent"}, // the recorder keeps 103 as the Code
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, logs := newMiddleware(t, tc.cfg)
			var herr error
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { herr = tc.handler(w, r) })
			if tc.wrap != nil {
				inner := h
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(tc.wrap(w), r) })
			}
			rec := httptest.NewRecorder()
			m.Handler(h).ServeHTTP(rec, tc.r)
			if !errors.Is(herr, tc.wantErr) {
				t.Errorf("Trigger: %v, want %v", herr, tc.wantErr)
			}
			if tc.wantCode != 0 && rec.Code != tc.wantCode {
				t.Errorf("status %d, want %d", rec.Code, tc.wantCode)
			}
			if got := strings.Join(rec.Header().Values(clearsite.HeaderName), "|"); got != tc.want {
				t.Errorf("Clear-Site-Data = %q, want %q", got, tc.want)
			}
			if got := strings.Join(logs.Names(), " "); got != tc.wantEvent {
				t.Errorf("events %q, want %q", got, tc.wantEvent)
			}
		})
	}
}

func TestTriggerOutsideHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := clearsite.Trigger(rec); !errors.Is(err, clearsite.ErrNotWrapped) {
		t.Errorf("Trigger on a bare ResponseWriter: %v, want ErrNotWrapped", err)
	}
	if rec.Header().Get(clearsite.HeaderName) != "" {
		t.Error("header set without a middleware")
	}
}

func TestSend(t *testing.T) {
	l, logs := newLogger(t)
	m := testenv.Must(clearsite.New(clearsite.Config{Logger: l}))

	rec := httptest.NewRecorder()
	if err := m.Send(rec, req("GET", "https://example.com/", "")); err != nil {
		t.Fatal(err)
	}
	if got := rec.Header().Get(clearsite.HeaderName); got != m.Value() {
		t.Errorf("Send over HTTPS: header %q, want %q", got, m.Value())
	}

	rec = httptest.NewRecorder()
	rec.Header().Set(clearsite.HeaderName, `"cookies"`)
	if err := m.Send(rec, req("GET", "https://example.com/", "")); err != nil {
		t.Fatal(err)
	}
	if got := rec.Header().Get(clearsite.HeaderName); got != `"cookies"` {
		t.Errorf("Send overwrote the handler's value: %q", got)
	}

	rec = httptest.NewRecorder()
	if err := m.Send(rec, req("GET", "http://example.com/", "")); !errors.Is(err, clearsite.ErrInsecure) {
		t.Errorf("Send over HTTP: %v, want ErrInsecure", err)
	}
	if got := rec.Header().Get(clearsite.HeaderName); got != "" {
		t.Errorf("Send over HTTP set %q", got)
	}
	if got := strings.Join(logs.Names(), " "); got != "clearsite.sent clearsite.not_sent" {
		t.Errorf("events %q", got)
	}
}

// TestSharedValue checks that a handler that adds to the header does not
// change what other responses get.
func TestSharedValue(t *testing.T) {
	l, _ := newLogger(t)
	m := testenv.Must(clearsite.New(clearsite.Config{Paths: []string{"/logout"}, Logger: l}))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(clearsite.HeaderName, `"cache"`)
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("GET", "https://example.com/logout", ""))
		if got := strings.Join(rec.Header().Values(clearsite.HeaderName), "|"); got != `"cookies", "storage"|"cache"` {
			t.Fatalf("header %q", got)
		}
	}
}

// hijackable is a ResponseWriter whose connection can be hijacked.
type hijackable struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	return nil, nil, nil
}

// TestWriterKeepsFeatures checks that the wrapper keeps what the wrapped
// ResponseWriter can do: flushing, hijacking (for WebSockets), ReadFrom,
// and ResponseController's deadlines through Unwrap.
func TestWriterKeepsFeatures(t *testing.T) {
	l, _ := newLogger(t)
	m := testenv.Must(clearsite.New(clearsite.Config{Logger: l, Trigger: true}))

	hj := &hijackable{ResponseRecorder: httptest.NewRecorder()}
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := w.(http.Hijacker).Hijack(); err != nil {
			t.Errorf("Hijack: %v", err)
		}
		if err := clearsite.Trigger(w); !errors.Is(err, clearsite.ErrHeadersWritten) {
			t.Errorf("Trigger after Hijack: %v, want ErrHeadersWritten", err)
		}
	})).ServeHTTP(hj, req("GET", "https://example.com/", ""))
	if !hj.hijacked {
		t.Error("the wrapped writer was not hijacked")
	}

	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := w.(http.Hijacker).Hijack(); err == nil {
			t.Error("Hijack of a recorder succeeded")
		}
		if err := clearsite.Trigger(w); err != nil {
			t.Errorf("Trigger after a failed Hijack: %v", err)
		}
		w.(http.Flusher).Flush()
		if !rec.Flushed {
			t.Error("Flush did not reach the recorder")
		}
		if _, err := io.Copy(w, strings.NewReader("body")); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(rec, req("GET", "https://example.com/", ""))
	if rec.Body.String() != "body" {
		t.Errorf("body %q", rec.Body)
	}

	// A real server: ResponseController reaches the connection through
	// Unwrap, and ReadFrom reaches the server's own.
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through Unwrap: %v", err)
		}
		if _, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("served")); err != nil {
			t.Errorf("ReadFrom: %v", err)
		}
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "served" {
		t.Errorf("body %q", b)
	}
}
