package cspreport

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/cspreport/internal/wire"
)

// Bounds of stored values, in bytes (cut at a UTF-8 boundary).
const (
	MaxURLLen       = 2048
	MaxDirectiveLen = 64
	MaxPolicyLen    = 16 << 10
	MaxSampleLen    = 256
	MaxUALen        = 512
	MaxVersionLen   = 64
	maxPathLen      = 512
	maxTypeLen      = 64
)

// maxAge bounds a report's age: older claims are clamped.
const maxAge = 24 * time.Hour

// clean makes s storable: valid UTF-8, no NUL byte (PostgreSQL refuses
// them in text), at most n bytes, cut at a character boundary.
func clean(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

var blockedKeywords = map[string]string{
	"inline": "inline", "eval": "eval", "wasm-eval": "wasm-eval",
	"trusted-types-policy": "trusted-types-policy", "trusted-types-sink": "trusted-types-sink",
	"self": "self", "'self'": "self",
}

// validScheme reports whether s is a URL scheme (RFC 3986).
func validScheme(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// parsedURL is a URL value of a report, reduced for storage.
type parsedURL struct {
	kind   string // "url", "scheme", "empty", "other", or a keyword
	scheme string // lower case
	host   string // lower case, without port
	origin string // scheme://host[:port] for "url"; else the scheme or keyword
	path   string
	value  string // stored form: no query nor fragment, data: redacted
}

// parseValue classifies a URL-ish value of a report (blocked-uri,
// document-uri, source-file, referrer): a URL, a bare scheme
// ("chrome-extension", "data"), a scheme with an opaque part ("data:…",
// "about:blank"), a keyword ("inline"), or empty. keepQuery keeps the
// query of URLs.
func parseValue(s string, keepQuery bool) parsedURL {
	s = strings.TrimSpace(s)
	if s == "" {
		return parsedURL{kind: "empty"}
	}
	lower := strings.ToLower(s)
	if kw, ok := blockedKeywords[lower]; ok {
		return parsedURL{kind: kw, origin: kw, value: kw}
	}
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		if validScheme(s) {
			return parsedURL{kind: "scheme", scheme: lower, origin: lower, value: lower}
		}
		return parsedURL{kind: "other", value: clean(s, MaxURLLen)}
	}
	scheme := strings.ToLower(s[:colon])
	if !validScheme(scheme) {
		return parsedURL{kind: "other", value: clean(s, MaxURLLen)}
	}
	if !strings.HasPrefix(s[colon+1:], "//") || scheme == "data" || scheme == "blob" {
		// Opaque: data:…, about:blank, javascript:…, blob:https://… The
		// body is never kept, except the well-known about: pages.
		v := scheme + ":"
		if scheme == "about" {
			v = clean(strings.ToLower(s), 64)
		}
		return parsedURL{kind: "scheme", scheme: scheme, origin: scheme, value: v}
	}
	if v, ok := fastURL(s, scheme, colon, keepQuery); ok {
		return v
	}
	return parseURL(s, scheme, keepQuery)
}

// parseURL is parseValue for a scheme followed by "//", through url.Parse.
func parseURL(s, scheme string, keepQuery bool) parsedURL {
	u, err := url.Parse(clean(s, 4*MaxURLLen))
	if err != nil || u.Host == "" {
		return parsedURL{kind: "scheme", scheme: scheme, origin: scheme, value: scheme + ":"}
	}
	host := strings.ToLower(u.Hostname())
	origin := scheme + "://" + strings.ToLower(u.Host)
	p := templateSegments(u.EscapedPath())
	v := origin + p
	if keepQuery && u.RawQuery != "" {
		v += "?" + u.RawQuery
	}
	return parsedURL{kind: "url", scheme: scheme, host: host, origin: clean(origin, 256), path: p, value: clean(v, MaxURLLen)}
}

// URL bytes by where fastURL accepts them.
const (
	inHost  = 1 << iota // a-z 0-9 . -
	inPath              // what url.URL.EscapedPath leaves as it is: A-Z a-z 0-9 - _ . ~ $ & + , / : ; = @
	inQuery             // printable ASCII and space; '%' too, but not in a fragment
)

var urlBytes = func() (t [256]uint8) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = inQuery
	}
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ_~$&+,/:;=@" {
		t[c] |= inPath
	}
	for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789.-" {
		t[c] |= inHost | inPath
	}
	return t
}()

