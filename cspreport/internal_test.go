package cspreport

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/cspreport/internal/wire"
)

// TestLimiterBounded: a flood of distinct clients never holds more than
// MaxClients buckets.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimit{PerSecond: 1, Burst: 10, MaxClients: 1024})
	now := time.Unix(1e9, 0)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 1})
		p, _ := a.Prefix(32)
		if ok, _ := l.take(p, 1, now); !ok {
			t.Fatalf("a new client was refused at %d", i)
		}
	}
	if n := l.size(); n > 1024 {
		t.Fatalf("%d buckets held, more than MaxClients 1024", n)
	}
}

func TestTemplatePath(t *testing.T) {
	for in, want := range map[string]string{
		"":               "/",
		"/":              "/",
		"/users/42/edit": "/users/:id/edit",
		"/orders/3f2a9c1e-1b2c-4d5e-8f90-123456789abc": "/orders/:id",
		"/t/AbCdEf1234567890xyz":                       "/t/:id",
		"/blog/hello-world":                            "/blog/hello-world",
		"/static/app.js":                               "/static/app.js",
		"/a/deadbeef00":                                "/a/:id",
		"/page.jsp;jsessionid=1A2B3C4D":                "/page.jsp",
		"/a;x=1/b;y=2/":                                "/a/b/",
		"/password-reset/Zx9Kq2Lm8Np4Rt6Vw1Yb;sid=x":   "/password-reset/:id",
		"/;jsessionid=abc":                             "/",
	} {
		if got := templatePath(in); got != want {
			t.Errorf("templatePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	s := clean(strings.Repeat("é", 200)+"\x00\xff", 255)
	if !utf8.ValidString(s) || len(s) > 255 || strings.Contains(s, "\x00") {
		t.Fatalf("clean: %q", s)
	}
}

// FuzzDecode: no body makes the decoder or the normaliser panic, and
// what they keep is bounded and valid UTF-8 without NUL.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"csp-report":{"document-uri":"https://a.example/x?y#z","blocked-uri":"data:xx","violated-directive":"img-src 'self'","line-number":"7"}}`))
	f.Add([]byte(`[{"type":"csp-violation","url":"https://a.example/","body":{"blockedURL":"inline","effectiveDirective":"script-src-elem","lineNumber":null}},{"type":"deprecation","body":{}},1]`))
	f.Add([]byte(`{"type":"csp-violation","body":{"documentURL":"about:blank","sample":"\u0000"}}`))
	f.Add([]byte(`[[[[[[[[[[]]]]]]]]]]`))
	filters, err := compileFilters(Filters{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if wire.CheckDepth(b, DefaultMaxDepth) != nil {
			return
		}
		d, err := wire.Decode(b, DefaultMaxItems)
		if err != nil {
			return
		}
		if len(d.Reports)+d.Invalid > DefaultMaxItems {
			t.Fatalf("%d items kept", len(d.Reports)+d.Invalid)
		}
		in := reqInfo{receivedAt: time.Unix(1e9, 0), client: "192.0.2.0/24"}
		for i := range d.Reports {
			if d.Reports[i].Type != wire.TypeCSP {
				continue
			}
			r, bl, doc, src := normalize(&d.Reports[i], &in)
			filters.match(&r, bl, doc, src)
			for name, v := range map[string]string{"blocked": r.Blocked, "document": r.DocumentURL, "source": r.SourceFile,
				"directive": r.Directive, "sample": r.Sample, "path": r.DocumentPath, "origin": r.BlockedOrigin, "referrer": r.Referrer} {
				if !utf8.ValidString(v) || strings.Contains(v, "\x00") || len(v) > MaxURLLen {
					t.Fatalf("%s = %q", name, v)
				}
			}
			if len(r.GroupFP) != 32 || len(r.DetailFP) != 32 {
				t.Fatalf("fingerprints %q %q", r.GroupFP, r.DetailFP)
			}
			if r.OccurredAt.After(in.receivedAt) || in.receivedAt.Sub(r.OccurredAt) > maxAge {
				t.Fatalf("occurred %v", r.OccurredAt)
			}
		}
	})
}

func TestBrowserFamily(t *testing.T) {
	for ua, want := range map[string]string{
		"": "unknown",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                  "Chrome",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0":    "Edge",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0":              "Opera",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36": "Samsung Internet",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                           "Firefox",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15":            "Safari",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                                         "bot",
		"curl/8.5.0": "other",
	} {
		if got := browserFamily(ua); got != want {
			t.Errorf("browserFamily(%q) = %q, want %q", ua, got, want)
		}
	}
}
