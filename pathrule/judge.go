package pathrule

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Judge judges r against the rules of s. See the package documentation for
// the readings; see [Result.Allowed] and [Result.Denied] for the two uses.
//
// A clean ASCII path costs one ServeMux lookup and a scan of its bytes;
// other readings are looked up only when the path has characters that can
// make them differ (upper case, "%", "\", ";", "?", "#", non-ASCII, a
// trailing slash, dot or space). A Set whose rules have upper-case letters
// also looks every request up case-folded; so does a request whose host
// has upper case (when rules name hosts) or whose method has lower case
// (when rules name methods).
func (s *Set) Judge(r *http.Request) Result {
	if r == nil || r.URL == nil {
		return Result{Verdict: Reject, Reason: ReasonBadRequest}
	}
	esc, f, reason := scan(r.URL)
	dec := r.URL.Path
	if reason != "" {
		return Result{Verdict: Reject, Reason: reason}
	}
	h, _ := s.mux.Handler(r)
	mk, ok := h.(*marker)
	if !ok {
		return Result{Verdict: Reject, Reason: ReasonRedirect}
	}
	var pattern string
	if mk.rule != catchAll {
		pattern = s.rules[mk.rule]
	} else if len(s.regexps) > 0 {
		pattern, _ = s.matchRegexp(dec, false)
	}
	matched := pattern != ""
	if matched {
		f &^= fTrailingSlash // "/x/" read as "/x" only matters on a miss
	}
	if f != 0 || s.needsFold(r) {
		j := judgement{s: s, r: r, esc: esc, dec: dec, f: f, matched: matched}
		if reason, other := j.readings(); reason != "" {
			if pattern == "" {
				pattern = other
			}
			return Result{Verdict: Reject, Pattern: pattern, Reason: reason}
		}
	}
	if matched {
		return Result{Verdict: Match, Pattern: pattern, wild: mk.wild}
	}
	return Result{Verdict: NoMatch}
}

