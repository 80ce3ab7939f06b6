package identity

import (
	"net/http"
	"strings"
)

// Redirect replies to r with a redirect to target: status code (a 3xx,
// such as http.StatusSeeOther) and target in Location, exactly as given. It
// is how every redirect of the suite is written, in place of http.Redirect,
// which cleans the path of a relative target after it was judged
// ("/./\evil.example" becomes "/\evil.example", which browsers follow to
// evil.example).
//
// Give it a target that [SafeNext] accepted, or one the application built
// (a constant, a configured URL, a provider's prompt URL): Redirect does
// not judge where a target leads. It does refuse a target that a browser
// would read as another URL than the one written (control characters,
// backslashes, dot segments, invalid UTF-8, the rule SafeNext applies
// first): it answers 500 Internal Server Error then, without Location.
//
// Non-ASCII characters are percent-encoded in UTF-8, as browsers encode
// them; every other byte goes out as it is. Unless the handler set a
// Content-Type, the response is text/plain with the status text as its
// body (none for HEAD).
func Redirect(w http.ResponseWriter, r *http.Request, target string, code int) {
	h := w.Header()
	if target == "" || rewritable(target) {
		h.Del("Location")
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h.Set("Location", escapeNonASCII(target))
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write([]byte(http.StatusText(code) + "\n"))
	}
}

// escapeNonASCII percent-encodes the bytes of s above 0x7F.
func escapeNonASCII(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}
