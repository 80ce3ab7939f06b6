package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/seclog"
)

// TestSite walks the site as a browser and as an API client would.
func TestSite(t *testing.T) {
	a, err := newApp(context.Background(), filepath.Join(t.TempDir(), "app.db"), seclog.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewTLSServer(a) // Clear-Site-Data and HSTS are for HTTPS
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	do := func(method, path, body string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		res.Body = io.NopCloser(bytes.NewReader(b))
		return res
	}
	form := url.Values{"username": {"alice"}, "password": {"alice-password"}}.Encode()

	home := do("GET", "/", "")
	if home.StatusCode != 200 || !strings.Contains(home.Header.Get("Content-Security-Policy"), "'nonce-") || home.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("home: %d, CSP %q, HSTS %q", home.StatusCode, home.Header.Get("Content-Security-Policy"), home.Header.Get("Strict-Transport-Security"))
	}
	if res := do("GET", "/dashboard", ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous dashboard: %d to %q, want 303 to the login page", res.StatusCode, res.Header.Get("Location"))
	}
	if res := do("POST", "/login", form, "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login post: %d, want 403", res.StatusCode)
	}
	if res := do("POST", "/login", url.Values{"username": {"alice"}, "password": {"wrong"}}.Encode()); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", res.StatusCode)
	}
	if res := do("POST", "/login", form, "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard" {
		t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	dash := do("GET", "/dashboard", "")
	if dash.StatusCode != 200 || !strings.Contains(dash.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("dashboard: %d, Cache-Control %q", dash.StatusCode, dash.Header.Get("Cache-Control"))
	}
	if res := do("POST", "/logout", "", "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Clear-Site-Data") == "" {
		t.Fatalf("logout: %d, Clear-Site-Data %q", res.StatusCode, res.Header.Get("Clear-Site-Data"))
	}
	if res := do("GET", "/dashboard", ""); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("dashboard after logout: %d, want 303", res.StatusCode)
	}

	if res := do("GET", "/api/me", "", "Accept", "application/json"); res.StatusCode != http.StatusUnauthorized {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("API without a token: %d %s, want 401", res.StatusCode, b)
	}
	if res := do("GET", "/api/me", "", "Authorization", "Bearer alice-api-token"); res.StatusCode != 200 {
		t.Fatalf("API with a token: %d, want 200", res.StatusCode)
	}

	report := `{"csp-report":{"document-uri":"` + srv.URL + `/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","blocked-uri":"inline","original-policy":"script-src 'nonce-x'","disposition":"enforce"}}`
	if res := do("POST", "/csp-report", report, "Content-Type", "application/csp-report"); res.StatusCode != http.StatusNoContent {
		t.Fatalf("CSP report: %d, want 204", res.StatusCode)
	}
	if res := do("GET", "/a/../dashboard", ""); res.StatusCode == 200 {
		t.Fatalf("unclean path: %d, want a refusal or a redirect", res.StatusCode)
	}
}
