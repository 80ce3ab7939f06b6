package ajaxonly_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/seclog"
)

// TestCrossOriginRefusedByDefault: a script's request from another origin
// (another site, or another origin of the same site) is refused, by Fetch
// Metadata when the browser sends them, by Origin against the request's
// own origin when it does not. A script of another origin must not call
// an AJAX-only endpoint with the user's cookies.
func TestCrossOriginRefusedByDefault(t *testing.T) {
	fetch := func(site string, kv ...string) *http.Request {
		return hdr("GET", append([]string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", site}, kv...)...)
	}
	xhr := func(target string, kv ...string) *http.Request {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("X-Requested-With", "XMLHttpRequest")
		for i := 0; i+1 < len(kv); i += 2 {
			r.Header.Set(kv[i], kv[i+1])
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		ajax bool
	}{
		{"fetch, cross-site (the issue's request)", fetch("cross-site", "Origin", "https://evil.example"), false},
		{"fetch, same-site: another origin of this site", fetch("same-site", "Origin", "https://other.example.com"), false},
		{"fetch, same-site claiming this origin", fetch("same-site", "Origin", "https://example.com"), false},
		{"fetch, site none", fetch("none"), false},
		{"fetch, same-origin", fetch("same-origin"), true},
		{"fetch, same-origin POST with Origin", hdr("POST", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin", "Origin", "https://example.com"), true},
		{"XHR without metadata, foreign Origin", xhr("https://example.com/api", "Origin", "https://evil.example"), false},
		{"XHR without metadata, Origin of another port", xhr("https://example.com/api", "Origin", "https://example.com:8443"), false},
		{"XHR without metadata, Origin of the other scheme", xhr("https://example.com/api", "Origin", "http://example.com"), false},
		{"XHR without metadata, Origin null", xhr("https://example.com/api", "Origin", "null"), false},
		{"XHR without metadata, own Origin", xhr("https://example.com/api", "Origin", "https://example.com"), true},
		{"XHR without metadata, own Origin over plain HTTP", xhr("http://example.com/api", "Origin", "http://example.com"), true},
		{"XHR without metadata, no Origin (same-origin GET)", xhr("https://example.com/api"), true},
		{"plain HTTP, X-Forwarded-Proto from an untrusted peer", xhr("http://example.com/api", "Origin", "https://example.com", "X-Forwarded-Proto", "https"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, logs := seclogtest.New(t)
			m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
			ran := false
			rec := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				io.WriteString(w, `{"pong":true}`)
			})).ServeHTTP(rec, tc.r)
			if tc.ajax {
				if !ran || rec.Code != 200 || logs.Len() != 0 {
					t.Errorf("same-origin request: handler ran %v, status %d, %d events", ran, rec.Code, logs.Len())
				}
				return
			}
			if ran || rec.Code != 403 {
				t.Fatalf("cross-origin request: handler ran %v, status %d %q; want a 403", ran, rec.Code, rec.Body)
			}
			if len(logs.Named("ajaxonly.refused")) != 1 {
				t.Errorf("events %v, want one ajaxonly.refused", logs.All())
			}
			if m.Check(tc.r) == nil {
				t.Error("Check = nil for a cross-origin request")
			}
		})
	}
}

// TestCrossOriginEvent: the refusal of a cross-origin request goes through
// the refusal path, with the reason and the headers that decided it.
func TestCrossOriginEvent(t *testing.T) {
	l, logs := seclogtest.New(t)
	m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	r := hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if err := m.Check(r); !errors.Is(err, ajaxonly.ErrCrossOrigin) {
		t.Errorf("Check = %v, want ErrCrossOrigin", err)
	}
	rec := httptest.NewRecorder()
	m.Handler(http.NotFoundHandler()).ServeHTTP(rec, r)
	if rec.Code != 403 || rec.Body.String() != ajaxonly.DefaultBody || rec.Header().Get("Vary") != ajaxonly.VaryValue {
		t.Errorf("refusal %d %q, Vary %q", rec.Code, rec.Body, rec.Header().Get("Vary"))
	}
	evs := logs.Named("ajaxonly.refused")
	if len(evs) != 1 {
		t.Fatalf("events %v", logs.All())
	}
	f := evs[0].Fields
	if f["reason"] != "cross_origin" || f["sec_fetch_site"] != "cross-site" || f["origin"] != "https://evil.example" || f["sec_fetch_mode"] != "cors" {
		t.Errorf("event fields %v", f)
	}
}

// TestAllowOrigins: a listed origin's scripts may call, by Fetch Metadata
// or by Origin; an origin that is not listed, or one that merely looks
// like it, may not.
func TestAllowOrigins(t *testing.T) {
	l, _ := seclogtest.New(t)
	m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l, AllowOrigins: []string{"https://app.example.com", "http://localhost:8080"}}))
	for _, tc := range []struct {
		name string
		r    *http.Request
		want error
	}{
		{"listed, cross-site fetch", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-site", "Origin", "https://app.example.com"), nil},
		{"listed, http with port", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "http://localhost:8080"), nil},
		{"listed, XHR without metadata", hdr("GET", "X-Requested-With", "XMLHttpRequest", "Origin", "https://app.example.com"), nil},
		{"own origin still allowed", hdr("GET", "X-Requested-With", "XMLHttpRequest", "Origin", "https://example.com"), nil},
		{"same-origin still allowed", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"), nil},
		{"not listed", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"), ajaxonly.ErrCrossOrigin},
		{"listed host, other scheme", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "http://app.example.com"), ajaxonly.ErrCrossOrigin},
		{"listed host, other port", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com:8443"), ajaxonly.ErrCrossOrigin},
		{"listed as a prefix", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com.evil.example"), ajaxonly.ErrCrossOrigin},
		{"cross-site without Origin", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site"), ajaxonly.ErrCrossOrigin},
		{"listed, but not AJAX", hdr("GET", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Sec-Fetch-Site", "cross-site", "Origin", "https://app.example.com"), ajaxonly.ErrNotAJAX},
	} {
		if err := m.Check(tc.r); err != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestOwnOriginBehindProxy: the scheme of the request's own origin is the
// suite's trusted-proxy rule: X-Forwarded-Proto counts from a trusted
// proxy only. The Host's default port is the origin's.
func TestOwnOriginBehindProxy(t *testing.T) {
	l, _ := seclogtest.NewConfig(t, seclog.Config{TrustedProxies: []string{"10.0.0.1"}})
	m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	req := func(target, peer, proto, origin string) *http.Request {
		r := httptest.NewRequest("GET", target, nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Requested-With", "XMLHttpRequest")
		r.Header.Set("Origin", origin)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *http.Request
		want error
	}{
		{"trusted proxy, https", req("http://example.com/api", "10.0.0.1:1234", "https", "https://example.com"), nil},
		{"trusted proxy, https, http Origin", req("http://example.com/api", "10.0.0.1:1234", "https", "http://example.com"), ajaxonly.ErrCrossOrigin},
		{"untrusted peer, https", req("http://example.com/api", "203.0.113.5:1234", "https", "https://example.com"), ajaxonly.ErrCrossOrigin},
		{"untrusted peer, plain http", req("http://example.com/api", "203.0.113.5:1234", "", "http://example.com"), nil},
		{"Host with the default port", req("http://example.com:80/api", "203.0.113.5:1234", "", "http://example.com"), nil},
		{"Host in other case", req("http://EXAMPLE.com/api", "203.0.113.5:1234", "", "http://example.com"), nil},
		{"Origin with the default port", req("http://example.com/api", "203.0.113.5:1234", "", "http://example.com:80"), ajaxonly.ErrCrossOrigin},
	} {
		if err := m.Check(tc.r); err != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAllowOriginsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"*", `ajaxonly: AllowOrigins[0] "*" is a wildcard: list each origin`},
		{"null", `ajaxonly: AllowOrigins[0] "null" is the origin of sandboxed frames`},
		{"app.example.com", `is not an origin: write scheme://host[:port], such as "https://app.example.com"`},
		{"https://", `is not an origin`},
		{"ftp://app.example.com", `has the scheme "ftp": scripts call from https (or http) origins; write "https://app.example.com"`},
		{"https://app.example.com/", `has more than an origin (a user, path, query or fragment): write "https://app.example.com"`},
		{"https://app.example.com/api", `write "https://app.example.com"`},
		{"https://app.example.com?", `has more than an origin`},
		{"https://app.example.com#", `has more than an origin`},
		{"https://user@app.example.com", `has more than an origin`},
		{"https://App.Example.com", `is not written as browsers send it (lower case, no default port): write "https://app.example.com"`},
		{"HTTPS://app.example.com", `write "https://app.example.com"`},
		{"https://app.example.com:443", `write "https://app.example.com"`},
		{"http://app.example.com:80", `write "http://app.example.com"`},
		{"https://bücher.example", `write its ASCII (punycode, xn--…) form`},
	} {
		_, err := ajaxonly.New(ajaxonly.Config{AllowOrigins: []string{tc.in}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AllowOrigins %q: New = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	for _, ok := range []string{"https://app.example.com", "http://localhost:8080", "https://[::1]:8443", "https://xn--bcher-kva.example", "https://127.0.0.1:8443"} {
		if _, err := ajaxonly.New(ajaxonly.Config{AllowOrigins: []string{ok}}); err != nil {
			t.Errorf("AllowOrigins %q: %v", ok, err)
		}
	}
}
