package csp

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// kind is what a directive's value may hold.
type kind uint8

const (
	kindSources      kind = iota // a source list: keywords, hosts, schemes, nonce, hashes
	kindNavSource                // base-uri, form-action: 'self', 'none', hosts, schemes
	kindAncestors                // frame-ancestors: the same
	kindSandbox                  // sandbox flags
	kindReportTo                 // exactly one endpoint name
	kindURIs                     // report-uri: one or more URI references
	kindEmpty                    // no value
	kindTrustedTypes             // policy names, 'none', 'allow-duplicates', *
	kindRTTF                     // 'script'
	kindWebRTC                   // 'allow' or 'block'
	kindPluginTypes              // MIME types
)

type directiveInfo struct {
	kind       kind
	fetch      bool   // a fetch directive (falls back to default-src)
	nonce      bool   // nonces and hashes mean something here
	deprecated string // why it is deprecated, or ""
}

var directives = map[string]directiveInfo{
	DefaultSrc:              {kind: kindSources, nonce: true},
	ChildSrc:                {kind: kindSources, fetch: true},
	ConnectSrc:              {kind: kindSources, fetch: true},
	FontSrc:                 {kind: kindSources, fetch: true},
	FrameSrc:                {kind: kindSources, fetch: true},
	FencedFrameSrc:          {kind: kindSources, fetch: true},
	ImgSrc:                  {kind: kindSources, fetch: true},
	ManifestSrc:             {kind: kindSources, fetch: true},
	MediaSrc:                {kind: kindSources, fetch: true},
	ObjectSrc:               {kind: kindSources, fetch: true},
	ScriptSrc:               {kind: kindSources, fetch: true, nonce: true},
	ScriptSrcElem:           {kind: kindSources, fetch: true, nonce: true},
	ScriptSrcAttr:           {kind: kindSources, fetch: true},
	StyleSrc:                {kind: kindSources, fetch: true, nonce: true},
	StyleSrcElem:            {kind: kindSources, fetch: true, nonce: true},
	StyleSrcAttr:            {kind: kindSources, fetch: true},
	WorkerSrc:               {kind: kindSources, fetch: true},
	BaseURI:                 {kind: kindNavSource},
	FormAction:              {kind: kindNavSource},
	FrameAncestors:          {kind: kindAncestors},
	Sandbox:                 {kind: kindSandbox},
	WebRTC:                  {kind: kindWebRTC},
	ReportTo:                {kind: kindReportTo},
	ReportURI:               {kind: kindURIs},
	UpgradeInsecureRequests: {kind: kindEmpty},
	TrustedTypes:            {kind: kindTrustedTypes},
	RequireTrustedTypesFor:  {kind: kindRTTF},
	BlockAllMixedContent:    {kind: kindEmpty, deprecated: "block-all-mixed-content is deprecated: browsers block mixed content already; use upgrade-insecure-requests"},
	PluginTypes:             {kind: kindPluginTypes, deprecated: "plugin-types was removed from CSP: browsers have no plugins; use object-src 'none'"},
	PrefetchSrc:             {kind: kindSources, deprecated: "prefetch-src was removed from CSP; default-src does not cover prefetches either"},
	NavigateTo:              {kind: kindSources, deprecated: "navigate-to was removed from CSP and no browser enforces it"},
}

// removed are directive names that no browser reads any more; they are
// rejected with a hint rather than as unknown.
var removed = map[string]string{
	"referrer":        "send the Referrer-Policy header instead (package referrer)",
	"reflected-xss":   "delete it: X-XSS-Protection is gone and so is this",
	"require-sri-for": "delete it: no browser enforces it",
	"disown-opener":   "send Cross-Origin-Opener-Policy instead",
}

// keywords are the source keywords that must be single-quoted, without
// their quotes.
var keywords = map[string]bool{
	"self": true, "none": true, "unsafe-inline": true, "unsafe-eval": true,
	"strict-dynamic": true, "unsafe-hashes": true, "wasm-unsafe-eval": true,
	"report-sample": true, "inline-speculation-rules": true, "trusted-types-eval": true,
	"report-sha256": true, "report-sha384": true, "report-sha512": true,
	"unsafe-allow-redirects": true, "unsafe-webtransport-hashes": true,
	"allow-duplicates": true, "script": true, "allow": true, "block": true,
	"nonce": true,
}

