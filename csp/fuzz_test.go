package csp

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts serializes to a string
// that parses back to the same policy and the same string; an accepted
// policy never holds a byte that could end a directive or the header; and
// New compiles it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"default-src 'self'",
		Strict().String(),
		"script-src 'self' $NONCE https://cdn.example.com; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; report-uri /csp?x=a%20b",
		"sandbox allow-scripts; trusted-types policy-% 'allow-duplicates'; require-trusted-types-for 'script'",
		"default-src self", "script-src 'none' 'self'", "a;;b", "default-src 'self'\r\nX: y", "img-src é.example",
		"frame-ancestors https://*.example:*/p/; upgrade-insecure-requests; webrtc 'allow'",
		"script-src 'sha256-" + strings.Repeat("A", 43) + "='",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		out := p.String()
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its serialization %q: %v", s, out, err)
		}
		if !equal(p, q) || q.String() != out {
			t.Fatalf("unstable: %q -> %q -> %q", s, out, q.String())
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; c == ',' || c == '\r' || c == '\n' || c >= 0x80 || c < 0x20 {
				t.Fatalf("accepted %q serializes with byte %q", s, c)
			}
		}
		if strings.Count(out, ";") != max(len(p)-1, 0) {
			t.Fatalf("accepted %q: a value holds ';': %q", s, out)
		}
		if len(p) > 0 {
			if _, err := New(Config{Enforce: p, Logger: quiet}); err != nil {
				t.Fatalf("Parse accepted %q, New refused: %v", s, err)
			}
		}
	})
}

func equal(p, q Policy) bool {
	return slices.EqualFunc(p, q, func(a, b Directive) bool {
		return a.Name == b.Name && slices.Equal(a.Sources, b.Sources)
	})
}
