package seclog

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSanitize: whatever a request holds, the value logged is valid UTF-8,
// at most MaxValueLen bytes plus the cut mark, without a control
// character, a format character or a line separator, and a clean value is
// kept as it is.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "/static/app.css", "a\r\nb", "\x1b[31m", "a\xffb", "user\u202egnp", "a\u2028b", "a\U000E0041", `a\x0a`, strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q: not valid UTF-8", s, got)
		}
		body, _, cut := strings.Cut(got, "…[+")
		if len(body) > MaxValueLen {
			t.Fatalf("Sanitize(%q): %d bytes before the mark", s, len(body))
		}
		for _, r := range body {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || hidden(r) {
				t.Fatalf("Sanitize(%q) = %q: %U left", s, got, r)
			}
		}
		if !cut && len(s) <= MaxValueLen && clean(s) && got != s {
			t.Fatalf("clean %q changed to %q", s, got)
		}
	})
}
