package totp

import (
	"strings"
	"testing"
)

// FuzzNormalize: whatever a user types, the normalizers return only what
// they claim (n ASCII digits; 16 base32 characters) or refuse it, and
// never panic.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "12-34-56", "١٢٣٤٥٦", "abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNO2", "", "\x00", strings.Repeat("9", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, n := range []int{6, 8} {
			if code, ok := normalizeCode(in, n); ok {
				if len(code) != n || strings.Trim(code, "0123456789") != "" {
					t.Fatalf("normalizeCode(%q, %d) = %q, ok", in, n, code)
				}
			}
		}
		if rc, ok := normalizeRecovery(in); ok {
			if len(rc) != recoveryLen || strings.Trim(rc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
				t.Fatalf("normalizeRecovery(%q) = %q, ok", in, rc)
			}
		}
	})
}
