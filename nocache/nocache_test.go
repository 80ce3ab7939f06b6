package nocache_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/nocache"
)

var _ bulwark.Middleware = (*nocache.Middleware)(nil)

// loggedIn is the tests' identity function: a request is authenticated
// when it carries X-Test-User.
func loggedIn(r *http.Request) bool { return r.Header.Get("X-Test-User") != "" }

func req(target string, user bool) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if user {
		r.Header.Set("X-Test-User", "alice")
	}
	return r
}

func TestConfidential(t *testing.T) {
	type check struct {
		target string
		user   bool
		want   bool
	}
	for _, tc := range []struct {
		name   string
		cfg    nocache.Config
		checks []check
	}{
		{"zero config marks everything", nocache.Config{}, []check{
			{"/", false, true}, {"/static/app.css", false, true}, {"/account", true, true},
		}},
		{"Authenticated alone marks only authenticated requests", nocache.Config{Authenticated: loggedIn}, []check{
			{"/", false, false}, {"/account", false, false}, {"/", true, true}, {"/static/app.css", true, true},
		}},
		{"Exempt: every path but the exempt ones", nocache.Config{Exempt: []string{"/static/", "GET /{$}"}}, []check{
			{"/static/app.css", false, false},
			{"/", false, false},
			{"/static/app.css", true, false}, // no identity function: rules only
			{"/account", false, true},
			{"/static", false, true},                // ServeMux would redirect: not an unambiguous match
			{"/static/%2e%2e/account", false, true}, // not clean: fails closed
			{"/STATIC/app.css", false, true},        // read as /static/ by case-insensitive servers only
			{"/static/..;/account", false, true},    // Tomcat reads /account
		}},
		{"Exempt with Authenticated: exempt only for anonymous requests", nocache.Config{
			Exempt: []string{"/static/"}, Authenticated: loggedIn,
		}, []check{
			{"/static/app.css", false, false}, {"/static/app.css", true, true}, {"/account", false, true},
		}},
		{"Confidential: only the listed paths", nocache.Config{Confidential: []string{"/account/", "/users/{id}/invoices"}}, []check{
			{"/account/settings", false, true},
			{"/users/7/invoices", false, true},
			{"/home", false, false},
			{"/home", true, false},
			{"/Account/settings", false, true},          // some servers read /account/: fails closed
			{"/x/%2e%2e/account/settings", false, true}, // not clean: fails closed
			{"/account", false, true},                   // ServeMux redirects to /account/
		}},
		{"Confidential with Authenticated", nocache.Config{Confidential: []string{"/account/"}, Authenticated: loggedIn}, []check{
			{"/account/settings", false, true}, {"/home", false, false}, {"/home", true, true},
		}},
		{"Exempt regexps (django-security WHITELIST_REGEXES)", nocache.Config{ExemptRegexps: []string{`^static/`, `about/$`}}, []check{
			{"/static/app.css", false, false}, {"/about/", false, false}, {"/about/team", false, true}, {"/account", false, true},
		}},
		{"Confidential regexps (django-security BLACKLIST_REGEXES)", nocache.Config{ConfidentialRegexps: []string{`account/`}}, []check{
			{"/account/x", false, true}, {"/home", false, false}, {"/myaccount/", false, false},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := nocache.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.checks {
				if got := m.Confidential(req(c.target, c.user)); got != c.want {
					t.Errorf("Confidential(%s, user=%v) = %v, want %v", c.target, c.user, got, c.want)
				}
			}
		})
	}
}

// handlerSetting returns a handler that sets the given headers, writes
// status (0: no WriteHeader call) and then the body.
func handlerSetting(hdr map[string]string, status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		if status != 0 {
			w.WriteHeader(status)
		}
		if body != "" {
			io.WriteString(w, body)
		}
	})
}

var validators = map[string]string{"ETag": `"v1"`, "Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT"}

