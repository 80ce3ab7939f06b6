package ajaxonly_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/ajaxonly"
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
			l, logs := newLogger(t)
			m := ajaxonly.MustNew(ajaxonly.Config{Logger: l})
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
			if logs.FilterMessage("ajaxonly.refused").Len() != 1 {
				t.Errorf("events %v, want one ajaxonly.refused", logs.All())
			}
			if m.Check(tc.r) == nil {
				t.Error("Check = nil for a cross-origin request")
			}
		})
	}
}
