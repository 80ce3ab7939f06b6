package identity

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

var loginRequired = Refusal{Code: "login_required", Location: "/login", Unauthenticated: true, Next: true}

func TestResponderKind(t *testing.T) {
	rs, err := NewResponder(ResponderConfig{APIPatterns: []string{"/api/", "POST /hooks/{name}"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		method  string
		target  string
		headers map[string]string
		want    Kind
	}{
		{"bare request (curl)", "GET", "/x", nil, Navigation},
		{"browser navigation", "GET", "/x", map[string]string{"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, Navigation},
		{"fetch()", "GET", "/x", map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Accept": "*/*"}, API},
		{"same-origin fetch", "POST", "/x", map[string]string{"Sec-Fetch-Mode": "same-origin", "Sec-Fetch-Dest": "empty"}, API},
		{"no-cors image is a subresource", "GET", "/x", map[string]string{"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, Subresource},
		{"a favicon", "GET", "/favicon.ico", map[string]string{"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image", "Accept": "image/avif,image/webp,*/*"}, Subresource},
		{"a module script", "GET", "/x", map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "script"}, Subresource},
		{"jQuery XHR", "GET", "/x", map[string]string{"X-Requested-With": "XMLHttpRequest"}, API},
		{"JSON client", "GET", "/x", map[string]string{"Accept": "application/json"}, API},
		{"problem+json client", "GET", "/x", map[string]string{"Accept": "application/problem+json; charset=utf-8"}, API},
		{"JSON and HTML: a browser", "GET", "/x", map[string]string{"Accept": "text/html, application/json"}, Navigation},
		{"htmx", "GET", "/x", map[string]string{"HX-Request": "true", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, HTMX},
		{"API pattern", "GET", "/api/v1/me", map[string]string{"Sec-Fetch-Mode": "navigate"}, API},
		{"API pattern with method", "POST", "/hooks/github", nil, API},
		{"API pattern, other method", "GET", "/hooks/github", nil, Navigation},
		{"ambiguous path under an API pattern", "GET", "/API/v1/me", nil, API},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := rs.Kind(r); got != tc.want {
				t.Errorf("Kind = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResponderRefuse(t *testing.T) {
	plain, _ := NewResponder(ResponderConfig{})
	bearer, _ := NewResponder(ResponderConfig{Challenge: `Bearer realm="api"`, NextParam: "return_to"})
	xhr := map[string]string{"X-Requested-With": "XMLHttpRequest"}
	for _, tc := range []struct {
		name         string
		rs           *Responder
		method       string
		target       string
		headers      map[string]string
		ref          Refusal
		wantStatus   int
		wantLocation string
		wantHeader   map[string]string
		wantJSON     string
	}{
		{
			name: "navigation GET: 303 with next from the escaped URI", rs: plain,
			method: "GET", target: "/account/a%20b?tab=x&y=%2F", ref: loginRequired,
			wantStatus: 303, wantLocation: "/login?next=%2Faccount%2Fa%2520b%3Ftab%3Dx%26y%3D%252F",
		},
		{
			name: "navigation POST: 303 without next", rs: plain,
			method: "POST", target: "/account", ref: loginRequired,
			wantStatus: 303, wantLocation: "/login",
		},
		{
			name: "login URL with a query: next appended with &", rs: bearer,
			method: "GET", target: "/x", ref: Refusal{Code: "login_required", Location: "/login?lang=en", Unauthenticated: true, Next: true},
			wantStatus: 303, wantLocation: "/login?lang=en&return_to=%2Fx",
		},
		{
			name: "Next not asked", rs: plain,
			method: "GET", target: "/account", ref: Refusal{Code: "password_change_required", Location: "/password/change"},
			wantStatus: 303, wantLocation: "/password/change",
		},
		{
			name: "API without a challenge: 403 (DRF's rule)", rs: plain,
			method: "GET", target: "/api/me", headers: xhr, ref: loginRequired,
			wantStatus: 403, wantJSON: `{"error":"login_required","location":"/login?next=%2Fapi%2Fme"}`,
			wantHeader: map[string]string{"WWW-Authenticate": "", "Content-Type": "application/json"},
		},
		{
			name: "API with a challenge: 401 and WWW-Authenticate", rs: bearer,
			method: "GET", target: "/api/me", headers: xhr, ref: loginRequired,
			wantStatus: 401, wantJSON: `{"error":"login_required","location":"/login?return_to=%2Fapi%2Fme"}`,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="api"`},
		},
		{
			name: "API, known user who must act: 403 whatever the challenge", rs: bearer,
			method: "GET", target: "/api/me", headers: xhr, ref: Refusal{Code: "password_change_required", Reason: "compromised", Location: "/password/change"},
			wantStatus: 403, wantJSON: `{"error":"password_change_required","reason":"compromised","location":"/password/change"}`,
			wantHeader: map[string]string{"WWW-Authenticate": ""},
		},
		{
			name: "htmx: 204 with HX-Redirect", rs: plain,
			method: "POST", target: "/items", headers: map[string]string{"HX-Request": "true"}, ref: loginRequired,
			wantStatus: 204, wantHeader: map[string]string{"HX-Redirect": "/login", "Location": ""},
		},
		{
			name: "forbidden: 403 for a navigation too", rs: bearer,
			method: "GET", target: "/admin/", ref: Refusal{Code: "forbidden"},
			wantStatus: 403, wantJSON: `{"error":"forbidden"}`,
		},
		{
			name: "unsafe request URI: no next", rs: plain,
			method: "GET", target: "http://bulwark.test//evil.example/x", ref: loginRequired,
			wantStatus: 303, wantLocation: "/login",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tc.rs.Refuse(rec, r, tc.ref)
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := rec.Header().Get("Location"); tc.wantLocation != "" && got != tc.wantLocation {
				t.Errorf("Location %q, want %q", got, tc.wantLocation)
			}
			if tc.wantJSON != "" && strings.TrimSpace(rec.Body.String()) != tc.wantJSON {
				t.Errorf("body %q, want %q", rec.Body.String(), tc.wantJSON)
			}
			for k, v := range tc.wantHeader {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if rec.Header().Get("Vary") != varyOn || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Vary %q, Cache-Control %q", rec.Header().Get("Vary"), rec.Header().Get("Cache-Control"))
			}
			// The next value, once decoded, is the escaped request URI and is safe.
			if loc := rec.Header().Get("Location"); strings.Contains(loc, "next=") {
				u, err := url.Parse(loc)
				if err != nil {
					t.Fatal(err)
				}
				if n := u.Query().Get("next"); n != r.URL.RequestURI() || !SafeNext(n, nil, true) {
					t.Errorf("next %q, want the escaped URI %q", n, r.URL.RequestURI())
				}
			}
		})
	}
}

func TestResponderHEADHasNoBody(t *testing.T) {
	rs, _ := NewResponder(ResponderConfig{})
	for _, h := range []map[string]string{nil, {"Accept": "application/json"}} {
		r := httptest.NewRequest("HEAD", "/account", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		rs.Refuse(rec, r, loginRequired)
		if rec.Body.Len() != 0 {
			t.Errorf("HEAD answered with a body: %q", rec.Body.String())
		}
	}
}

func TestResponderCustomHandler(t *testing.T) {
	rs, err := NewResponder(ResponderConfig{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref, ok := RefusalFromContext(r.Context())
		if !ok {
			t.Error("no refusal in the context")
		}
		w.WriteHeader(http.StatusTeapot)
		json.NewEncoder(w).Encode(map[string]string{"mine": ref.Code})
	})})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	rs.Refuse(rec, httptest.NewRequest("GET", "/", nil), loginRequired)
	if rec.Code != http.StatusTeapot || !strings.Contains(rec.Body.String(), `"mine":"login_required"`) {
		t.Errorf("custom handler not used: %d %q", rec.Code, rec.Body.String())
	}
	if _, ok := RefusalFromContext(context.Background()); ok {
		t.Error("refusal found in an empty context")
	}
}

func TestNewResponderErrors(t *testing.T) {
	for _, cfg := range []ResponderConfig{
		{NextParam: "ne xt"},
		{Challenge: "Bearer\r\nX-Evil: 1"},
		{APIPatterns: []string{"/api/", "/api/"}},
		{APIPatterns: []string{"GET"}},
	} {
		if _, err := NewResponder(cfg); err == nil || !strings.HasPrefix(err.Error(), "identity: ResponderConfig.") {
			t.Errorf("NewResponder(%+v) = %v, want an error naming the field", cfg, err)
		}
	}
}

func TestUserContext(t *testing.T) {
	ctx := context.Background()
	if FromContext(ctx) != nil {
		t.Error("empty context has a user")
	}
	alice := Basic{UserID: "42", Name: "Alice", IsActive: true}
	if u := FromContext(NewContext(ctx, alice)); u == nil || u.ID() != "42" || u.DisplayName() != "Alice" {
		t.Errorf("user %v", u)
	}
	if FromContext(NewContext(ctx, Basic{UserID: "7"})) != nil {
		t.Error("an inactive user is not anonymous")
	}
	if FromContext(NewContext(ctx, Basic{IsActive: true})) != nil {
		t.Error("a user without an id is not anonymous")
	}
	// A later NewContext(nil) makes the request anonymous again.
	if FromContext(NewContext(NewContext(ctx, alice), nil)) != nil {
		t.Error("NewContext(nil) kept the earlier user")
	}
	if (Basic{UserID: "9", IsActive: true}).DisplayName() != "9" {
		t.Error("DisplayName does not fall back to the id")
	}
}
