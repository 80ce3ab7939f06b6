package ajaxonly_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/internal/testenv"

	"go.uber.org/zap/zapcore"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/seclog"
)

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ajaxonly.Config
		want string
	}{
		{"body too long", ajaxonly.Config{Body: strings.Repeat("x", ajaxonly.MaxBodyLen+1)}, "ajaxonly: Body is 4097 bytes; keep it under 4096 (a refusal says little), or set Refused to a handler"},
		{"content type not a media type", ajaxonly.Config{ContentType: "json"}, `ajaxonly: ContentType "json" is not a media type; write it as "application/json" or "text/plain; charset=utf-8"`},
		{"content type bad parameter", ajaxonly.Config{ContentType: "text/plain; charset"}, `ajaxonly: ContentType "text/plain; charset" is not a media type`},
		{"content type line break", ajaxonly.Config{ContentType: "text/plain\r\nX-Evil: 1"}, `ajaxonly: ContentType "text/plain\r\nX-Evil: 1" is not a media type`},
		{"content type trailing line break", ajaxonly.Config{ContentType: "text/plain\r\n"}, `ajaxonly: ContentType "text/plain\r\n" has a line break; write a single-line media type`},
		{"refused and body", ajaxonly.Config{Refused: http.NotFoundHandler(), Body: "no"}, "ajaxonly: Refused is set, so Body and ContentType are not used; leave them empty"},
		{"refused and content type", ajaxonly.Config{Refused: http.NotFoundHandler(), ContentType: "text/plain"}, "ajaxonly: Refused is set, so Body and ContentType are not used; leave them empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ajaxonly.New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error", m)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error:\n%s\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
	if _, err := ajaxonly.New(ajaxonly.Config{Body: strings.Repeat("x", ajaxonly.MaxBodyLen)}); err != nil {
		t.Errorf("a Body of MaxBodyLen: %v", err)
	}
}