// fastURL is parseURL for the common URLs, without url.Parse and without
// allocating: scheme and host in lower case, the host made of letters,
// digits, dots and hyphens with an optional port, a path that needs no
// escaping, printable ASCII after it (no '%' in the fragment), at most
// 4*MaxURLLen bytes. For anything else it returns false, and parseURL
// decides. Its results are parseURL's (FuzzParseValueSame): the values
// are slices of s (cloned when s is much longer).
func fastURL(s, scheme string, colon int, keepQuery bool) (parsedURL, bool) {
	if len(s) > 4*MaxURLLen || s[:colon] != scheme {
		return parsedURL{}, false
	}
	i := colon + 3 // after "//"
	hostStart, port := i, -1
	for ; i < len(s); i++ {
		c := s[i]
		if urlBytes[c]&inHost != 0 {
			continue
		}
		if c == ':' && port < 0 {
			port = i
			continue
		}
		break
	}
	hostEnd := i
	if port >= 0 {
		if port+1 == hostEnd {
			return parsedURL{}, false // ":" without a port
		}
		for j := port + 1; j < hostEnd; j++ {
			if s[j] < '0' || s[j] > '9' {
				return parsedURL{}, false
			}
		}
	} else {
		port = hostEnd
	}
	if port == hostStart || (i < len(s) && s[i] != '/' && s[i] != '?' && s[i] != '#') {
		return parsedURL{}, false
	}
	for ; i < len(s) && urlBytes[s[i]]&inPath != 0; i++ {
	}
	pathEnd := i
	if i < len(s) && s[i] != '?' && s[i] != '#' {
		return parsedURL{}, false
	}
	queryEnd := len(s)
	for ; i < len(s); i++ {
		c := s[i]
		if urlBytes[c] == 0 {
			return parsedURL{}, false
		}
		if c == '#' && queryEnd == len(s) {
			queryEnd = i
		} else if c == '%' && queryEnd < len(s) {
			return parsedURL{}, false // an escape in the fragment: url.Parse checks it
		}
	}
	end := pathEnd
	if keepQuery && pathEnd < queryEnd && pathEnd+1 < queryEnd {
		// url.Parse takes the query from the first '?' before the '#'; a
		// lone '?' is an empty query.
		end = queryEnd
	}
	v := s[:end]
	path := v[hostEnd:pathEnd]
	if t := templateSegments(path); t != path {
		path = t
		v = v[:hostEnd] + t + v[pathEnd:]
	} else if len(s)-len(v) > 64 {
		v = strings.Clone(v) // do not keep a long query alive
	}
	origin := v[:hostEnd]
	return parsedURL{kind: "url", scheme: scheme, host: s[hostStart:port], origin: clean(origin, 256),
		path: path, value: clean(v, MaxURLLen)}, true
}

// templatePath is the stored form of a path: templateSegments of p, "/" for
// an empty one, cut to maxPathLen.
func templatePath(p string) string {
	if p == "" {
		return "/"
	}
	return clean(templateSegments(p), maxPathLen)
}

// templateSegments replaces the segments of p that look like ids or tokens with
// ":id", so that /users/42 and /users/43 are one group, and removes path
// parameters (from a ';' to the end of its segment: ";jsessionid=…",
// where servlet containers put the session id), so that no secret of a
// path is kept. It returns p itself when nothing changes.
func templateSegments(p string) string {
	// Copied only from the first segment that changes.
	var b []byte
	changed := false
	done := 0 // p[:done] is in b
	for i := 0; i <= len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			j = len(p) - i
		}
		seg := p[i : i+j]
		param := strings.IndexByte(seg, ';')
		if param >= 0 {
			seg = seg[:param]
		}
		if id := looksLikeID(seg); id || param >= 0 {
			if !changed {
				b, changed = make([]byte, 0, len(p)), true
			}
			b = append(b, p[done:i]...)
			if id {
				b = append(b, ":id"...)
			} else {
				b = append(b, seg...)
			}
			done = i + j
		}
		i += j + 1
	}
	if !changed {
		return p
	}
	return string(append(b, p[done:]...))
}

