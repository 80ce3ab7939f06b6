package csp

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"strings"
)

// A Source is one source expression or token of a directive's value, in
// its serialized form: "'self'", "https:", "cdn.example.com",
// "'sha256-…'", a sandbox token such as "allow-scripts", a Trusted Types
// policy name. Write keywords with the constants below, hosts with [Host],
// schemes with [Scheme], hashes with [SHA256] (or [SHA384], [SHA512]) and
// the per-response nonce with [NonceSource]. Every Source is checked by
// [New]: a value that is not valid where it stands is an error, never
// silently sent.
type Source string

// The keyword sources (CSP Level 3), already quoted.
const (
	Self                   Source = "'self'"
	None                   Source = "'none'"
	UnsafeInline           Source = "'unsafe-inline'"
	UnsafeEval             Source = "'unsafe-eval'"
	UnsafeHashes           Source = "'unsafe-hashes'"
	StrictDynamic          Source = "'strict-dynamic'"
	WasmUnsafeEval         Source = "'wasm-unsafe-eval'"
	ReportSample           Source = "'report-sample'"
	InlineSpeculationRules Source = "'inline-speculation-rules'"
	TrustedTypesEval       Source = "'trusted-types-eval'"
	// Any is the wildcard "*".
	Any Source = "*"
	// AllowDuplicates is the trusted-types keyword 'allow-duplicates'.
	AllowDuplicates Source = "'allow-duplicates'"
	// Script is the only value of require-trusted-types-for.
	Script Source = "'script'"
	// Allow and Block are the values of webrtc.
	Allow Source = "'allow'"
	Block Source = "'block'"
)

// NonceSource stands for the per-response nonce: the middleware replaces
// it with 'nonce-<value>' in every response, the same value in the
// enforced and the report-only policy. It is written "'nonce'" in a policy
// string ([Parse], [Raw]); "$NONCE", unrolled/secure's placeholder, is
// read as the same thing. It is valid in script-src, script-src-elem,
// style-src, style-src-elem and default-src: elsewhere browsers ignore
// nonces, and [New] says so.
const NonceSource Source = "'nonce'"

// Host returns a host-source: "cdn.example.com", "*.example.com",
// "https://cdn.example.com:443/js/". [New] checks its grammar, and
// refuses a scheme name alone (Host("data") would match a host named
// data, not data: URLs): write [Scheme]("data") for that.
func Host(h string) Source { return Source(h) }

// Scheme returns a scheme-source: Scheme("https") is "https:".
func Scheme(s string) Source { return Source(strings.TrimSuffix(s, ":") + ":") }

// Token returns a bare token: a sandbox flag ("allow-scripts"), a
// Trusted Types policy name, a report-to endpoint name, a report-uri.
func Token(s string) Source { return Source(s) }

// SHA256 returns the hash source of an inline script or style whose text
// is content (the bytes between the tags, exactly).
func SHA256(content []byte) Source {
	s := sha256.Sum256(content)
	return Source("'sha256-" + base64.StdEncoding.EncodeToString(s[:]) + "'")
}

// SHA384 is [SHA256] with SHA-384.
func SHA384(content []byte) Source {
	s := sha512.Sum384(content)
	return Source("'sha384-" + base64.StdEncoding.EncodeToString(s[:]) + "'")
}

// SHA512 is [SHA256] with SHA-512.
func SHA512(content []byte) Source {
	s := sha512.Sum512(content)
	return Source("'sha512-" + base64.StdEncoding.EncodeToString(s[:]) + "'")
}

// The directive names that [New] accepts. Names are ASCII
// case-insensitive; they are sent in lower case.
const (
	DefaultSrc              = "default-src"
	ChildSrc                = "child-src"
	ConnectSrc              = "connect-src"
	FontSrc                 = "font-src"
	FrameSrc                = "frame-src"
	FencedFrameSrc          = "fenced-frame-src"
	ImgSrc                  = "img-src"
	ManifestSrc             = "manifest-src"
	MediaSrc                = "media-src"
	ObjectSrc               = "object-src"
	ScriptSrc               = "script-src"
	ScriptSrcElem           = "script-src-elem"
	ScriptSrcAttr           = "script-src-attr"
	StyleSrc                = "style-src"
	StyleSrcElem            = "style-src-elem"
	StyleSrcAttr            = "style-src-attr"
	WorkerSrc               = "worker-src"
	BaseURI                 = "base-uri"
	Sandbox                 = "sandbox"
	FormAction              = "form-action"
	FrameAncestors          = "frame-ancestors"
	WebRTC                  = "webrtc"
	ReportTo                = "report-to"
	ReportURI               = "report-uri"
	UpgradeInsecureRequests = "upgrade-insecure-requests"
	TrustedTypes            = "trusted-types"
	RequireTrustedTypesFor  = "require-trusted-types-for"
	// Deprecated directives: accepted, sent, and logged at startup
	// (csp.directive_deprecated).
	BlockAllMixedContent = "block-all-mixed-content"
	PluginTypes          = "plugin-types"
	PrefetchSrc          = "prefetch-src"
	NavigateTo           = "navigate-to"
)

