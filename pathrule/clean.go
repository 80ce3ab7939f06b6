package pathrule

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Reasons for a [Reject], as found in [Result.Reason] and in
// [RejectError.Reason]. They are short, stable and machine-readable:
// log them as they are.
const (
	// ReasonBadRequest: the request has no URL.
	ReasonBadRequest = "bad-request"
	// ReasonEmptyPath: the path is empty (an absolute-form target without
	// a path). ServeMux redirects it to "/".
	ReasonEmptyPath = "empty-path"
	// ReasonRelativePath: the path does not start with "/".
	ReasonRelativePath = "relative-path"
	// ReasonDotSegment: a "." or ".." segment, written as is or
	// percent-encoded ("%2e%2e", ".%2e", "..%2f").
	ReasonDotSegment = "dot-segment"
	// ReasonDoubleSlash: an empty segment ("//").
	ReasonDoubleSlash = "double-slash"
	// ReasonEncodedSlash: "%2F" makes the decoded path unclean ("/%2fadmin"
	// is "//admin"), or routes it elsewhere than ServeMux, which never
	// splits at "%2F", does ("/static%2fapp.css").
	ReasonEncodedSlash = "encoded-slash"
	// ReasonControlChar: the path, decoded once, holds an ASCII control
	// character (0x00–0x1F, 0x7F).
	ReasonControlChar = "control-char"
	// ReasonRedirect: ServeMux would answer a redirect, such as "/static"
	// to "/static/" for a rule "/static/".
	ReasonRedirect = "redirect"

	// The readings that can disagree with ServeMux on a clean path.

	// ReasonDoubleEncoding: decoding until nothing changes ("%252e%252e").
	ReasonDoubleEncoding = "double-encoding"
	// ReasonBackslash: "\" read as a separator (Windows, Tomcat, WHATWG).
	ReasonBackslash = "backslash"
	// ReasonPathParam: ";…" path parameters stripped from each segment
	// (Tomcat, Jetty: "..;/", ";jsessionid=").
	ReasonPathParam = "path-param"
	// ReasonNUL: the path cut at a NUL that appears after decoding twice.
	ReasonNUL = "nul"
	// ReasonCaseFold: path, host and method compared without case.
	ReasonCaseFold = "case-fold"
	// ReasonOverlongUTF8: overlong UTF-8 forms read as the ASCII
	// characters they encode ("%c0%ae" as ".").
	ReasonOverlongUTF8 = "overlong-utf8"
	// ReasonQueryInPath: the decoded path cut at "?" or "#".
	ReasonQueryInPath = "query-in-path"
	// ReasonNFKC: Unicode compatibility forms read as ASCII (fullwidth
	// "．" and "／" as "." and "/").
	ReasonNFKC = "nfkc"
	// ReasonTrailingDotSpace: trailing dots and spaces dropped from each
	// segment, as Win32 does.
	ReasonTrailingDotSpace = "trailing-dot-space"
	// ReasonTrailingSlash: "/x/" read as "/x" (Spring MVC before 6.0).
	ReasonTrailingSlash = "trailing-slash"
	// ReasonRFC3986Dots: RFC 3986 remove_dot_segments, which keeps "//".
	ReasonRFC3986Dots = "rfc3986-dots"
	// ReasonCombined: all of the readings above applied together.
	ReasonCombined = "combined"
)

// A Guard keeps requests whose path is not clean away from the handler
// behind it, so that a router that does not clean paths (chi,
// gorilla/mux, a file server) only ever sees clean ones. ServeMux cleans
// paths itself, by redirecting; a Guard does the same for every router,
// and also refuses what ServeMux would route uncleaned: encoded dot
// segments and slashes ("%2e%2e", "%2f") and control characters.
//
// A path is clean when ServeMux would route it without a cleaning
// redirect, the path decoded once holds no control character, and the
// path decoded once is still clean (path.Clean, keeping a trailing slash,
// would not change it).
//
// The zero Guard is ready to use; like net/http's CrossOriginProtection it
// offers its decision ([Guard.Check]) beside its middleware
// ([Guard.Handler]). A Guard is safe for concurrent use once set up.
type Guard struct {
	// OnReject, if set, is called for every request that Handler
	// refuses, before the answer is written: log the security event
	// there (err.Reason is one of the Reason constants).
	OnReject func(r *http.Request, err *RejectError)
}