func looksLikeID(s string) bool {
	if s == "" {
		return false
	}
	digits, hex, letters, other := 0, 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
			hex++
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			hex++
			letters++
		case 'g' <= c && c <= 'z', 'G' <= c && c <= 'Z':
			letters++
		case c == '-' || c == '_' || c == '%' || c == '.' || c == '~':
			other++
		default:
			return false
		}
	}
	switch {
	case digits == len(s): // 42
		return true
	case hex+other == len(s) && digits > 0 && len(s) >= 8: // a8cdc6de, a UUID
		return true
	case len(s) >= 16 && digits > 0 && letters > 0: // a token
		return true
	}
	return false
}

// directive returns the effective directive: effective-directive, else
// the first token of violated-directive (CSP2-era engines put the source
// list there), in lower case.
func directive(effective, violated string) string {
	d := strings.TrimSpace(effective)
	if d == "" {
		d = strings.TrimSpace(violated)
		if i := strings.IndexAny(d, " \t"); i >= 0 {
			d = d[:i]
		}
	}
	return clean(strings.ToLower(d), MaxDirectiveLen)
}

func disposition(s, hint string) string {
	for _, v := range []string{s, hint} {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "enforce":
			return "enforce"
		case "report", "report-only":
			return "report"
		}
	}
	return "unknown"
}

