package identity

import (
	"strings"
	"unicode/utf8"
)

// MaxNextLen is the longest redirect target [SafeNext] accepts.
const MaxNextLen = 2048

// SafeNext reports whether next, a redirect target taken from a request
// (the "next" query parameter or form field, already URL-decoded), may be
// followed: it stays on one of allowedHosts and, when requireHTTPS is set,
// on HTTPS. It is the one check of a redirect target in the suite: login
// handlers and every gate use it, and [Redirect] writes what it accepted.
//
// It follows Django's url_has_allowed_host_and_scheme, judging the value as
// browsers parse it, and is stricter where browsers and Django disagree.
// First, it refuses what any later step could rewrite into another URL, so
// that the string judged is the URL followed:
//
//   - any ASCII control character (browsers drop tab, CR and LF and skip
//     leading controls, so "java\nscript:" and "/\t/evil.example" work),
//     leading or trailing spaces, invalid UTF-8;
//   - any backslash (browsers read "\" as "/", so "/\evil.example" is
//     "//evil.example");
//   - a dot segment in the path: ".", "..", or either written with "%2e"
//     (path cleaning and browsers remove them, and "/x/../\evil.example"
//     or "/.//evil.example" become references to another host);
//
// and then, as Django:
//
//   - a value that is empty, that starts with "///", or that is longer than
//     [MaxNextLen] is refused;
//   - a scheme, if present, must be https (or http when requireHTTPS is
//     false), and must come with an authority ("https:evil.example" is
//     refused);
//   - an authority, if present, must be exactly one of allowedHosts (as the
//     Host header would carry it, with its port if any): no userinfo, no
//     other port, no trailing dot. A scheme-relative "//host/x" counts as
//     http, so it is refused when requireHTTPS is set.
//
// Everything else is a same-site reference and is accepted: an absolute or
// relative path, a query or fragment alone. Emit exactly the string that was
// judged, with [Redirect]: http.Redirect cleans the path, and decoding the
// value again (url.Parse(next).Path) can turn a safe "/%2F%2Fhost" into
// "///host".
func SafeNext(next string, allowedHosts []string, requireHTTPS bool) bool {
	if next == "" || len(next) > MaxNextLen || next != strings.TrimSpace(next) {
		return false
	}
	return !rewritable(next) && safeNext(next, allowedHosts, requireHTTPS)
}

// rewritable reports whether a step after the judge could read v as
// another URL than the judge did: a browser's URL parser (which drops tabs
// and newlines, reads "\" as "/", replaces invalid UTF-8 and removes dot
// segments) or path cleaning. It is the rule [SafeNext] and [Redirect]
// share.
func rewritable(v string) bool {
	if !utf8.ValidString(v) {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	for seg := range strings.SplitSeq(pathOf(v), "/") {
		if s := dotEscapes.Replace(seg); s == "." || s == ".." {
			return true
		}
	}
	return false
}

// dotEscapes reads "%2e" as "." in a path segment, as browsers do when they
// look for dot segments.
var dotEscapes = strings.NewReplacer("%2e", ".", "%2E", ".")

// pathOf returns the path of v: after the scheme and the authority, before
// the query and the fragment.
func pathOf(v string) string {
	if i := strings.IndexAny(v, "?#"); i >= 0 {
		v = v[:i]
	}
	_, rest := splitScheme(v)
	if !strings.HasPrefix(rest, "//") {
		return rest
	}
	rest = rest[2:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return ""
	}
	return rest[i:]
}

// safeNext is one reading of the check, as Python's urlsplit splits a URL.
func safeNext(v string, allowedHosts []string, requireHTTPS bool) bool {
	if strings.HasPrefix(v, "///") {
		return false
	}
	scheme, rest := splitScheme(v)
	var netloc string
	hasNetloc := false
	if strings.HasPrefix(rest, "//") {
		hasNetloc = true
		netloc = rest[2:]
		if i := strings.IndexAny(netloc, "/?#"); i >= 0 {
			netloc = netloc[:i]
		}
		// Python refuses an unbalanced IPv6 bracket; so do we.
		if strings.Count(netloc, "[") != strings.Count(netloc, "]") {
			return false
		}
	}
	if netloc == "" && scheme != "" {
		// "https:evil.example", "http:///evil.example": browsers find a host
		// where the parser finds none.
		return false
	}
	if hasNetloc && netloc == "" {
		return false
	}
	if scheme == "" && netloc != "" {
		scheme = "http"
	}
	switch scheme {
	case "", "https":
	case "http":
		if requireHTTPS {
			return false
		}
	default:
		return false
	}
	if netloc == "" {
		return true
	}
	for _, h := range allowedHosts {
		if netloc == h {
			return true
		}
	}
	return false
}

// splitScheme splits a URL scheme off v as RFC 3986 (and Python's urlsplit)
// reads one: an ASCII letter, then letters, digits, "+", "-" or ".", then
// ":". The scheme is returned in lower case.
func splitScheme(v string) (scheme, rest string) {
	if v == "" || !isAlpha(v[0]) {
		return "", v
	}
	for j := 1; j < len(v); j++ {
		c := v[j]
		if c == ':' {
			return strings.ToLower(v[:j]), v[j+1:]
		}
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return "", v
		}
	}
	return "", v
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