// A RejectError is the error of [Guard.Check] for a request whose path is
// not clean.
type RejectError struct {
	// Reason is why, as one of the Reason constants (ReasonDotSegment,
	// ReasonControlChar …): short and stable, to log as it is.
	Reason string
	// CleanPath is the escaped, cleaned path to redirect a GET or HEAD
	// to, or "" when the request must be refused outright (control
	// characters, no URL, a relative path). A non-empty CleanPath starts
	// with exactly one "/", never "//" or "/\", so it stays on the site.
	CleanPath string
}

// Error returns "pathrule: path not clean: " and the reason.
func (e *RejectError) Error() string { return "pathrule: path not clean: " + e.Reason }

// Check reports whether the path of r is clean: nil when it is, else a
// [*RejectError] with the reason and the path to redirect to. It is the
// pure decision of [Guard.Handler]: it writes nothing and does not call
// OnReject. It does not allocate for a clean path.
func (g *Guard) Check(r *http.Request) error {
	target, reason, ok := checkClean(r)
	if ok {
		return nil
	}
	return &RejectError{Reason: reason, CleanPath: target}
}

// Handler returns next behind the guard. A request with a clean path goes
// to next as it is. A refused GET or HEAD whose path can be cleaned is
// redirected to the clean path with 307, as ServeMux does, keeping the
// query; every other refused request gets 400 Bad Request. OnReject, if
// set, is called first.
//
// Put it outermost, in front of the router: every middleware and handler
// behind it sees clean paths only.
func (g *Guard) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, reason, ok := checkClean(r)
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if g.OnReject != nil {
			g.OnReject(r, &RejectError{Reason: reason, CleanPath: target})
		}
		if target != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
	})
}

// checkClean is the decision of a Guard. When ok is true, cleanPath is
// the escaped path (r.URL.EscapedPath()). Otherwise reason is one of the
// Reason constants and cleanPath is RejectError.CleanPath.
func checkClean(r *http.Request) (cleanPath, reason string, ok bool) {
	if r == nil || r.URL == nil {
		return "", ReasonBadRequest, false
	}
	esc, _, reason := scan(r.URL)
	if reason == "" {
		return esc, "", true
	}
	return redirectTarget(esc, r.URL.Path, reason), reason, false
}

// redirectTarget returns the escaped clean path for a request refused with
// reason, or "" when it must not be redirected.
func redirectTarget(esc, dec, reason string) string {
	var target string
	switch reason {
	case ReasonEmptyPath:
		return "/"
	case ReasonDotSegment, ReasonDoubleSlash, ReasonEncodedSlash:
		if c := cleanPath(esc); c != esc {
			target = c // unclean as written: what ServeMux redirects to
		} else {
			target = (&url.URL{Path: cleanPath(dec)}).EscapedPath()
		}
	default:
		return ""
	}
	if !sameSite(target) {
		return ""
	}
	return target
}

// sameSite reports whether p is an absolute path that a browser cannot read
// as a network-path reference: it starts with exactly one "/", not "//" or
// "/\".
func sameSite(p string) bool {
	return len(p) > 0 && p[0] == '/' && (len(p) == 1 || (p[1] != '/' && p[1] != '\\'))
}

// features are the characters of a clean path that make some reading
// differ from ServeMux's.
type features uint16

const (
	fUpper         features = 1 << iota // A–Z: case-fold
	fPercent                            // "%" in the decoded path: decodes again
	fBackslash                          // "\"
	fSemicolon                          // ";" in the decoded path
	fNonASCII                           // bytes ≥ 0x80: nfkc, overlong UTF-8, case-fold
	fQuery                              // "?" or "#" in the decoded path
	fDot                                // "." or " ": maybe a trailing dot or space
	fTrailingSlash                      // ends in "/", and is not "/"
	fEncodedSlash                       // "%2F" in the escaped path

	// Not features of a reading: what the scan must know.
	fControl // a control character
	fEscape  // a byte that EscapedPath escapes
)