func TestHeaders(t *testing.T) {
	const cc = nocache.CacheControl
	absent := "<absent>"
	for _, tc := range []struct {
		name    string
		cfg     nocache.Config
		target  string
		handler http.Handler
		status  int
		want    map[string]string // header → value, or absent
	}{
		{"marked: Cache-Control set, validators removed", nocache.Config{}, "/",
			handlerSetting(validators, http.StatusOK, "secret"), 200,
			map[string]string{"Cache-Control": cc, "Etag": absent, "Last-Modified": absent, "Pragma": absent, "Expires": absent}},
		{"marked, Write without WriteHeader", nocache.Config{}, "/",
			handlerSetting(validators, 0, "secret"), 200,
			map[string]string{"Cache-Control": cc, "Etag": absent, "Last-Modified": absent}},
		{"marked, handler writes nothing", nocache.Config{}, "/",
			handlerSetting(validators, 0, ""), 200,
			map[string]string{"Cache-Control": cc, "Etag": absent, "Last-Modified": absent}},
		{"marked error response", nocache.Config{}, "/",
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }), 403,
			map[string]string{"Cache-Control": cc}},
		{"marked redirect", nocache.Config{}, "/",
			http.RedirectHandler("/login", http.StatusSeeOther), 303,
			map[string]string{"Cache-Control": cc}},
		{"marked 304 written by the handler", nocache.Config{}, "/",
			handlerSetting(validators, http.StatusNotModified, ""), 304,
			map[string]string{"Cache-Control": cc, "Etag": absent, "Last-Modified": absent}},
		{"legacy adds Pragma and Expires", nocache.Config{Legacy: true}, "/",
			handlerSetting(nil, http.StatusOK, "secret"), 200,
			map[string]string{"Cache-Control": cc, "Pragma": "no-cache", "Expires": "0"}},
		{"handler's own Cache-Control: back off", nocache.Config{Legacy: true}, "/",
			handlerSetting(map[string]string{"Cache-Control": "public, max-age=60", "ETag": `"v1"`}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": "public, max-age=60", "Etag": `"v1"`, "Pragma": absent, "Expires": absent}},
		{"own Cache-Control with no-store (csp's): kept, validators removed, legacy added", nocache.Config{Legacy: true}, "/",
			handlerSetting(map[string]string{"Cache-Control": "no-store", "ETag": `"v1"`, "Last-Modified": validators["Last-Modified"]}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": "no-store", "Etag": absent, "Last-Modified": absent, "Pragma": "no-cache", "Expires": "0"}},
		{"own Cache-Control with a no-store token among others", nocache.Config{}, "/",
			handlerSetting(map[string]string{"Cache-Control": "private, No-Store", "ETag": `"v1"`}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": "private, No-Store", "Etag": absent}},
		{"own Cache-Control naming no-store only in an extension: back off", nocache.Config{}, "/",
			handlerSetting(map[string]string{"Cache-Control": `max-age=60, x-no-store-please`, "ETag": `"v1"`}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": `max-age=60, x-no-store-please`, "Etag": `"v1"`}},
		{"handler's own Cache-Control, Force: replaced", nocache.Config{Force: true, Legacy: true}, "/",
			handlerSetting(map[string]string{"Cache-Control": "public, max-age=60", "ETag": `"v1"`}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": cc, "Etag": absent, "Pragma": "no-cache", "Expires": "0"}},
		{"empty Cache-Control is not the handler's own", nocache.Config{}, "/",
			handlerSetting(map[string]string{"Cache-Control": ""}, http.StatusOK, "x"), 200,
			map[string]string{"Cache-Control": cc}},
		{"not marked: nothing changed", nocache.Config{Exempt: []string{"/static/"}}, "/static/a.css",
			handlerSetting(validators, http.StatusOK, "body{}"), 200,
			map[string]string{"Cache-Control": absent, "Etag": `"v1"`, "Last-Modified": validators["Last-Modified"]}},
		{"Confidential path marked", nocache.Config{Confidential: []string{"/account/"}}, "/account/x",
			handlerSetting(validators, http.StatusOK, "secret"), 200,
			map[string]string{"Cache-Control": cc, "Etag": absent}},
		{"other path not marked", nocache.Config{Confidential: []string{"/account/"}}, "/home",
			handlerSetting(validators, http.StatusOK, "hi"), 200,
			map[string]string{"Cache-Control": absent, "Etag": `"v1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testenv.Must(nocache.New(tc.cfg))
			rec := httptest.NewRecorder()
			m.Handler(tc.handler).ServeHTTP(rec, req(tc.target, false))
			res := rec.Result()
			if res.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tc.status)
			}
			for k, want := range tc.want {
				got, found := res.Header[k]
				switch {
				case want == absent && found:
					t.Errorf("%s = %q, want none", k, got)
				case want != absent && (len(got) != 1 || got[0] != want):
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestConditionalRequests: a browser that kept a copy from before sends
// If-Modified-Since or If-None-Match; on a marked path the handler never
// sees them, so http.ServeContent answers in full, not 304.
func TestConditionalRequests(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	content := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "page.html", mod, strings.NewReader("<p>balance: 42</p>"))
	})
	m := testenv.Must(nocache.New(nocache.Config{Confidential: []string{"/account/"}}))
	h := m.Handler(content)
	for _, tc := range []struct {
		target, header, value string
		status                int
	}{
		{"/account/x", "If-Modified-Since", mod.Format(http.TimeFormat), 200},
		{"/account/x", "If-None-Match", `"v1"`, 200},
		{"/public", "If-Modified-Since", mod.Format(http.TimeFormat), 304}, // control: not marked
		{"/public", "If-None-Match", `"v1"`, 304},
	} {
		r := req(tc.target, false)
		r.Header.Set(tc.header, tc.value)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("%s with %s: status %d, want %d", tc.target, tc.header, rec.Code, tc.status)
		}
		if r.Header.Get(tc.header) == "" {
			t.Errorf("%s: the caller's request lost its %s header", tc.target, tc.header)
		}
		if tc.status == 200 {
			if rec.Body.String() != "<p>balance: 42</p>" {
				t.Errorf("%s: body %q", tc.target, rec.Body.String())
			}
			if rec.Header().Get("Etag") != "" || rec.Header().Get("Last-Modified") != "" {
				t.Errorf("%s: validators left: %v", tc.target, rec.Header())
			}
		}
	}
}

// TestPreconditionsKept: on methods other than GET and HEAD,
// If-None-Match and If-Modified-Since are preconditions and reach the
// handler as sent.
func TestPreconditionsKept(t *testing.T) {
	var got string
	h := testenv.Must(nocache.New(nocache.Config{})).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("If-None-Match")
	}))
	for _, method := range []string{"PUT", "POST", "DELETE", "PATCH"} {
		got = ""
		r := httptest.NewRequest(method, "/account/x", nil)
		r.Header.Set("If-None-Match", "*")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != "*" {
			t.Errorf("%s: the handler saw If-None-Match %q, want *", method, got)
		}
	}
}

// TestResponseController: Flush reaches the recorder through the wrapper,
// both by type assertion and through http.ResponseController (Unwrap), and
// flushing first writes the marked header.
func TestResponseController(t *testing.T) {
	m := testenv.Must(nocache.New(nocache.Config{}))
	for name, flush := range map[string]func(w http.ResponseWriter) error{
		"Flusher": func(w http.ResponseWriter) error {
			f, ok := w.(http.Flusher)
			if !ok {
				t.Fatal("the wrapper is not an http.Flusher")
			}
			f.Flush()
			return nil
		},
		"ResponseController": func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() },
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("ETag", `"v1"`)
				if err := flush(w); err != nil {
					t.Errorf("Flush: %v", err)
				}
				if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); !errors.Is(err, http.ErrNotSupported) {
					t.Errorf("SetWriteDeadline through Unwrap = %v, want ErrNotSupported from the recorder", err)
				}
			})).ServeHTTP(rec, req("/", false))
			if !rec.Flushed {
				t.Error("not flushed")
			}
			if rec.Header().Get("Cache-Control") != nocache.CacheControl || rec.Header().Get("Etag") != "" {
				t.Errorf("header not marked before the flush: %v", rec.Header())
			}
		})
	}
}

// TestReadFrom: io.Copy into the wrapper (as http.ServeContent does) marks
// the response and copies the body.
func TestReadFrom(t *testing.T) {
	m := testenv.Must(nocache.New(nocache.Config{}))
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Fatal("the wrapper is not an io.ReaderFrom")
		}
		io.Copy(w, strings.NewReader("copied"))
	})).ServeHTTP(rec, req("/", false))
	if rec.Body.String() != "copied" || rec.Header().Get("Cache-Control") != nocache.CacheControl {
		t.Errorf("body %q, header %v", rec.Body.String(), rec.Header())
	}
}

// TestOverHTTP runs behind a real server: 1xx responses pass through
// without deciding, the final response is marked, a hijacked connection
// is left alone, and concurrent requests share the pool safely.
func TestOverHTTP(t *testing.T) {
	m := testenv.Must(nocache.New(nocache.Config{Legacy: true}))
	mux := http.NewServeMux()
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte("page"))
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
		brw.Flush()
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	var early int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		early = code
		return nil
	}}
	r, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, srv.URL+"/early", nil)
	res, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if early != http.StatusEarlyHints {
		t.Errorf("1xx seen = %d, want 103", early)
	}
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != nocache.CacheControl || res.Header.Get("Etag") != "" ||
		res.Header.Get("Pragma") != "no-cache" || res.Header.Get("Expires") != "0" {
		t.Errorf("final response %d not marked: %v", res.StatusCode, res.Header)
	}

	res, err = srv.Client().Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "raw" || res.Header.Get("Cache-Control") != "" {
		t.Errorf("hijacked response: %q %v", b, res.Header)
	}

	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				res, err := srv.Client().Get(srv.URL + "/early")
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				if res.Header.Get("Cache-Control") != nocache.CacheControl {
					t.Errorf("not marked: %v", res.Header)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// TestBackOffWarning: backing off from a Cache-Control that lets caches
// store a confidential response is logged once; from one with no-store,
// not at all.
func TestBackOffWarning(t *testing.T) {
	log, logs := seclogtest.New(t)
	m := testenv.Must(nocache.New(nocache.Config{Logger: log}))
	serve := func(cc string) {
		m.Handler(handlerSetting(map[string]string{"Cache-Control": cc}, 200, "x")).ServeHTTP(httptest.NewRecorder(), req("/", false))
	}
	serve("private, No-Store")
	if logs.Len() != 0 {
		t.Fatalf("warned for a no-store value: %v", logs.All())
	}
	serve("public, max-age=600")
	serve("public, max-age=600")
	if logs.Len() != 1 {
		t.Fatalf("%d warnings, want 1", logs.Len())
	}
	e := logs.All()[0]
	if e.Field("cache_control") != "public, max-age=600" || !strings.Contains(e.Name, "Force") {
		t.Errorf("warning = %q %v", e.Name, e.Fields)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  nocache.Config
		want string
	}{
		{"both lists", nocache.Config{Exempt: []string{"/static/"}, Confidential: []string{"/account/"}},
			"nocache: both Exempt and Confidential lists are set"},
		{"both lists, regexps", nocache.Config{ExemptRegexps: []string{"static/"}, Confidential: []string{"/account/"}},
			"use Exempt (and ExemptRegexps) to mark every path but some"},
		{"both lists, regexps only", nocache.Config{ExemptRegexps: []string{"static/"}, ConfidentialRegexps: []string{"account/"}},
			"not both"},
		{"bad exempt pattern", nocache.Config{Exempt: []string{"/static/{"}}, `nocache: Exempt[0] "/static/{"`},
		{"duplicate confidential pattern", nocache.Config{Confidential: []string{"/a/", "/a/"}}, `nocache: Confidential[1] "/a/": listed twice (also Confidential[0])`},
		{"bad regexp", nocache.Config{ConfidentialRegexps: []string{"account/(("}}, `nocache: ConfidentialRegexps[0] "account/(("`},
		{"host pattern", nocache.Config{Exempt: []string{"/a/", "static/"}}, `nocache: Exempt[1] "static/": "static" is read as a host`},
		{"regexp with a leading slash", nocache.Config{ExemptRegexps: []string{"^/static/"}}, `nocache: ExemptRegexps[0] "^/static/": `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := nocache.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestApply: the function a reverse proxy's ModifyResponse can call.
func TestApply(t *testing.T) {
	m := testenv.Must(nocache.New(nocache.Config{}))
	h := http.Header{"ETag": {`"raw"`}, "Etag": {`"v"`}, "Last-Modified": {"x"}}
	m.Apply(h)
	if len(h) != 1 || h.Get("Cache-Control") != nocache.CacheControl {
		t.Errorf("Apply: %v", h)
	}
}

// TestNoAllocations guards the hot paths: an unmarked request, and a
// marked one through the pooled wrapper.
func TestNoAllocations(t *testing.T) {
	w := headerbench.NewWriter()
	r := req("/", false)
	for name, m := range map[string]*nocache.Middleware{
		"marked":   testenv.Must(nocache.New(nocache.Config{})),
		"unmarked": testenv.Must(nocache.New(nocache.Config{Authenticated: loggedIn})),
	} {
		h := m.Handler(headerbench.Bare)
		h.ServeHTTP(w, r) // warm the pool
		if n := testing.AllocsPerRun(200, func() { w.Reset(); h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", name, n)
		}
	}
}
