package seclog

import (
	"strconv"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
)

// MaxValueLen is the longest value, in bytes, that a field taken from a
// request may have in a security event. Longer values are cut and marked
// with the number of bytes left out, so a hostile header cannot fill a disk.
const MaxValueLen = 256

// Sanitize makes a value from a request safe to log. It cuts the value to
// [MaxValueLen] bytes, on a UTF-8 boundary, and marks the cut as
// "…[+N bytes]"; it escapes control characters (C0, DEL and C1), invalid
// UTF-8 and the backslash itself as \xNN, \u00NN or \\, so that no log line
// can be forged with CR, LF or terminal escape sequences and the escaping
// stays unambiguous; and it escapes the Unicode format characters
// (bidirectional overrides such as U+202E, zero-width characters) and the
// line and paragraph separators U+2028 and U+2029 as \uNNNN (\UNNNNNNNN
// above U+FFFF), so that a log viewer cannot be made to show a value other
// than it is. A value that needs no change is returned as it is,
// without allocating.
func Sanitize(s string) string {
	if len(s) <= MaxValueLen && clean(s) {
		return s
	}
	return escape(s, MaxValueLen)
}

// Escape escapes s by the rules of [Sanitize], without cutting it: for
// showing a value an attacker chose where the whole of it is wanted, such
// as a table printed to an operator's terminal. A value that needs no
// change is returned as it is, without allocating.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	return escape(s, -1)
}

// clean reports whether s has nothing to escape.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			// Check the whole rune: invalid UTF-8 and C1 controls need escaping.
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f || hidden(r) {
				return false
			}
			i += size - 1
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// hidden reports whether r is a Unicode format character (category Cf:
// bidirectional controls, zero-width characters, tags) or a line or
// paragraph separator: characters that change how the text around them
// is shown.
func hidden(r rune) bool {
	return r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Cf, r)
}

// escape escapes s; when limit is not negative, it cuts the result to
// limit bytes and marks the cut.
func escape(s string, limit int) string {
	capacity := len(s) + 16
	if limit >= 0 {
		capacity = min(len(s), limit) + 16
	}
	b := make([]byte, 0, capacity)
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		var esc [10]byte
		n := 0
		switch {
		case r == utf8.RuneError && size == 1:
			esc, n = [10]byte{'\\', 'x', hexDigits[s[i]>>4], hexDigits[s[i]&0xf]}, 4
		case r < 0x20 || r == 0x7f:
			esc, n = [10]byte{'\\', 'x', hexDigits[byte(r)>>4], hexDigits[byte(r)&0xf]}, 4
		case r >= 0x80 && r <= 0x9f || r > 0x9f && r <= 0xffff && hidden(r):
			esc, n = [10]byte{'\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf]}, 6
		case r > 0xffff && hidden(r):
			esc = [10]byte{'\\', 'U'}
			for k := range 8 {
				esc[2+k] = hexDigits[r>>(28-4*k)&0xf]
			}
			n = 10
		case r == '\\':
			esc, n = [10]byte{'\\', '\\'}, 2
		}
		if n == 0 {
			if limit >= 0 && len(b)+size > limit {
				break
			}
			b = append(b, s[i:i+size]...)
		} else {
			if limit >= 0 && len(b)+n > limit {
				break
			}
			b = append(b, esc[:n]...)
		}
		i += size
	}
	if i < len(s) {
		b = append(b, "…[+"...)
		b = strconv.AppendInt(b, int64(len(s)-i), 10)
		b = append(b, " bytes]"...)
	}
	return string(b)
}

// String is a zap field for a value taken from a request (a header, a path,
// a query parameter, a user name typed into a form): the value is passed
// through [Sanitize]. Use it for every field whose value an attacker could
// choose.
func String(key, value string) zap.Field {
	return zap.String(key, Sanitize(value))
}