// WithPathValues returns r as the handler of the rule that res matched
// will see it: when res is a Match of a pattern with wildcards
// ("/tasks/{id}", "/files/{rest...}", "/p/{pid}/{$}"), a shallow copy of r
// whose PathValue returns what ServeMux gives that pattern's handler
// (r.PathValue("id") == "42" for "/tasks/42") and whose Pattern is the
// rule; otherwise r itself, at no cost. res must be s.Judge(r).
//
// It is for the code that decides about a request before the application's
// router sees it, such as an authorizer that needs the {id} of the route.
// The values are those of the rule's pattern: name its wildcards as the
// application's route does. The copy costs one more ServeMux lookup and
// two allocations; r itself is left as it is.
func (s *Set) WithPathValues(r *http.Request, res Result) *http.Request {
	if !res.wild || res.Verdict != Match {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	// ServeMux sets Pattern and the path values of the request it serves;
	// its handler here is the rule's marker, which does nothing.
	s.mux.ServeHTTP(noWriter{}, r2)
	return r2
}

// noWriter is the ResponseWriter of WithPathValues: a marker writes
// nothing, and ServeMux writes only when it redirects, which a Match rules
// out.
type noWriter struct{}

func (noWriter) Header() http.Header         { return http.Header{} }
func (noWriter) Write(b []byte) (int, error) { return len(b), nil }
func (noWriter) WriteHeader(int)             {}

// Allows reports whether r may pass when s is an allow list: only on an
// unambiguous Match. It is s.Judge(r).Allowed().
func (s *Set) Allows(r *http.Request) bool { return s.Judge(r).Allowed() }

// Denies reports whether r must be refused when s is a deny list: on a
// Match or a Reject. It is s.Judge(r).Denied().
func (s *Set) Denies(r *http.Request) bool { return s.Judge(r).Denied() }

// needsFold reports whether r must be looked up case-folded even though
// its path has no upper case.
func (s *Set) needsFold(r *http.Request) bool {
	return s.foldAlways || (s.hasMethods && hasLower(r.Method)) || (s.hasHosts && hasUpper(r.Host))
}

// matchRegexp returns the first regexp rule that matches the clean path p,
// Django style: from the start of p without its leading "/".
func (s *Set) matchRegexp(p string, fold bool) (string, bool) {
	subject := strings.TrimLeft(p, "/")
	for _, rr := range s.regexps {
		re := rr.re
		if fold {
			re = rr.fold
		}
		if re.MatchString(subject) {
			return s.rules[rr.rule], true
		}
	}
	return "", false
}

// scratch is a request to look a reading up with, reused to avoid
// allocating one per reading.
type scratch struct {
	req http.Request
	url url.URL
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// lookup reports the rule that a request like r, with path p (decoded,
// clean or not), would be routed to, if any. With fold, the method is
// compared in upper case and the host and p in lower case.
func (s *Set) lookup(r *http.Request, p string, fold bool) (string, bool) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.url = url.URL{Path: p}
	sc.req = http.Request{Method: r.Method, Host: r.Host, URL: &sc.url}
	muxes := []*http.ServeMux{s.mux}
	if fold {
		sc.req.Method = strings.ToUpper(r.Method)
		sc.req.Host = lower(r.Host)
		sc.url.Path = lower(p)
		muxes = s.fold
	}
	for _, m := range muxes {
		h, _ := m.Handler(&sc.req)
		if mk, ok := h.(*marker); ok && mk.rule != catchAll {
			return s.rules[mk.rule], true
		}
	}
	if len(s.regexps) > 0 {
		return s.matchRegexp(sc.url.Path, fold)
	}
	return "", false
}

// judgement holds what the readings of one request share.
type judgement struct {
	s        *Set
	r        *http.Request
	esc, dec string
	f        features
	matched  bool // the ServeMux reading

	full   string // dec decoded until nothing changes
	fullOK bool   // full converged within maxDecodes
}

// A readingKind is one way of reading the path that can reach another
// rule than ServeMux's reading; readings are tried in this order.
type readingKind uint8

const (
	rEncodedSlash   readingKind = iota // decoded once: "%2F" splits
	rDoubleEncoding                    // decoded until nothing changes
	rBackslash                         // "\" as "/"
	rBackslashFull                     // decoded until nothing changes, "\" as "/"
	rPathParamRaw                      // ";…" stripped before decoding (Tomcat)
	rPathParam                         // ";…" stripped after decoding
	rNUL                               // decoded until nothing changes, cut at NUL
	rOverlong                          // overlong UTF-8 read as ASCII
	rQuery                             // cut at "?" or "#"
	rNFKC                              // compatibility forms read as ASCII
	rTrimDotSpace                      // trailing dots and spaces trimmed
	rRFC3986Dots                       // decoded until nothing changes, RFC 3986 dots
	rCombined                          // all of the above at once
	numReadings
)

var readingReason = [numReadings]string{
	rEncodedSlash:   ReasonEncodedSlash,
	rDoubleEncoding: ReasonDoubleEncoding,
	rBackslash:      ReasonBackslash,
	rBackslashFull:  ReasonBackslash,
	rPathParamRaw:   ReasonPathParam,
	rPathParam:      ReasonPathParam,
	rNUL:            ReasonNUL,
	rOverlong:       ReasonOverlongUTF8,
	rQuery:          ReasonQueryInPath,
	rNFKC:           ReasonNFKC,
	rTrimDotSpace:   ReasonTrailingDotSpace,
	rRFC3986Dots:    ReasonRFC3986Dots,
	rCombined:       ReasonCombined,
}

// applies reports whether reading k can differ from ServeMux's: whether
// the characters it reads differently are in the path.
func (j *judgement) applies(k readingKind) bool {
	f, dec, full := j.f, j.dec, j.full
	switch k {
	case rEncodedSlash:
		return f&fEncodedSlash != 0
	case rDoubleEncoding:
		return f&fPercent != 0
	case rBackslash:
		return f&fBackslash != 0
	case rBackslashFull:
		return full != dec && strings.IndexByte(full, '\\') >= 0
	case rPathParamRaw:
		return strings.IndexByte(j.esc, ';') >= 0
	case rPathParam:
		return f&fSemicolon != 0
	case rNUL:
		return strings.IndexByte(full, 0) >= 0
	case rOverlong, rNFKC:
		return f&fNonASCII != 0
	case rQuery:
		return f&fQuery != 0
	case rTrimDotSpace:
		return f&fDot != 0
	case rRFC3986Dots:
		return full != dec
	case rCombined:
		return f&(fPercent|fBackslash|fSemicolon|fNonASCII|fQuery|fDot) != 0
	}
	return false
}

// path returns the path reading k gives, and whether it is known (false:
// decoding did not settle within maxDecodes).
func (j *judgement) path(k readingKind) (p string, known bool) {
	dec, full := j.dec, j.full
	switch k {
	case rEncodedSlash:
		return dec, true
	case rDoubleEncoding:
		return cleanPath(full), j.fullOK
	case rBackslash:
		return cleanPath(slashes(dec)), true
	case rBackslashFull:
		return cleanPath(slashes(full)), j.fullOK
	case rPathParamRaw:
		return cleanPath(unescapeOnce(stripParams(j.esc))), true
	case rPathParam:
		return cleanPath(stripParams(dec)), true
	case rNUL:
		return cleanPath(cutAt(full, "\x00")), j.fullOK
	case rOverlong:
		return cleanPath(overlong(dec)), true
	case rQuery:
		return cleanPath(cutAt(dec, "?#")), true
	case rNFKC:
		return cleanPath(nfkc(dec)), true
	case rTrimDotSpace:
		return cleanPath(trimDotSpace(dec)), true
	case rRFC3986Dots:
		return removeDotSegments(full), j.fullOK
	case rCombined:
		p := nfkc(overlong(full))
		p = cutAt(p, "\x00?#")
		p = trimDotSpace(stripParams(slashes(p)))
		return cleanPath(p), j.fullOK
	}
	return "", false
}

// readings judges the request under every reading its characters can make
// differ from ServeMux's. It returns the reason naming the first reading
// that disagrees with j.matched, and the rule that reading matched, if any;
// or "" when all agree.
func (j *judgement) readings() (reason, pattern string) {
	f, dec := j.f, j.dec
	j.full, j.fullOK = dec, true
	if f&fPercent != 0 {
		j.full, j.fullOK = decodeAll(dec)
	}
	for k := range numReadings {
		if !j.applies(k) {
			continue
		}
		p, known := j.path(k)
		switch {
		case !known:
			return readingReason[k], ""
		case p == dec && k != rEncodedSlash:
			// The same path as ServeMux's reading: when "%2F" made them
			// differ, rEncodedSlash has compared them already.
			continue
		}
		if pat, ok := j.s.lookup(j.r, p, false); ok != j.matched {
			return readingReason[k], pat
		}
	}
	// case-fold and trailing-slash compare with other rules, not other paths.
	if f&(fUpper|fNonASCII) != 0 || j.s.needsFold(j.r) {
		if pat, ok := j.s.lookup(j.r, dec, true); ok != j.matched {
			return ReasonCaseFold, pat
		}
	}
	if f&fTrailingSlash != 0 && !j.matched {
		if pat, ok := j.s.lookup(j.r, dec[:len(dec)-1], false); ok {
			return ReasonTrailingSlash, pat
		}
	}
	return "", ""
}
