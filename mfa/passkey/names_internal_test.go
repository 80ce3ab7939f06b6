package passkey

import (
	"strings"
	"testing"
)

// TestCleanName: a passkey's name is kept printable, trimmed and at most
// MaxNameLen bytes, cut at a character boundary.
func TestCleanName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  laptop  ", "laptop"},
		{"", "passkey"},
		{"\x00\x1f\x7f", "passkey"},
		{"a\x1fb c\x7fd~", "ab cd~"},
		{"a\xffb", "ab"},
		{strings.Repeat("a", MaxNameLen), strings.Repeat("a", MaxNameLen)},
		{strings.Repeat("a", MaxNameLen+1), strings.Repeat("a", MaxNameLen)},
		{strings.Repeat("a", MaxNameLen-1) + "é", strings.Repeat("a", MaxNameLen-1)},
	} {
		if got := cleanName(tc.in); got != tc.want {
			t.Errorf("cleanName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAAGUID: an authenticator's AAGUID as the UUID the FIDO metadata
// lists it by; none for a length that is not 16.
func TestAAGUID(t *testing.T) {
	b := []byte{0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5, 0x75, 0xd4}
	if got, want := aaguid(b), "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"; got != want {
		t.Errorf("aaguid = %q, want %q", got, want)
	}
	if got := aaguid(b[:15]); got != "" {
		t.Errorf("15 bytes: %q", got)
	}
}
