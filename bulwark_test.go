package bulwark

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/unrolled/secure"

	"github.com/bulwark-go/bulwark/seclog"
)

// mark is a Middleware that records its name when a request passes.
type mark struct {
	name  string
	trail *[]string
}

func (m *mark) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*m.trail = append(*m.trail, m.name)
		next.ServeHTTP(w, r)
	})
}

func TestChainOrder(t *testing.T) {
	var trail []string
	m := func(name string) *mark { return &mark{name, &trail} }
	sessions := scs.New()
	c, err := New(Config{
		Sessions: sessions,
		Secure:   SecureOptions(),
		// Filled in an order different from the run order, on purpose.
		Custom: map[Slot]Middleware{
			SlotClearSite:      m("clearsite"),
			SlotNoCache:        m("nocache"),
			SlotReferrer:       m("referrer"),
			SlotCSP:            m("csp"),
			SlotProfiling:      m("profiling"),
			SlotPasswordExpiry: m("passwordexpiry"),
			SlotMFA:            m("mfa"),
			SlotLoginRequired:  m("loginrequired"),
			SlotIdentity:       m("identity"),
			SlotCrossOrigin:    m("crossorigin"),
			SlotSessionExpiry: MiddlewareFunc(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// The session is loaded before session expiry judges it:
					// scs panics on Put without LoadAndSave.
					sessions.Put(r.Context(), "seen", true)
					trail = append(trail, "sessionexpiry")
					next.ServeHTTP(w, r)
				})
			}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Error("secure headers not set before the application")
		}
		trail = append(trail, "app")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	want := []string{"crossorigin", "sessionexpiry", "identity", "loginrequired", "mfa", "passwordexpiry", "profiling", "csp", "referrer", "nocache", "clearsite", "app"}
	if !reflect.DeepEqual(trail, want) {
		t.Errorf("order %v, want %v", trail, want)
	}
	if rec.Header().Get("Set-Cookie") == "" {
		t.Error("session was not saved: Sessions slot not in the chain")
	}
}

func TestChainSkipsEmptySlots(t *testing.T) {
	var trail []string
	var typedNil *mark // declared, never assigned
	c, err := New(Config{Custom: map[Slot]Middleware{SlotCSP: typedNil, SlotNoCache: nil, SlotReferrer: &mark{"referrer", &trail}}})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Then(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { trail = append(trail, "app") }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !reflect.DeepEqual(trail, []string{"referrer", "app"}) {
		t.Errorf("trail %v", trail)
	}
	// The empty chain is the handler itself.
	var ran bool
	empty, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	empty.Then(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !ran {
		t.Error("empty chain did not call the handler")
	}
}

// TestSecureOptions: the headers of SecureOptions in a Chain whose Logger
// trusts the proxy 10.0.0.1; HSTS only on what seclog's rule calls HTTPS.
func TestSecureOptions(t *testing.T) {
	sec, err := seclog.New(seclog.Config{TrustedProxies: []string{"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	var seen string // the URL the application was given
	c, err := New(Config{Logger: sec, Secure: SecureOptions()})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Then(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen = r.URL.String()
	}))
	const sts = "max-age=63072000; includeSubDomains"
	for _, tc := range []struct {
		name    string
		target  string
		peer    string
		tls     bool
		proto   string
		wantSTS string
	}{
		{"plain HTTP: no HSTS", "/", "203.0.113.5:4000", false, "", ""},
		{"TLS", "/", "203.0.113.5:4000", true, "", sts},
		{"behind the trusted TLS proxy", "/", "10.0.0.1:4000", false, "https", sts},
		{"the trusted proxy says http", "/", "10.0.0.1:4000", false, "http", ""},
		{"an untrusted peer says https", "/", "203.0.113.5:4000", false, "https", ""},
		{"absolute-form https line, plain HTTP", "https://example.com/a?b", "203.0.113.5:4000", false, "", ""},
		{"absolute-form http line, trusted proxy says https", "http://example.com/a?b", "10.0.0.1:4000", false, "https", sts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			r.RemoteAddr = tc.peer
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			before := r.URL.String()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if seen != before || r.URL.String() != before {
				t.Errorf("the application saw the URL %q (the request's is now %q), want %q as it came", seen, r.URL, before)
			}
			want := map[string]string{
				"Strict-Transport-Security":    tc.wantSTS,
				"X-Content-Type-Options":       "nosniff",
				"X-Frame-Options":              "DENY",
				"X-Xss-Protection":             "0",
				"Cross-Origin-Opener-Policy":   "same-origin",
				"Cross-Origin-Resource-Policy": "same-origin",
				"Content-Security-Policy":      "",
				"Referrer-Policy":              "",
			}
			for k, v := range want {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
}

// TestSecureOptionsIgnoresForwardedProtoFromUntrustedClient: a client
// that is not a trusted proxy cannot make a plain-HTTP request count as
// HTTPS, by X-Forwarded-Proto or by an absolute-form request line: the
// rule of seclog.Proxies.IsHTTPS, the one every package uses.
func TestSecureOptionsIgnoresForwardedProtoFromUntrustedClient(t *testing.T) {
	app := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	c, err := New(Config{Secure: SecureOptions()})
	if err != nil {
		t.Fatal(err)
	}
	chain := c.Then(app)
	direct := secure.New(*SecureOptions()).Handler(app)
	for _, tc := range []struct {
		name   string
		direct bool // also through secure alone, outside the chain
		r      func() *http.Request
	}{
		{"X-Forwarded-Proto: https over plain HTTP", true, func() *http.Request {
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.RemoteAddr = "203.0.113.5:4000"
			r.Header.Set("X-Forwarded-Proto", "https")
			return r
		}},
		{"absolute-form https request line over plain HTTP", false, func() *http.Request {
			r := httptest.NewRequest("GET", "https://example.com/", nil)
			r.TLS = nil // the request line said https; the connection is plain
			r.RemoteAddr = "203.0.113.5:4000"
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := map[string]http.Handler{"chain": chain}
			if tc.direct {
				hs["secure alone"] = direct
			}
			for name, h := range hs {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, tc.r())
				if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
					t.Errorf("%s: an untrusted client's plain-HTTP request got Strict-Transport-Security %q: it was believed to be HTTPS", name, got)
				}
			}
		})
	}
}