// hdr builds a request with the given header pairs.
func hdr(method string, kv ...string) *http.Request {
	r := httptest.NewRequest(method, "https://example.com/api/items", nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func TestDecision(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *http.Request
		ajax bool
	}{
		{"X-Requested-With", hdr("GET", "X-Requested-With", "XMLHttpRequest"), true},
		{"X-Requested-With on POST", hdr("POST", "X-Requested-With", "XMLHttpRequest"), true},
		{"X-Requested-With, other case: django compares exactly", hdr("GET", "X-Requested-With", "xmlhttprequest"), false},
		{"X-Requested-With, other value", hdr("GET", "X-Requested-With", "com.example.app"), false},
		{"X-Requested-With empty", hdr("GET", "X-Requested-With", ""), false},
		{"fetch same-origin", hdr("GET", "Sec-Fetch-Mode", "same-origin", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"), true},
		{"fetch cors", hdr("POST", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"), true},
		{"fetch no-cors (beacon)", hdr("POST", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "empty"), false},
		{"navigation", hdr("GET", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "Sec-Fetch-User", "?1"), false},
		{"iframe", hdr("GET", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "iframe"), false},
		{"script tag", hdr("GET", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "script"), false},
		{"cors script (type=module)", hdr("GET", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "script"), false},
		{"image", hdr("GET", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"), false},
		{"websocket", hdr("GET", "Sec-Fetch-Mode", "websocket", "Sec-Fetch-Dest", "empty"), false},
		{"mode without dest", hdr("GET", "Sec-Fetch-Mode", "cors"), false},
		{"dest without mode", hdr("GET", "Sec-Fetch-Dest", "empty"), false},
		{"fetch values in other case", hdr("GET", "Sec-Fetch-Mode", "CORS", "Sec-Fetch-Dest", "Empty"), false},
		{"navigation that also claims XHR: metadata win", hdr("GET", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "X-Requested-With", "XMLHttpRequest"), false},
		{"no-cors that also claims XHR: metadata win", hdr("GET", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "empty", "X-Requested-With", "XMLHttpRequest"), false},
		{"jQuery in a current browser: both", hdr("GET", "Sec-Fetch-Mode", "same-origin", "Sec-Fetch-Dest", "empty", "X-Requested-With", "XMLHttpRequest"), true},
		{"empty mode value", hdr("GET", "Sec-Fetch-Mode", "", "Sec-Fetch-Dest", "empty"), false},
		{"duplicated mode: the first counts", hdr("GET", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"), false},
		{"dest without mode, with XHR", hdr("GET", "Sec-Fetch-Dest", "empty", "X-Requested-With", "XMLHttpRequest"), false},
		{"no headers (curl, old browser navigation)", hdr("GET"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, logs := seclogtest.New(t)
			m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))

			err := m.Check(tc.r)
			if tc.ajax && err != nil || !tc.ajax && !errors.Is(err, ajaxonly.ErrNotAJAX) {
				t.Errorf("Check = %v, want ajax=%v", err, tc.ajax)
			}
			if logs.Len() != 0 {
				t.Error("Check logged an event")
			}

			ran := false
			rec := httptest.NewRecorder()
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				io.WriteString(w, `{"items":[]}`)
			})).ServeHTTP(rec, tc.r)
			if rec.Header().Get("Vary") != ajaxonly.VaryValue {
				t.Errorf("Vary = %q, want %q", rec.Header().Values("Vary"), ajaxonly.VaryValue)
			}
			if tc.ajax {
				if !ran || rec.Code != 200 || logs.Len() != 0 {
					t.Errorf("AJAX request: handler ran %v, status %d, %d events", ran, rec.Code, logs.Len())
				}
				return
			}
			if ran {
				t.Error("the handler ran for a request that is not AJAX")
			}
			if rec.Code != 403 || rec.Body.String() != ajaxonly.DefaultBody ||
				rec.Header().Get("Content-Type") != ajaxonly.DefaultContentType ||
				rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("refusal: %d %q %v", rec.Code, rec.Body, rec.Header())
			}
			evs := logs.Take()
			if len(evs) != 1 || evs[0].Name != "ajaxonly.refused" || evs[0].Level != zapcore.WarnLevel {
				t.Fatalf("events %v, want one ajaxonly.refused at warn", evs)
			}
			f := evs[0].Fields
			if f["owasp"] != "authz_fail" || f["path"] != "/api/items" || f["reason"] != "not_ajax" ||
				f["sec_fetch_mode"] != tc.r.Header.Get("Sec-Fetch-Mode") ||
				f["sec_fetch_dest"] != tc.r.Header.Get("Sec-Fetch-Dest") ||
				f["x_requested_with"] != tc.r.Header.Get("X-Requested-With") {
				t.Errorf("event fields %v", f)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	teapot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"title":"scripts only"}`)
	})
	for _, tc := range []struct {
		name     string
		cfg      ajaxonly.Config
		method   string
		wantCT   string
		wantBody string
	}{
		{"default", ajaxonly.Config{}, "GET", ajaxonly.DefaultContentType, ajaxonly.DefaultBody},
		{"HEAD has no body", ajaxonly.Config{}, "HEAD", ajaxonly.DefaultContentType, ""},
		{"JSON body", ajaxonly.Config{Body: `{"error":"ajax only"}`, ContentType: "application/json"}, "GET", "application/json", `{"error":"ajax only"}`},
		{"body only: default type", ajaxonly.Config{Body: "no\n"}, "GET", ajaxonly.DefaultContentType, "no\n"},
		{"type only: default body", ajaxonly.Config{ContentType: "text/plain; charset=utf-8"}, "GET", "text/plain; charset=utf-8", ajaxonly.DefaultBody},
		{"Refused handler", ajaxonly.Config{Refused: teapot}, "GET", "application/problem+json", `{"title":"scripts only"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, logs := seclogtest.New(t)
			tc.cfg.Logger = l
			m, err := ajaxonly.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			m.Handler(http.NotFoundHandler()).ServeHTTP(rec, hdr(tc.method, "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"))
			if rec.Code != 403 {
				t.Errorf("status %d, want 403", rec.Code)
			}
			if got := rec.Header().Get("Content-Type"); got != tc.wantCT {
				t.Errorf("Content-Type %q, want %q", got, tc.wantCT)
			}
			if rec.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", rec.Body, tc.wantBody)
			}
			if tc.cfg.Refused == nil {
				body := tc.cfg.Body
				if body == "" {
					body = ajaxonly.DefaultBody
				}
				if got, want := rec.Header().Get("Content-Length"), len(body); got != strconv.Itoa(want) {
					t.Errorf("Content-Length %q, want %d", got, want)
				}
			}
			if rec.Header().Get("Vary") != ajaxonly.VaryValue {
				t.Errorf("Vary %q", rec.Header().Values("Vary"))
			}
			if logs.Len() != 1 {
				t.Errorf("%d events, want 1", logs.Len())
			}
		})
	}
}

func TestVary(t *testing.T) {
	for _, tc := range []struct {
		name    string
		preset  []string // Vary before the middleware
		handler []string // Vary added by the handler
		want    []string
	}{
		{"none", nil, nil, []string{ajaxonly.VaryValue}},
		{"earlier Vary kept", []string{"Accept-Encoding"}, nil, []string{"Accept-Encoding", ajaxonly.VaryValue}},
		{"star kept alone", []string{"*"}, nil, []string{"*"}},
		{"already there", []string{ajaxonly.VaryValue}, nil, []string{ajaxonly.VaryValue}},
		{"handler adds", nil, []string{"Origin"}, []string{ajaxonly.VaryValue, "Origin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := seclogtest.New(t)
			m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, v := range tc.handler {
					w.Header().Add("Vary", v)
				}
			}))
			for range 2 { // the second run shows the shared value was not changed
				rec := httptest.NewRecorder()
				for _, v := range tc.preset {
					rec.Header().Add("Vary", v)
				}
				h.ServeHTTP(rec, hdr("GET", "X-Requested-With", "XMLHttpRequest"))
				if got := strings.Join(rec.Header().Values("Vary"), "|"); got != strings.Join(tc.want, "|") {
					t.Fatalf("Vary %q, want %q", rec.Header().Values("Vary"), tc.want)
				}
			}
		})
	}
}

