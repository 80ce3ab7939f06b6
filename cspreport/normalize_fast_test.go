package cspreport

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"testing"
)

var urlSeeds = []string{
	"https://shop.example/orders/12?session=4f9a1c",
	"https://cdn7.tracker.example/t3.js?v=3",
	"https://shop.example/",
	"https://shop.example",
	"http://a.example:8080/x/y;z=1,2@3$&+:~_.-#frag",
	"https://a.example?q#f",
	"https://a.example/p??x",
	"https://a.example/p?",
	"https://a.example/p#",
	"https://a.example/p#%zz",
	"https://a.example/p#ok?%41",
	"https://a.example/p?%zz#x",
	"https://a.example:/p",
	"https://a.example:8a/p",
	"https://a.example:1:2/p",
	"https://[::1]:443/p",
	"https://user@a.example/p",
	"https://A.Example/P",
	"HTTPS://a.example/p",
	"https://a.example/p q",
	"https://a.example/p?q r",
	"https://a.example/p!*'()",
	"https://a.example/%41",
	"https://a_b.example/",
	"https:///p",
	"https://a.example/\x7f",
	"https://a.example/p?\x01",
	"https://a.example/p?é",
	"https://a.example/p?" + strings.Repeat("x", 100),
	"https://" + strings.Repeat("h", 300) + "/p",
	"https://a.example/" + strings.Repeat("p", 9000),
	"wss://a.example/s",
	"chrome-extension://abcdef/x.js",
	"blob:https://a.example/1", "data:text/html,x", "about:blank", "inline", "self", "'self'", "", "  https://a.example/  ",
}

// FuzzParseValueSame: fastURL, when it answers, answers as parseURL
// (url.Parse) does, and parseValue keeps every result it had.
func FuzzParseValueSame(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, keepQuery bool) {
		s = strings.TrimSpace(s)
		colon := strings.IndexByte(s, ':')
		if colon < 0 || !strings.HasPrefix(s[colon+1:], "//") {
			return
		}
		scheme := strings.ToLower(s[:colon])
		if !validScheme(scheme) {
			return
		}
		got, ok := fastURL(s, scheme, colon, keepQuery)
		if !ok {
			return
		}
		if want := parseURL(s, scheme, keepQuery); got != want {
			t.Fatalf("%q (keepQuery %v):\nfast %+v\nwant %+v", s, keepQuery, got, want)
		}
	})
}

// TestFastURL: the common URLs take the fast path, and the seeds agree.
func TestFastURL(t *testing.T) {
	for _, s := range []string{"https://shop.example/orders/12?session=4f9a1c", "https://cdn7.tracker.example/t3.js?v=3",
		"https://shop.example/", "http://a.example:8080/x"} {
		if _, ok := fastURL(s, s[:strings.IndexByte(s, ':')], strings.IndexByte(s, ':'), false); !ok {
			t.Errorf("%q: not on the fast path", s)
		}
	}
	fast := 0
	for _, s := range urlSeeds {
		for _, keep := range []bool{false, true} {
			s := strings.TrimSpace(s)
			colon := strings.IndexByte(s, ':')
			if colon < 0 || !strings.HasPrefix(s[colon+1:], "//") || !validScheme(strings.ToLower(s[:colon])) {
				continue
			}
			scheme := strings.ToLower(s[:colon])
			if got, ok := fastURL(s, scheme, colon, keep); ok {
				fast++
				if want := parseURL(s, scheme, keep); got != want {
					t.Errorf("%q (keepQuery %v):\nfast %+v\nwant %+v", s, keep, got, want)
				}
			}
		}
	}
	if fast < 20 {
		t.Errorf("only %d seeds on the fast path", fast)
	}
}

// templatePathSplit is templatePath as it was first written, with path
// parameters removed.
func templatePathSplit(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		s, _, _ = strings.Cut(s, ";")
		segs[i] = s
		if looksLikeID(s) {
			segs[i] = ":id"
		}
	}
	return clean(strings.Join(segs, "/"), maxPathLen)
}

// FuzzTemplatePathSame: templatePath answers as templatePathSplit does.
func FuzzTemplatePathSame(f *testing.F) {
	for _, s := range []string{"", "/", "//", "/users/42/edit", "42", "42/", "/42", "/a/42/b/43", "/x//7/", "/t/AbCdEf1234567890xyz", "/é/1", "/a;jsessionid=X1", ";x", "/42;v=1/b;c/;d", "/;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := templatePath(p), templatePathSplit(p); got != want {
			t.Fatalf("templatePath(%q) = %q, want %q", p, got, want)
		}
	})
}

// TestPolicyHashes: the cache answers hashHex, and holds at most
// maxPolicies policies.
func TestPolicyHashes(t *testing.T) {
	var c policyHashes
	for i := range 3 * maxPolicies {
		p := "default-src 'self'; report-uri /r" + strings.Repeat("x", i%5) + itoa(i%(2*maxPolicies))
		if i%7 == 0 {
			p += strings.Repeat("y", maxCachedPolicy)
		}
		for range 2 {
			if got, want := c.hash(p), hashHex(p); got != want {
				t.Fatalf("policy %d: %s, want %s", i, got, want)
			}
		}
		n := 0
		c.m.Range(func(any, any) bool { n++; return true })
		if n > maxPolicies {
			t.Fatalf("%d policies cached, want at most %d", n, maxPolicies)
		}
	}
	if got, want := (*policyHashes)(nil).hash("p"), hashHex("p"); got != want {
		t.Fatalf("nil cache: %s, want %s", got, want)
	}
}

// fpParts is the fingerprint as it was first written: SHA-256 of the
// parts, each followed by a NUL byte, the first 16 bytes in hex.
func fpParts(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// TestFingerprintsSame: groupFP and detailFP give the stored values of
// the first formula (long values, samples, negative and large numbers).
func TestFingerprintsSame(t *testing.T) {
	long := strings.Repeat("https://a.example/x", 200)
	for _, r := range []Report{
		{},
		{Directive: "script-src-elem", BlockedKind: "url", BlockedOrigin: "https://evil.example", DocumentOrigin: "https://shop.example", DocumentPath: "/a/:id", Disposition: "enforce", SourceFile: "https://shop.example/app.js", Line: 12, Column: 34},
		{Directive: "style-src", BlockedKind: "inline", BlockedOrigin: "inline", DocumentOrigin: long, DocumentPath: long, Disposition: "report", SourceFile: long, Line: math.MaxInt32, Column: -1, Sample: "alert(1)\x00é"},
	} {
		r.GroupFP = groupFP(&r)
		if want := fpParts(r.Directive, r.BlockedKind, r.BlockedOrigin, r.DocumentOrigin+r.DocumentPath, r.Disposition); r.GroupFP != want {
			t.Errorf("groupFP %s, want %s", r.GroupFP, want)
		}
		if got, want := detailFP(&r), fpParts(r.GroupFP, r.SourceFile, strconv.Itoa(r.Line), strconv.Itoa(r.Column), hashHex(r.Sample)); got != want {
			t.Errorf("detailFP %s, want %s", got, want)
		}
	}
	if hashHex("") != emptySHA256 {
		t.Error("emptySHA256")
	}
}