// readingFeatures are the features that make some reading worth a lookup.
const readingFeatures = fUpper | fPercent | fBackslash | fSemicolon | fNonASCII | fQuery | fDot | fTrailingSlash | fEncodedSlash

// byteFeatures maps each byte to the features it reveals.
var byteFeatures = func() (t [256]features) {
	for c := range 256 {
		t[c] = fEscape
	}
	for _, c := range []byte("$&+,-./:;=@_~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		t[c] = 0
	}
	for c := 0; c < 0x20; c++ {
		t[c] |= fControl
	}
	t[0x7f] |= fControl
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= fUpper
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] |= fNonASCII
	}
	t['%'] |= fPercent
	t['\\'] |= fBackslash
	t[';'] |= fSemicolon
	t['?'] |= fQuery
	t['#'] |= fQuery
	t['.'] |= fDot
	t[' '] |= fDot
	return t
}()

// scan decides whether the path of u is clean (reason == "") and, if it
// is, which readings may differ from ServeMux's. It returns the escaped
// path, which ServeMux routes. A clean ASCII path costs one pass over its
// bytes.
func scan(u *url.URL) (esc string, f features, reason string) {
	dec := u.Path
	unclean := "" // why dec is not clean
	for i := 0; i < len(dec); i++ {
		c := dec[i]
		f |= byteFeatures[c]
		if c == '/' && unclean == "" {
			unclean = segmentReason(dec[i+1:])
		}
	}
	if u.RawPath == "" && f&fEscape == 0 {
		esc = dec // what EscapedPath would return, without a second pass
	} else {
		esc = u.EscapedPath()
	}
	switch {
	case esc == "":
		return esc, 0, ReasonEmptyPath
	case esc[0] != '/' || dec == "" || dec[0] != '/':
		return esc, 0, ReasonRelativePath
	case f&fControl != 0:
		return esc, f, ReasonControlChar
	}
	if esc != dec {
		if r := uncleanReason(esc); r != "" {
			return esc, f, r
		}
		if unclean == ReasonDoubleSlash {
			unclean = ReasonEncodedSlash
		}
		if strings.Contains(esc, "%2F") || strings.Contains(esc, "%2f") {
			f |= fEncodedSlash
		}
	}
	if unclean != "" {
		return esc, f, unclean
	}
	if len(dec) > 1 && dec[len(dec)-1] == '/' {
		f |= fTrailingSlash
	}
	if f&fDot != 0 && !hasTrailingDotSpace(dec) {
		f &^= fDot
	}
	return esc, f & readingFeatures, ""
}

// segmentReason returns why the segment that starts rest (the path after
// one of its slashes) makes the path unclean: "" (clean), a double slash,
// or a dot segment.
func segmentReason(rest string) string {
	switch {
	case rest == "":
		return ""
	case rest[0] == '/':
		return ReasonDoubleSlash
	case rest[0] != '.':
		return ""
	case len(rest) == 1 || rest[1] == '/':
		return ReasonDotSegment
	case rest[1] == '.' && (len(rest) == 2 || rest[2] == '/'):
		return ReasonDotSegment
	}
	return ""
}

// uncleanReason returns "" when p (which starts with "/") is clean, as
// ServeMux's cleanPath would leave it, else the reason it is not.
func uncleanReason(p string) string {
	for i := 0; i < len(p); {
		// p[i] == '/': look at the segment after it.
		j := strings.IndexByte(p[i+1:], '/')
		if j < 0 {
			j = len(p)
		} else {
			j += i + 1
		}
		switch seg := p[i+1 : j]; seg {
		case ".", "..":
			return ReasonDotSegment
		case "":
			if j < len(p) {
				return ReasonDoubleSlash
			}
		}
		i = j
	}
	return ""
}

// hasTrailingDotSpace reports whether a segment of p ends in "." or " ".
func hasTrailingDotSpace(p string) bool {
	for i := 1; i < len(p); i++ {
		if p[i] == '/' && (p[i-1] == '.' || p[i-1] == ' ') {
			return true
		}
	}
	c := p[len(p)-1]
	return c == '.' || c == ' '
}

// cleanPath is ServeMux's cleanPath: path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}