// TestOneHandler shows the middleware on one route of a mux, the others
// left alone.
func TestOneHandler(t *testing.T) {
	l, _ := seclogtest.New(t)
	m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	mux := http.NewServeMux()
	mux.Handle("GET /api/items", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "[]") })))
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		path, xrw string
		code      int
		vary      string
	}{
		{"/api/items", "XMLHttpRequest", 200, ajaxonly.VaryValue},
		{"/api/items", "", 403, ajaxonly.VaryValue},
		{"/page", "", 200, ""},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.xrw != "" {
			req.Header.Set("X-Requested-With", tc.xrw)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.code || res.Header.Get("Vary") != tc.vary {
			t.Errorf("GET %s (X-Requested-With %q): %d, Vary %q; want %d, %q", tc.path, tc.xrw, res.StatusCode, res.Header.Get("Vary"), tc.code, tc.vary)
		}
	}
}

func TestHostileHeadersLoggedBounded(t *testing.T) {
	l, logs := seclogtest.New(t)
	m := testenv.Must(ajaxonly.New(ajaxonly.Config{Logger: l}))
	r := hdr("GET", "X-Requested-With", "x\r\nforged: 1"+strings.Repeat("a", 1000))
	m.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	got := logs.Take()[0].Fields["x_requested_with"].(string)
	if strings.ContainsAny(got, "\r\n") || len(got) > seclog.MaxValueLen+32 {
		t.Errorf("x_requested_with logged as %q", got)
	}
}