// A Directive is one directive of a policy: its name and its value's
// sources, in order.
type Directive struct {
	// Name is the directive's name in lower case, best written with the
	// constants above (csp.ScriptSrc).
	Name string
	// Sources is the directive's value, in order; empty for a directive
	// that takes none (upgrade-insecure-requests, sandbox alone).
	Sources []Source
}

// Dir returns the directive name with sources: Dir(csp.ScriptSrc,
// csp.Self, csp.NonceSource).
func Dir(name string, sources ...Source) Directive {
	return Directive{Name: name, Sources: sources}
}

// A Policy is a Content-Security-Policy: its directives, in the order
// they are sent. Build one from [Directive] values, or from a string with
// [Raw] or [Parse]; [New] checks it either way.
type Policy []Directive

// String serializes p as a header value: directives joined by "; ",
// sources by spaces, [NonceSource] as "'nonce'" (the middleware puts the
// real nonce there). [Parse] reads the result back to the same policy.
func (p Policy) String() string {
	var b strings.Builder
	for i, d := range p {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Name)
		for _, s := range d.Sources {
			b.WriteByte(' ')
			b.WriteString(string(s))
		}
	}
	return b.String()
}

// Clone returns a deep copy of p.
func (p Policy) Clone() Policy {
	if p == nil {
		return nil
	}
	q := make(Policy, len(p))
	for i, d := range p {
		q[i] = Directive{Name: d.Name, Sources: append([]Source(nil), d.Sources...)}
	}
	return q
}

// Raw splits a policy string into directives without checking it, so
// that a policy kept as a string can go in a [Config]; [New] then holds it
// to the same checks as a typed one. Directives are separated by ";",
// tokens by spaces or tabs only: a CR, LF or "," stays inside its token,
// where [New] rejects it. Names are lower-cased; "$NONCE" (unrolled/secure's
// placeholder) becomes [NonceSource]. Empty directives are skipped.
func Raw(s string) Policy {
	var p Policy
	for part := range strings.SplitSeq(s, ";") {
		f := fields(part)
		if len(f) == 0 {
			continue
		}
		d := Directive{Name: strings.ToLower(f[0])}
		for _, t := range f[1:] {
			if t == "$NONCE" {
				t = string(NonceSource)
			}
			d.Sources = append(d.Sources, Source(t))
		}
		p = append(p, d)
	}
	return p
}

// fields splits s on spaces and tabs (the CSP's RWS), nothing else.
func fields(s string) []string {
	var out []string
	for t := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ' ' || r == '\t' }) {
		out = append(out, t)
	}
	return out
}

// Parse reads a policy string as [Raw] does and checks it as [New] would
// check it in Config.Enforce (without the startup lints).
func Parse(s string) (Policy, error) {
	p := Raw(s)
	if err := p.check("policy"); err != nil {
		return nil, err
	}
	return p, nil
}

// MustParse is [Parse] that panics on an error, for policies written in
// the program's source.
func MustParse(s string) Policy {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Strict returns the default policy, the one a zero [Config] enforces: a
// strict nonce-based policy (https://csp.withgoogle.com/docs/strict-csp.html)
// with 'strict-dynamic', where 'unsafe-inline' and https: are only the
// fallbacks that old browsers read (a browser that knows nonces ignores
// them), plus framing, base and form restrictions.
//
//	default-src 'self'; script-src 'nonce' 'strict-dynamic' 'unsafe-inline' https:;
//	style-src 'self' 'nonce'; object-src 'none'; base-uri 'none';
//	frame-ancestors 'self'; form-action 'self'
func Strict() Policy {
	return Policy{
		Dir(DefaultSrc, Self),
		Dir(ScriptSrc, NonceSource, StrictDynamic, UnsafeInline, Scheme("https")),
		Dir(StyleSrc, Self, NonceSource),
		Dir(ObjectSrc, None),
		Dir(BaseURI, None),
		Dir(FrameAncestors, Self),
		Dir(FormAction, Self),
	}
}

// find returns the index of the directive named name, or -1.
func (p Policy) find(name string) int {
	for i, d := range p {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// has reports whether the directive at i holds s.
func (d Directive) has(s Source) bool {
	for _, x := range d.Sources {
		if x == s {
			return true
		}
	}
	return false
}
