package profiling_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/profiling"
)

// withCaptures returns a middleware holding a trace and a CPU profile of
// one request.
func withCaptures(t *testing.T) (*profiling.Middleware, []profiling.Capture) {
	t.Helper()
	m, _ := newMiddleware(t, profiling.Config{})
	serve(m.Handler(page), as(httptest.NewRequest("GET", `/search/<b>"x"?profile=trace,cpu&q=secret`, nil), staff))
	caps := m.Captures()
	if len(caps) != 2 {
		t.Fatalf("captures %v", caps)
	}
	return m, caps
}

func TestProfilesRefused(t *testing.T) {
	m, _ := withCaptures(t)
	for _, c := range []struct {
		name string
		user identity.User
		path string
	}{
		{"anonymous list", nil, "/debug/profiles/"},
		{"member list", member, "/debug/profiles/"},
		{"inactive staff list", inactiveStaff, "/debug/profiles/"},
		{"member download", member, "/debug/profiles/" + m.Captures()[0].FileName()},
	} {
		t.Run(c.name, func(t *testing.T) {
			m2, rec := newMiddleware(t, profiling.Config{})
			for _, mw := range []*profiling.Middleware{m, m2} {
				w := serve(mw.Profiles(), as(httptest.NewRequest("GET", c.path, nil), c.user))
				if w.Code != http.StatusForbidden || w.Body.String() != "Forbidden\n" ||
					w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Disposition") != "" {
					t.Errorf("%s: %d %q %v", c.path, w.Code, w.Body, w.Header())
				}
			}
			if ev := rec.Take(); len(ev) != 1 || ev[0].Name != "profiling.page_refused" || ev[0].Fields["path"] != c.path {
				t.Errorf("events %+v", ev)
			}
		})
	}
}

func TestProfilesList(t *testing.T) {
	m, caps := withCaptures(t)
	for _, mount := range []struct {
		name string
		h    http.Handler
	}{
		{"subtree", m.Profiles()},
		{"StripPrefix with slash", http.StripPrefix("/debug/profiles/", m.Profiles())},
		{"StripPrefix without slash", http.StripPrefix("/debug/profiles", m.Profiles())},
	} {
		t.Run(mount.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/debug/profiles/", mount.h)
			w := serve(mux, as(httptest.NewRequest("GET", "/debug/profiles/", nil), staff))
			body := w.Body.String()
			if w.Code != 200 || w.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
				w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Security-Policy") != profiling.PageCSP {
				t.Fatalf("%d %v", w.Code, w.Header())
			}
			for _, c := range caps {
				if !strings.Contains(body, `<a href="`+c.FileName()+`" download="`+c.FileName()+`">`) {
					t.Errorf("no link to %s", c.FileName())
				}
			}
			for _, want := range []string{
				"2 captures kept", "<td>ada</td>", "/search/%3Cb%3E%22x%22", "<td>trace</td>", "<td>cpu</td>",
				"<code>total;dur=", "go tool trace FILE", "go tool pprof -tagfocus=bulwark=request FILE",
				"<code>?profile=trace</code>", "<code>X-Bulwark-Profile: trace</code>",
			} {
				if !strings.Contains(body, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			// Nothing a strict CSP would block; the query is never shown.
			for _, bad := range []string{"<script", "<style", "style=", "javascript:", "secret", "<b>"} {
				if strings.Contains(body, bad) {
					t.Errorf("the page has %q", bad)
				}
			}
			if handler := eventAttr.FindString(body); handler != "" {
				t.Errorf("the page has an event handler attribute: %s", handler)
			}
		})
	}
}

// eventAttr finds an inline event handler (onclick= …) in a tag.
var eventAttr = regexp.MustCompile(`<[^>]*\son[a-z]+\s*=`)

func TestProfilesEmpty(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{DisableParam: true})
	w := serve(m.Profiles(), as(httptest.NewRequest("GET", "/", nil), staff))
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, "No capture yet.") || strings.Contains(body, "?profile") || strings.Contains(body, "<table") {
		t.Errorf("%d %s", w.Code, body)
	}
}

func TestProfilesDownload(t *testing.T) {
	m, caps := withCaptures(t)
	for _, c := range caps {
		for _, method := range []string{"GET", "HEAD"} {
			w := serve(m.Profiles(), as(httptest.NewRequest(method, "/debug/profiles/"+c.FileName(), nil), staff))
			h := w.Header()
			if w.Code != 200 || h.Get("Content-Type") != "application/octet-stream" ||
				h.Get("Content-Disposition") != `attachment; filename="`+c.FileName()+`"` ||
				h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Content-Length") != strconv.Itoa(len(c.Data)) {
				t.Errorf("%s %s: %d %v", method, c.FileName(), w.Code, h)
			}
			want := c.Data
			if method == "HEAD" {
				want = nil
			}
			if !bytes.Equal(w.Body.Bytes(), want) {
				t.Errorf("%s %s: body of %d bytes, want %d", method, c.FileName(), w.Body.Len(), len(want))
			}
		}
	}
}

func TestProfilesDownloadEvent(t *testing.T) {
	m, rec := newMiddleware(t, profiling.Config{})
	serve(m.Handler(page), as(httptest.NewRequest("GET", "/?profile=cpu", nil), staff))
	c := m.Captures()[0]
	rec.Take()
	serve(m.Profiles(), as(httptest.NewRequest("GET", "/p/"+c.FileName(), nil), staff))
	ev := rec.Take()
	if len(ev) != 1 || ev[0].Name != "profiling.downloaded" || ev[0].Fields["capture_id"] != c.ID ||
		ev[0].Fields["kind"] != "cpu" || ev[0].Fields["bytes"] != int64(len(c.Data)) || ev[0].Fields["user"] != "ada" {
		t.Errorf("events %+v", ev)
	}
}

func TestProfilesNotFoundAndMethods(t *testing.T) {
	m, caps := withCaptures(t)
	id := caps[0].ID
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/debug/profiles/" + id + ".zip", 404},
		{"GET", "/debug/profiles/" + id, 404},
		{"GET", "/debug/profiles/20991231T000000Z-0001.trace", 404},
		{"GET", "/debug/profiles/../" + caps[0].FileName() + "x", 404},
		{"GET", "/debug/profiles", 404}, // not a subtree: links would not resolve
		{"POST", "/debug/profiles/", 405},
		{"DELETE", "/debug/profiles/" + caps[0].FileName(), 405},
	} {
		w := serve(m.Profiles(), as(httptest.NewRequest(c.method, c.path, nil), staff))
		if w.Code != c.code || w.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, w.Code, w.Header(), c.code)
		}
		if c.code == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, w.Header().Get("Allow"))
		}
	}
}

// The page's own authorizer is Config.Authorize.
func TestProfilesCustomAuthorizer(t *testing.T) {
	m, _ := newMiddleware(t, profiling.Config{Authorize: func(r *http.Request) bool {
		u := identity.FromRequest(r)
		return u != nil && u.Superuser()
	}})
	root := identity.Basic{UserID: "root", IsActive: true, IsSuperuser: true}
	if w := serve(m.Profiles(), as(httptest.NewRequest("GET", "/", nil), staff)); w.Code != 403 {
		t.Errorf("staff, not superuser: %d", w.Code)
	}
	if w := serve(m.Profiles(), as(httptest.NewRequest("GET", "/", nil), root)); w.Code != 200 {
		t.Errorf("superuser: %d", w.Code)
	}
}
