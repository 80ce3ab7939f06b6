package pathrule

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxDecodes bounds decoding "until nothing changes": "%25" nested deeper
// than this is judged ambiguous rather than decoded (each round costs a pass
// over the path).
const maxDecodes = 8

// unescapeOnce decodes every valid %XX escape of s and leaves invalid ones
// as they are, as a lenient decoder does.
func unescapeOnce(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// decodeAll decodes s until nothing changes. ok is false when it still
// changes after maxDecodes rounds.
func decodeAll(s string) (string, bool) {
	for range maxDecodes {
		t := unescapeOnce(s)
		if t == s {
			return s, true
		}
		s = t
	}
	return s, unescapeOnce(s) == s
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// escapeSegment escapes a literal path segment for a ServeMux pattern.
func escapeSegment(seg string) string {
	return url.PathEscape(seg)
}

// slashes reads "\" as "/".
func slashes(p string) string {
	return strings.ReplaceAll(p, `\`, "/")
}

// stripParams removes ";…" from every segment of p, as servlet containers
// do with path parameters.
func stripParams(p string) string {
	if strings.IndexByte(p, ';') < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for p != "" {
		i := strings.IndexByte(p, ';')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		p = p[i:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = ""
		}
	}
	return b.String()
}

// cutAt returns p up to the first of the bytes in chars.
func cutAt(p, chars string) string {
	if i := strings.IndexAny(p, chars); i >= 0 {
		return p[:i]
	}
	return p
}

// trimDotSpace drops trailing dots and spaces from every segment, as Win32
// path normalisation does. A segment of dots and spaces only becomes ".."
// when it starts with "..", "." when it starts with ".", else empty: the
// most dangerous of the plausible readings.
func trimDotSpace(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		t := strings.TrimRight(seg, ". ")
		if t == "" && seg != "" {
			switch {
			case strings.HasPrefix(seg, ".."):
				t = ".."
			case strings.HasPrefix(seg, "."):
				t = "."
			}
		}
		segs[i] = t
	}
	return strings.Join(segs, "/")
}

// removeDotSegments is RFC 3986 section 5.2.4: it removes "." and ".."
// segments but, unlike path.Clean, keeps empty segments ("//").
func removeDotSegments(in string) string {
	var out []string // output segments, each with its leading "/"
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			i := strings.IndexByte(in[1:], '/')
			if i < 0 {
				i = len(in)
			} else {
				i++
			}
			out = append(out, in[:i])
			in = in[i:]
		}
	}
	return strings.Join(out, "")
}

// overlong reads overlong UTF-8 forms (2 to 6 bytes, as lenient decoders
// accept them) as the characters they encode: "\xc0\xae" is ".",
// "\xe0\x80\xaf" is "/", "\xc1\x9c" is "\".
func overlong(p string) string {
	var b []byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		n := 0 // length of the sequence c leads
		switch {
		case c&0xe0 == 0xc0:
			n = 2
		case c&0xf0 == 0xe0:
			n = 3
		case c&0xf8 == 0xf0:
			n = 4
		case c&0xfc == 0xf8:
			n = 5
		case c&0xfe == 0xfc:
			n = 6
		}
		if n == 0 || i+n > len(p) {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		cp := rune(c & (0x7f >> n))
		valid := true
		for k := 1; k < n; k++ {
			if p[i+k]&0xc0 != 0x80 {
				valid = false
				break
			}
			cp = cp<<6 | rune(p[i+k]&0x3f)
		}
		if !valid || cp >= minRune[n] || !utf8.ValidRune(cp) {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(p)), p[:i]...)
		}
		b = utf8.AppendRune(b, cp)
		i += n - 1
	}
	if b == nil {
		return p
	}
	return string(b)
}

// minRune[n] is the smallest code point that needs n bytes in UTF-8.
var minRune = [...]rune{2: 0x80, 3: 0x800, 4: 0x10000, 5: 0x200000, 6: 0x4000000}

// nfkc approximates Unicode NFKC normalisation where it matters for paths:
// compatibility forms of ASCII characters (fullwidth forms, small and
// vertical forms, dot leaders, ligatures, letterlike and mathematical
// letters and digits, circled letters, superscripts, Unicode spaces) become
// the ASCII they stand for. Other characters are left as they are; invalid
// UTF-8 is kept byte for byte.
func nfkc(p string) string {
	var b []byte
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		m, ok := "", false
		if r >= 0x80 && !(r == utf8.RuneError && size == 1) {
			m, ok = nfkcASCII(r)
		}
		if ok && b == nil {
			b = append(make([]byte, 0, len(p)), p[:i]...)
		}
		switch {
		case ok:
			b = append(b, m...)
		case b != nil:
			b = append(b, p[i:i+size]...)
		}
		i += size
	}
	if b == nil {
		return p
	}
	return string(b)
}

// nfkcCompat lists single code points whose NFKC form is ASCII, outside the
// ranges nfkcASCII computes.
var nfkcCompat = map[rune]string{
	0x00a0: " ", 0x00aa: "a", 0x00b2: "2", 0x00b3: "3", 0x00b9: "1", 0x00ba: "o",
	0x017f: "s", 0x037e: ";", 0x1fef: "`", 0x2024: ".", 0x2025: "..", 0x2026: "...",
	0x202f: " ", 0x203c: "!!", 0x2047: "??", 0x2048: "?!", 0x2049: "!?", 0x205f: " ",
	0x2070: "0", 0x2071: "i", 0x207f: "n", 0x2100: "a/c", 0x2101: "a/s", 0x2105: "c/o",
	0x2106: "c/u", 0x212a: "K", 0x3000: " ",
	0xfb00: "ff", 0xfb01: "fi", 0xfb02: "fl", 0xfb03: "ffi", 0xfb04: "ffl", 0xfb05: "st", 0xfb06: "st",
	0xfe10: ",", 0xfe13: ":", 0xfe14: ";", 0xfe15: "!", 0xfe16: "?", 0xfe19: "...",
	0xfe30: "..", 0xfe33: "_", 0xfe34: "_", 0xfe35: "(", 0xfe36: ")", 0xfe37: "{", 0xfe38: "}",
	0xfe47: "[", 0xfe48: "]", 0xfe4d: "_", 0xfe4e: "_", 0xfe4f: "_",
	0xfe50: ",", 0xfe52: ".", 0xfe54: ";", 0xfe55: ":", 0xfe56: "?", 0xfe57: "!",
	0xfe59: "(", 0xfe5a: ")", 0xfe5b: "{", 0xfe5c: "}", 0xfe5f: "#", 0xfe60: "&",
	0xfe61: "*", 0xfe62: "+", 0xfe63: "-", 0xfe64: "<", 0xfe65: ">", 0xfe66: "=",
	0xfe68: `\`, 0xfe69: "$", 0xfe6a: "%", 0xfe6b: "@",
}

// nfkcASCII returns the ASCII NFKC form of r, if it has one that nfkc knows.
func nfkcASCII(r rune) (string, bool) {
	var c rune
	switch {
	case 0xff01 <= r && r <= 0xff5e: // fullwidth ASCII
		c = r - 0xff01 + '!'
	case 0x2000 <= r && r <= 0x200a: // spaces
		c = ' '
	case 0x2074 <= r && r <= 0x2079: // superscript digits
		c = r - 0x2074 + '4'
	case 0x2080 <= r && r <= 0x2089: // subscript digits
		c = r - 0x2080 + '0'
	case 0x24b6 <= r && r <= 0x24cf: // circled capital letters
		c = r - 0x24b6 + 'A'
	case 0x24d0 <= r && r <= 0x24e9: // circled small letters
		c = r - 0x24d0 + 'a'
	case 0x1d400 <= r && r <= 0x1d6a3: // mathematical letters, 13 alphabets
		k := (r - 0x1d400) % 52
		if k < 26 {
			c = 'A' + k
		} else {
			c = 'a' + k - 26
		}
	case 0x1d7ce <= r && r <= 0x1d7ff: // mathematical digits
		c = '0' + (r-0x1d7ce)%10
	default:
		s, ok := nfkcCompat[r]
		return s, ok
	}
	return string(c), true
}

// lower lower-cases p: ASCII byte by byte, and other letters too when p is
// valid UTF-8 (so that "K", KELVIN SIGN, reads as "k").
func lower(p string) string {
	upper := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= utf8.RuneSelf {
			if utf8.ValidString(p) {
				return strings.ToLower(p)
			}
			return asciiLower(p)
		}
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if upper {
		return asciiLower(p)
	}
	return p
}

func asciiLower(p string) string {
	b := []byte(p)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// hasUpper reports whether s has an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// hasLower reports whether s has an ASCII lower-case letter.
func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return true
		}
	}
	return false
}