// sourceKeywords are the quoted keywords a source list may hold.
var sourceKeywords = map[Source]bool{
	Self: true, None: true, UnsafeInline: true, UnsafeEval: true,
	StrictDynamic: true, UnsafeHashes: true, WasmUnsafeEval: true,
	ReportSample: true, InlineSpeculationRules: true, TrustedTypesEval: true,
	"'report-sha256'": true, "'report-sha384'": true, "'report-sha512'": true,
	"'unsafe-allow-redirects'": true, "'unsafe-webtransport-hashes'": true,
}

// schemes are the schemes a browser loads from, by name without the colon.
// Each is also a valid host name, so "data" where "data:" was meant would
// be read as a host and match nothing: [checkSource] refuses them as hosts.
// A host really named so is written with its scheme ("https://data").
var schemes = map[string]bool{
	"http": true, "https": true, "ws": true, "wss": true,
	"data": true, "blob": true, "filesystem": true, "mediastream": true,
	"file": true, "ftp": true,
}

var (
	schemeRE    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.\-]*:$`)
	hostRE      = regexp.MustCompile(`^(?:[a-zA-Z][a-zA-Z0-9+.\-]*://)?(?:\*|(?:\*\.)?[a-zA-Z0-9\-]+(?:\.[a-zA-Z0-9\-]+)*)(?::(?:[0-9]+|\*))?(?:/[^;,]*)?$`)
	tokenRE     = regexp.MustCompile(`^[a-zA-Z0-9_\-]+$`)
	sandboxRE   = regexp.MustCompile(`^allow-[a-z\-]+$`)
	ttNameRE    = regexp.MustCompile(`^[a-zA-Z0-9\-#=_/@.%]+$`)
	mimeRE      = regexp.MustCompile(`^[a-zA-Z0-9!#$&^_.+\-]+/[a-zA-Z0-9!#$&^_.+\-]+$`)
	directiveRE = regexp.MustCompile(`^[a-z0-9\-]+$`)
)

var hashLen = map[string]int{"sha256": 32, "sha384": 48, "sha512": 64}

// check reports the first thing in p that a browser would misread or that
// lets a value inject directives. where names the Config field.
func (p Policy) check(where string) error {
	seen := make(map[string]bool, len(p))
	for _, d := range p {
		name := strings.ToLower(d.Name)
		if err := checkChars(where, "directive name", d.Name); err != nil {
			return err
		}
		if name != d.Name {
			return fmt.Errorf("csp: %s: directive %q: write directive names in lower case: %q", where, d.Name, name)
		}
		if !directiveRE.MatchString(name) {
			return fmt.Errorf("csp: %s: %q is not a directive name; write names such as \"script-src\" with their sources in Sources", where, d.Name)
		}
		if hint, ok := removed[name]; ok {
			return fmt.Errorf("csp: %s: %s is not part of CSP any more: %s", where, name, hint)
		}
		info, ok := directives[name]
		if !ok {
			return fmt.Errorf("csp: %s: unknown directive %q: write one of the CSP Level 3 directives (%s)%s", where, name, knownNames(), suggest(name))
		}
		if seen[name] {
			return fmt.Errorf("csp: %s: %s appears twice; browsers read only the first: write all its sources in one directive", where, name)
		}
		seen[name] = true
		if err := checkValue(where, name, info, d.Sources); err != nil {
			return err
		}
	}
	return nil
}

func knownNames() string {
	return "default-src, script-src, style-src, img-src, connect-src, font-src, object-src, base-uri, form-action, frame-ancestors, sandbox, report-to, …"
}