// ClientPrefix cuts addr to the prefix the receiver keeps and rate-limits
// on: /24 for IPv4, /64 for IPv6 (by default).
func clientPrefix(addr netip.Addr, v4, v6 int) netip.Prefix {
	if !addr.IsValid() {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := v6
	if addr.Is4() {
		bits = v4
	}
	p, _ := addr.Prefix(bits)
	return p
}

// The fingerprints are the first 16 bytes of SHA-256, in hex, of their
// parts each followed by a NUL byte (fpParts in the tests); they are
// hashed from one buffer, on the stack for the usual lengths.

// groupFP is the group fingerprint of rep: directive, blocked kind and
// origin, document origin and templated path, disposition.
func groupFP(rep *Report) string {
	var buf [320]byte
	p := buf[:0]
	for _, s := range [...]string{rep.Directive, rep.BlockedKind, rep.BlockedOrigin} {
		p = append(append(p, s...), 0)
	}
	p = append(append(append(p, rep.DocumentOrigin...), rep.DocumentPath...), 0)
	p = append(append(p, rep.Disposition...), 0)
	return sumHex(p)
}

// detailFP is the detail fingerprint of rep: its group, source file,
// line, column and the SHA-256 of its sample, in hex.
func detailFP(rep *Report) string {
	var buf [320]byte
	p := append(append(buf[:0], rep.GroupFP...), 0)
	p = append(append(p, rep.SourceFile...), 0)
	p = append(strconv.AppendInt(p, int64(rep.Line), 10), 0)
	p = append(strconv.AppendInt(p, int64(rep.Column), 10), 0)
	if rep.Sample == "" {
		p = append(p, emptySHA256...)
	} else {
		sum := sha256.Sum256([]byte(rep.Sample))
		p = hex.AppendEncode(p, sum[:])
	}
	return sumHex(append(p, 0))
}

// emptySHA256 is hashHex("").
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func sumHex(p []byte) string {
	sum := sha256.Sum256(p)
	var h [32]byte
	hex.Encode(h[:], sum[:16])
	return string(h[:])
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// A policyHashes remembers the hashes of the policies a receiver is sent:
// a site has a handful, repeated in every report. It holds at most
// maxPolicies policies of at most maxCachedPolicy bytes, and starts over
// when full (a flood of forged policies only costs their hashing).
type policyHashes struct {
	m sync.Map // policy → hashHex(policy)
	n atomic.Int64
}

const (
	maxPolicies     = 64
	maxCachedPolicy = 4 << 10
)

// hash is hashHex(policy); c may be nil.
func (c *policyHashes) hash(policy string) string {
	if c == nil || len(policy) > maxCachedPolicy {
		return hashHex(policy)
	}
	if h, ok := c.m.Load(policy); ok {
		return h.(string)
	}
	h := hashHex(policy)
	if c.n.Add(1) > maxPolicies {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(strings.Clone(policy), h)
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }

// reqInfo is what normalisation takes from the request.
type reqInfo struct {
	receivedAt  time.Time
	userAgent   string
	client      string
	version     string
	disposition string
	keepQuery   bool
	hashes      *policyHashes // nil: no cache
}

// normalize turns a raw CSP report into a Report, with its fingerprints.
// It returns the parsed blocked, document and source values for filters.
func normalize(r *wire.Report, in *reqInfo) (Report, parsedURL, parsedURL, parsedURL) {
	blocked := parseValue(r.Blocked, in.keepQuery)
	doc := parseValue(r.Document, in.keepQuery)
	src := parseValue(r.SourceFile, in.keepQuery)
	ref := parseValue(r.Referrer, in.keepQuery)
	age := time.Duration(r.Age) * time.Millisecond
	occurred := in.receivedAt.Add(-min(age, maxAge))
	rep := Report{
		Format:        r.Format,
		Directive:     directive(r.Effective, r.Violated),
		Disposition:   disposition(r.Disposition, in.disposition),
		BlockedKind:   blocked.kind,
		BlockedOrigin: blocked.origin,
		Blocked:       blocked.value,
		DocumentURL:   doc.value,
		Referrer:      ref.value,
		SourceFile:    src.value,
		Line:          r.Line,
		Column:        r.Column,
		StatusCode:    r.Status,
		Sample:        clean(r.Sample, MaxSampleLen),
		Policy:        clean(r.Policy, MaxPolicyLen),
		PolicyVersion: in.version,
		UserAgent:     clean(cmp.Or(r.UserAgent, in.userAgent), MaxUALen),
		ClientPrefix:  in.client,
		ReceivedAt:    in.receivedAt,
		OccurredAt:    occurred,
	}
	if doc.kind == "url" {
		rep.DocumentOrigin, rep.DocumentPath = doc.origin, templatePath(doc.path)
	} else {
		rep.DocumentOrigin = doc.origin
	}
	if rep.Policy != "" {
		rep.PolicyHash = in.hashes.hash(rep.Policy)
	}
	rep.GroupFP = groupFP(&rep)
	rep.DetailFP = detailFP(&rep)
	return rep, blocked, doc, src
}

// browserFamily is the coarse browser family of a User-Agent, as the
// summary counts them: "Edge", "Opera", "Samsung Internet", "Firefox",
// "Chrome" (Chromium and the others built on it), "Safari", "bot",
// "other", or "unknown" for an empty User-Agent. The User-Agent is
// attacker-controlled: the family is a hint, not a fact.
func browserFamily(ua string) string {
	switch {
	case ua == "":
		return "unknown"
	case strings.Contains(ua, "Edg/") || strings.Contains(ua, "EdgA/") || strings.Contains(ua, "EdgiOS/"):
		return "Edge"
	case strings.Contains(ua, "OPR/") || strings.Contains(ua, "Opera"):
		return "Opera"
	case strings.Contains(ua, "SamsungBrowser/"):
		return "Samsung Internet"
	case strings.Contains(ua, "Firefox/") || strings.Contains(ua, "FxiOS/"):
		return "Firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "CriOS/") || strings.Contains(ua, "Chromium/"):
		return "Chrome"
	case strings.Contains(ua, "Safari/") || strings.Contains(ua, "AppleWebKit/"):
		return "Safari"
	}
	l := strings.ToLower(ua)
	if strings.Contains(l, "bot") || strings.Contains(l, "crawl") || strings.Contains(l, "spider") {
		return "bot"
	}
	return "other"
}
