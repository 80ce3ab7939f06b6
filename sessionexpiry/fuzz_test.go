package sessionexpiry_test

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzCookie sends any session cookie value (as a raw Cookie header, so
// that what net/http parses is fuzzed too): the answer is always the
// anonymous page, or alice's for her own live token, never a panic.
func FuzzCookie(f *testing.F) {
	clk := newClock()
	log, _ := newLogger(f)
	s := newSite(f, newManager(), clk, log)
	live := s.login(f)
	for _, seed := range []string{
		live.Value, live.Value[:20], live.Value + "A", strings.Repeat("A", 43),
		"bulwark-tomb:" + live.Value, "", `"` + live.Value + `"`, "%00", strings.Repeat("é", 30),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		rec := s.do("GET", "/whoami", nil, "Cookie", "session="+value)
		want := "anonymous"
		if c, err := http.ParseCookie("session=" + value); err == nil && len(c) == 1 && c[0].Value == live.Value {
			want = "alice"
		}
		if rec.Code != 200 || rec.Body.String() != want {
			t.Fatalf("cookie %q: %d %q, want %q", value, rec.Code, rec.Body, want)
		}
	})
}