// suggest returns "; did you mean …?" for a name that is one slip away from
// a directive: "_" for "-", a missing "-src", "-source" for "-src", or up to
// two letters changed, added, removed or swapped ("scripts-src",
// "img-scr"). Deprecated directives are not suggested.
func suggest(name string) string {
	n := strings.ReplaceAll(strings.ReplaceAll(name, "_", "-"), " ", "-")
	for _, c := range []string{n, n + "-src", strings.TrimSuffix(n, "-source") + "-src"} {
		if info, ok := directives[c]; ok && c != name && info.deprecated == "" {
			return fmt.Sprintf("; did you mean %q?", c)
		}
	}
	best, bestD := "", 3
	for c, info := range directives {
		if info.deprecated != "" {
			continue
		}
		if d := distance(n, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// distance is the optimal string alignment distance of a and b: letters
// changed, added, removed, or two neighbours swapped, each counting one.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return len(a) + len(b)
	}
	// d[i][j] is the distance of a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// checkChars rejects what can break out of a value or the header: ";" ",",
// CR, LF and other controls, spaces, non-ASCII.
func checkChars(where, what, v string) error {
	if v == "" {
		return fmt.Errorf("csp: %s: empty %s; remove it", where, what)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		var bad string
		switch {
		case c == ';':
			bad = `";"`
		case c == ',':
			bad = `","`
		case c == '\r':
			bad = "CR"
		case c == '\n':
			bad = "LF"
		case c == ' ' || c == '\t':
			bad = "a space"
		case c < 0x20 || c == 0x7f:
			bad = "a control character"
		case c >= 0x80:
			bad = "non-ASCII"
		}
		if bad != "" {
			return fmt.Errorf("csp: %s: %s %q contains %s; a value cannot hold \";\", \",\", CR, LF, spaces or non-ASCII: give each source as its own Source, and write internationalized hosts in Punycode", where, what, v, bad)
		}
	}
	return nil
}

func checkValue(where, name string, info directiveInfo, srcs []Source) error {
	at := where + ": " + name
	for _, s := range srcs {
		if err := checkChars(at, "value", string(s)); err != nil {
			return err
		}
		v := string(s)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			return fmt.Errorf("csp: %s: %s uses double quotes; CSP keywords take single quotes: write \"'%s'\"", at, v, v[1:len(v)-1])
		}
		if info.kind != kindReportTo && info.kind != kindURIs {
			lv := strings.ToLower(v)
			if keywords[lv] || strings.HasPrefix(lv, "nonce-") || strings.HasPrefix(lv, "sha256-") || strings.HasPrefix(lv, "sha384-") || strings.HasPrefix(lv, "sha512-") {
				return fmt.Errorf("csp: %s: %q must be quoted: write \"'%s'\" (unquoted, it is read as a host named %q)", at, v, lv, v)
			}
		}
		if s == None && len(srcs) > 1 {
			return fmt.Errorf("csp: %s: 'none' must be alone in its directive; remove 'none' or the other sources", at)
		}
	}
	switch info.kind {
	case kindEmpty:
		if len(srcs) > 0 {
			return fmt.Errorf("csp: %s takes no value; write it alone, without %q", at, srcs[0])
		}
	case kindReportTo:
		if len(srcs) != 1 {
			return fmt.Errorf("csp: %s: report-to takes exactly one endpoint name, got %d; name one endpoint in Reporting-Endpoints (Config.Reporting does it)", at, len(srcs))
		}
		if !tokenRE.MatchString(string(srcs[0])) {
			return fmt.Errorf("csp: %s: %q is not an endpoint name; write letters, digits, \"-\" or \"_\"", at, srcs[0])
		}
	case kindURIs:
		if len(srcs) == 0 {
			return fmt.Errorf("csp: %s needs a URI; write a path such as \"/csp-report\", or use Config.Reporting", at)
		}
		for _, s := range srcs {
			if strings.ContainsAny(string(s), `"'<>\`) {
				return fmt.Errorf("csp: %s: %q is not a URI reference; write a path or an https URL without quotes", at, s)
			}
			// A relative URL is resolved against each page's own URL, so
			// reports would go to a different place from every page.
			if lv := strings.ToLower(string(s)); s[0] != '/' && !strings.HasPrefix(lv, "https://") && !strings.HasPrefix(lv, "http://") {
				return fmt.Errorf("csp: %s: %q is a relative URL, read from each page's own path: write %q, or an https URL", at, s, "/"+strings.TrimPrefix(string(s), "./"))
			}
		}
	case kindSandbox:
		for _, s := range srcs {
			if !sandboxRE.MatchString(string(s)) {
				return fmt.Errorf("csp: %s: %q is not a sandbox flag; write flags such as \"allow-scripts\" \"allow-forms\", or nothing for the strictest sandbox", at, s)
			}
		}
	case kindWebRTC:
		if len(srcs) != 1 || (srcs[0] != Allow && srcs[0] != Block) {
			return fmt.Errorf("csp: %s takes exactly one of 'allow' or 'block'", at)
		}
	case kindRTTF:
		if len(srcs) != 1 || srcs[0] != Script {
			return fmt.Errorf("csp: %s takes exactly 'script'", at)
		}
	case kindTrustedTypes:
		for _, s := range srcs {
			if s == None || s == AllowDuplicates || s == Any {
				continue
			}
			if s[0] == '\'' {
				return fmt.Errorf("csp: %s: %s is not a trusted-types keyword; write 'none', 'allow-duplicates', * or policy names", at, s)
			}
			if !ttNameRE.MatchString(string(s)) {
				return fmt.Errorf("csp: %s: %q is not a policy name; write letters, digits and -#=_/@.%%", at, s)
			}
		}
	case kindPluginTypes:
		for _, s := range srcs {
			if !mimeRE.MatchString(string(s)) {
				return fmt.Errorf("csp: %s: %q is not a MIME type", at, s)
			}
		}
	case kindSources, kindNavSource, kindAncestors:
		for _, s := range srcs {
			if err := checkSource(at, name, info, s); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkSource(at, name string, info directiveInfo, s Source) error {
	v := string(s)
	if v[0] == '\'' {
		if len(v) < 3 || v[len(v)-1] != '\'' {
			return fmt.Errorf("csp: %s: %q has an unbalanced quote: write %q", at, v, "'"+strings.Trim(v, "'")+"'")
		}
		inner := v[1 : len(v)-1]
		switch {
		case s == NonceSource:
			if !info.nonce {
				return fmt.Errorf("csp: %s: browsers ignore nonces in %s; put csp.NonceSource in script-src, script-src-elem, style-src or style-src-elem", at, name)
			}
			return nil
		case strings.HasPrefix(inner, "nonce-"):
			return fmt.Errorf("csp: %s: a fixed nonce %s defeats the nonce: write csp.NonceSource (\"'nonce'\") and the middleware puts a fresh one in every response", at, v)
		case hashSource(inner):
			if !info.nonce && info.kind == kindSources && name != ScriptSrcAttr && name != StyleSrcAttr {
				return fmt.Errorf("csp: %s: browsers ignore hashes in %s; put them in script-src or style-src", at, name)
			}
			return checkHash(at, inner)
		}
		if lv := Source(strings.ToLower(v)); lv != s && (sourceKeywords[lv] || lv == NonceSource) {
			return fmt.Errorf("csp: %s: %q is a keyword in upper case: write %q", at, v, lv)
		}
		if !sourceKeywords[s] {
			// Quotes are for keywords, nonces and hashes only: a quoted
			// scheme or host is read as an unknown keyword and matches
			// nothing.
			switch {
			case schemeRE.MatchString(inner):
				return fmt.Errorf("csp: %s: %q is a scheme in quotes: write %q without quotes", at, v, inner)
			case strings.ContainsAny(inner, ".:*") && hostRE.MatchString(inner):
				return fmt.Errorf("csp: %s: %q is a host in quotes: write %q without quotes", at, v, inner)
			}
		}
		if info.kind != kindSources {
			if s == Self || s == None {
				return nil
			}
			return fmt.Errorf("csp: %s: %s is not allowed in %s; write 'self', 'none', hosts or schemes", at, v, name)
		}
		if !sourceKeywords[s] {
			return fmt.Errorf("csp: %s: unknown keyword %s; write one of 'self', 'none', 'unsafe-inline', 'strict-dynamic', … or csp.NonceSource", at, v)
		}
		return nil
	}
	if v == "*" || schemeRE.MatchString(v) {
		return nil
	}
	lv := strings.ToLower(v)
	if schemes[lv] {
		return fmt.Errorf("csp: %s: %q is a scheme without its colon: write %q", at, v, lv+":")
	}
	if sch, ok := strings.CutSuffix(lv, "://"); ok && schemeRE.MatchString(sch+":") {
		return fmt.Errorf("csp: %s: %q has no host: write %q for every host on that scheme, or a host such as %q", at, v, sch+":", sch+"://cdn.example.com")
	}
	if strings.HasSuffix(v, "'") {
		return fmt.Errorf("csp: %s: %q has an unbalanced quote: write %q", at, v, "'"+strings.Trim(v, "'")+"'")
	}
	if hostRE.MatchString(v) {
		return nil
	}
	return fmt.Errorf("csp: %s: %q is not a host, scheme or keyword; write a host such as \"cdn.example.com\", a scheme such as \"https:\", or a quoted keyword such as \"'self'\"", at, v)
}

func hashSource(inner string) bool {
	alg, _, ok := strings.Cut(inner, "-")
	_, known := hashLen[alg]
	return ok && known
}

func checkHash(at, inner string) error {
	alg, b64, _ := strings.Cut(inner, "-")
	b64 = strings.NewReplacer("-", "+", "_", "/").Replace(b64)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
	}
	if err != nil || len(raw) != hashLen[alg] {
		return fmt.Errorf("csp: %s: '%s' is not a %s hash in base64; compute it with csp.%s", at, inner, alg, strings.ToUpper(alg))
	}
	return nil
}

// A lint is a weakness found in a valid policy, logged at startup.
type lint struct {
	deprecated bool
	directive  string
	reason     string
}

// lints returns the weaknesses of p (already checked). reportOnly says
// the policy is a report-only one; reports says it carries a reporting
// directive (its own or Config.Reporting's).
func (p Policy) lints(reportOnly, reports bool) []lint {
	var ls []lint
	for _, d := range p {
		if dep := directives[d.Name].deprecated; dep != "" {
			ls = append(ls, lint{true, d.Name, dep})
		}
	}
	if p.find(ReportURI) >= 0 && p.find(ReportTo) < 0 {
		ls = append(ls, lint{true, ReportURI, "report-uri alone is deprecated; add report-to and a Reporting-Endpoints header (Config.Reporting sends both)"})
	}
	script := ScriptSrc
	if p.find(ScriptSrc) < 0 {
		script = DefaultSrc
	}
	if i := p.find(script); i >= 0 {
		d := p[i]
		hasNonceOrHash := false
		for _, s := range d.Sources {
			if s == NonceSource || (len(s) > 2 && s[0] == '\'' && hashSource(string(s[1:len(s)-1]))) {
				hasNonceOrHash = true
			}
		}
		if d.has(UnsafeInline) && !hasNonceOrHash {
			ls = append(ls, lint{false, script, "'unsafe-inline' without a nonce or hash lets any injected inline script run"})
		}
		if d.has(UnsafeEval) {
			ls = append(ls, lint{false, script, "'unsafe-eval' lets injected strings run as code"})
		}
		if d.has(StrictDynamic) && !hasNonceOrHash {
			ls = append(ls, lint{false, script, "'strict-dynamic' without a nonce or hash blocks every script"})
		}
		if !d.has(StrictDynamic) {
			for _, s := range d.Sources {
				if s == Any || s == "https:" || s == "http:" || s == "data:" {
					ls = append(ls, lint{false, script, fmt.Sprintf("%s lets scripts load from anywhere it covers; use a nonce with 'strict-dynamic'", s)})
				}
			}
		}
	} else {
		ls = append(ls, lint{false, ScriptSrc, "no script-src nor default-src: any script may run"})
	}
	if p.find(ObjectSrc) < 0 {
		if i := p.find(DefaultSrc); i < 0 || !p[i].has(None) {
			ls = append(ls, lint{false, ObjectSrc, "missing: plugins may load; write object-src 'none'"})
		}
	}
	if p.find(BaseURI) < 0 {
		ls = append(ls, lint{false, BaseURI, "missing: an injected <base> can redirect relative scripts; write base-uri 'none' or 'self'"})
	}
	if reportOnly {
		for _, n := range []string{Sandbox, UpgradeInsecureRequests} {
			if p.find(n) >= 0 {
				ls = append(ls, lint{false, n, n + " is ignored in a report-only policy"})
			}
		}
		if !reports {
			ls = append(ls, lint{false, ReportTo, "a report-only policy without report-to or report-uri reports nothing; set Config.Reporting"})
		}
	}
	return ls
}
