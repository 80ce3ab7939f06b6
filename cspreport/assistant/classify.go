package assistant

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
)

// extensionSchemes are the schemes of browser extensions: what they load
// or inject is the user's, never the site's (Sentry's and Nelmio's
// lists).
var extensionSchemes = map[string]bool{
	"chrome-extension": true, "moz-extension": true, "safari-extension": true,
	"safari-web-extension": true, "ms-browser-extension": true, "extension": true,
}

// internalSchemes are browser-internal or app-embedded schemes: a page of
// the site never needs them.
var internalSchemes = map[string]bool{
	"about": true, "chrome": true, "chrome-search": true, "edge": true, "resource": true,
	"jar": true, "view-source": true, "moz-icon": true, "webviewprogressproxy": true,
	"webviewprogress": true, "mbinit": true, "symres": true, "tmtbff": true, "gsa": true,
	"ms-appx": true, "ms-appx-web": true, "mx": true, "mxaddon-pkg": true, "sinaweibo": true,
	"chromeinvoke": true, "chromenull": true, "safari-resource": true,
}

// riskyDirectives are where a bare scheme would let an attacker's
// script in (CSP Evaluator's high findings): never suggested there.
var riskyDirectives = map[string]bool{
	"script-src": true, "script-src-elem": true, "script-src-attr": true, "worker-src": true,
	"object-src": true, "base-uri": true, "default-src": true,
}

// maxSample is the length at which browsers cut a violation sample: a
// shorter sample is the whole inline code, so its hash allows it.
const maxSample = 40

// item is one (directive, source, reason) that a group shows.
type item struct{ directive, source, reason string }

// classify returns what group g, with its details ds, tells about the
// sources of document origin origin.
func classify(origin string, g *cspreport.Group, ds []cspreport.Detail) []item {
	d := g.Directive
	one := func(source, reason string) []item { return []item{{d, source, reason}} }
	if g.Muted {
		return one(sourceOf(g), ReasonMuted)
	}
	if !strings.HasPrefix(origin, "https://") && !strings.HasPrefix(origin, "http://") {
		return one(sourceOf(g), ReasonBrowserInternal)
	}
	if extensionSchemes[schemeOf(g.ExampleSource)] || slices.ContainsFunc(ds, func(x cspreport.Detail) bool {
		return extensionSchemes[schemeOf(x.SourceFile)]
	}) {
		return one(sourceOf(g), ReasonExtension)
	}
	switch g.BlockedKind {
	case "url":
		u, err := url.Parse(g.BlockedOrigin)
		if err != nil || u.Host == "" {
			return one(g.BlockedOrigin, ReasonNotASource)
		}
		s := strings.ToLower(u.Scheme)
		switch {
		case extensionSchemes[s]:
			return one(s+":", ReasonExtension)
		case internalSchemes[s]:
			return one(s+":", ReasonBrowserInternal)
		case strings.EqualFold(g.BlockedOrigin, origin):
			return one(string(csp.Self), "")
		case private(u.Hostname()) && !private(hostOf(origin)):
			return one(strings.ToLower(g.BlockedOrigin), ReasonPrivateAddress)
		}
		return one(strings.ToLower(g.BlockedOrigin), "")
	case "scheme":
		s := strings.ToLower(strings.TrimSuffix(g.BlockedOrigin, ":"))
		switch {
		case extensionSchemes[s]:
			return one(s+":", ReasonExtension)
		case internalSchemes[s]:
			return one(s+":", ReasonBrowserInternal)
		case riskyDirectives[d]:
			return one(s+":", ReasonUnsafeSource)
		}
		return one(s+":", "")
	case "self":
		return one(string(csp.Self), "")
	case "eval":
		return one(string(csp.UnsafeEval), ReasonEval)
	case "wasm-eval":
		return one(string(csp.WasmUnsafeEval), ReasonEval)
	case "inline":
		if strings.HasSuffix(d, "-attr") {
			return one(string(csp.UnsafeInline), ReasonInlineAttribute)
		}
		var out []item
		for _, x := range ds {
			it := item{d, string(csp.UnsafeInline), ReasonInlineNoSample}
			if n := utf8.RuneCountInString(x.Sample); n > 0 && n < maxSample {
				it = item{d, string(csp.SHA256([]byte(x.Sample))), ""}
			}
			if !slices.Contains(out, it) {
				out = append(out, it)
			}
		}
		if len(out) == 0 {
			return one(string(csp.UnsafeInline), ReasonInlineNoSample)
		}
		return out
	}
	return one(sourceOf(g), ReasonNotASource)
}

// ReasonUnsafeSource: a bare scheme (data:, blob:, https:) in a script
// directive, object-src, base-uri or default-src, where it would let any
// script in; allow the one resource another way.
const ReasonUnsafeSource = "unsafe-source"

// sourceOf is what a suspicious group shows as its source.
func sourceOf(g *cspreport.Group) string {
	switch g.BlockedKind {
	case "url":
		return strings.ToLower(g.BlockedOrigin)
	case "scheme":
		return strings.ToLower(strings.TrimSuffix(g.BlockedOrigin, ":")) + ":"
	case "inline":
		return string(csp.UnsafeInline)
	case "eval":
		return string(csp.UnsafeEval)
	case "self":
		return string(csp.Self)
	}
	if g.BlockedOrigin != "" {
		return g.BlockedOrigin
	}
	return g.BlockedKind
}

// schemeOf is the lower-case scheme of a URL or of a bare scheme ("moz-extension").
func schemeOf(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 {
		return strings.ToLower(s[:i])
	}
	return strings.ToLower(s)
}

func hostOf(origin string) string {
	u, err := url.Parse(origin)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// private reports whether host is a loopback, private or link-local
// address, or localhost.
func private(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}

var nonceToken = regexp.MustCompile(`'nonce-[^' ;]*'`)

// normalizeNonces writes each response's nonce as csp.NonceSource, the
// placeholder the csp middleware fills in.
func normalizeNonces(p string) string { return nonceToken.ReplaceAllString(p, string(csp.NonceSource)) }

// chain is the fallback list of a directive (CSP3 §6.8.2): the first of
// them present in a policy is the one that governs.
func chain(d string) []string {
	switch d {
	case "script-src-elem", "script-src-attr":
		return []string{d, "script-src", "default-src"}
	case "style-src-elem", "style-src-attr":
		return []string{d, "style-src", "default-src"}
	case "worker-src":
		return []string{d, "child-src", "script-src", "default-src"}
	case "frame-src", "fenced-frame-src":
		return []string{d, "frame-src", "child-src", "default-src"}
	case "base-uri", "form-action", "frame-ancestors", "sandbox", "default-src":
		return []string{d}
	}
	if strings.HasSuffix(d, "-src") {
		return []string{d, "default-src"}
	}
	return []string{d}
}

// family is the directive to create when only default-src governs d: the
// general one (script-src for script-src-elem), which every browser reads.
func family(d string) string {
	switch d {
	case "script-src-elem", "script-src-attr":
		return "script-src"
	case "style-src-elem", "style-src-attr":
		return "style-src"
	}
	return d
}

// governing returns the index in p of the directive that governs d, or -1.
func governing(p csp.Policy, d string) int {
	for _, name := range chain(d) {
		if i := slices.IndexFunc(p, func(x csp.Directive) bool { return x.Name == name }); i >= 0 {
			return i
		}
	}
	return -1
}

// merge adds each suggestion's source to the directive of policy that
// governs it (creating the general directive from default-src's sources
// when only default-src does), and returns the result, checked by
// csp.Parse.
func merge(policy string, sugg []Finding) (string, error) {
	p, err := csp.Parse(normalizeNonces(policy))
	if err != nil {
		return "", err
	}
	for _, f := range sugg {
		i := governing(p, f.Directive)
		if i < 0 {
			continue // nothing restricts it here
		}
		if p[i].Name == "default-src" && f.Directive != "default-src" {
			srcs := slices.DeleteFunc(slices.Clone(p[i].Sources), func(s csp.Source) bool { return s == csp.None })
			p = append(p, csp.Dir(family(f.Directive), srcs...))
			i = len(p) - 1
		}
		s := csp.Source(f.Source)
		if slices.Contains(p[i].Sources, s) {
			continue
		}
		p[i].Sources = append(slices.DeleteFunc(p[i].Sources, func(s csp.Source) bool { return s == csp.None }), s)
	}
	out := p.String()
	if _, err := csp.Parse(out); err != nil {
		return "", err
	}
	return out, nil
}

// allowed reports whether policy already lists source in the directive
// that governs directive.
func allowed(policy, directive, source string) bool {
	p := csp.Raw(policy)
	i := governing(p, directive)
	return i >= 0 && slices.Contains(p[i].Sources, csp.Source(source))
}

// wildcards replaces, per directive, the host-sources of at least
// a.wildcardHosts hosts one label under the same parent domain (same
// scheme and port) with one wildcard host-source, whose evidence is
// their union.
func (a *Assistant) wildcards(cands []*evidence) []*evidence {
	type key struct{ directive, scheme, parent, port string }
	byParent := map[key][]*evidence{}
	for _, e := range cands {
		u, err := url.Parse(e.Source)
		if err != nil || u.Host == "" || net.ParseIP(u.Hostname()) != nil {
			continue
		}
		labels := strings.Split(u.Hostname(), ".")
		if len(labels) < 3 {
			continue
		}
		k := key{e.Directive, u.Scheme, strings.Join(labels[1:], "."), u.Port()}
		byParent[k] = append(byParent[k], e)
	}
	for k, es := range byParent {
		if len(es) < a.wildcardHosts {
			continue
		}
		host := "*." + k.parent
		if k.port != "" {
			host += ":" + k.port
		}
		w := &evidence{Finding: Finding{Origin: es[0].Origin, Directive: k.directive, Source: k.scheme + "://" + host},
			clients: map[string]bool{}, docs: map[string]bool{}, browsers: map[string]bool{}}
		for _, e := range es {
			e.wildcarded = true
			w.Reports += e.Reports
			if w.FirstSeen.IsZero() || e.FirstSeen.Before(w.FirstSeen) {
				w.FirstSeen = e.FirstSeen
			}
			w.LastSeen = maxTime(w.LastSeen, e.LastSeen)
			w.report = w.report || e.report
			w.lastRO = maxTime(w.lastRO, e.lastRO)
			for _, m := range [][2]map[string]bool{{w.clients, e.clients}, {w.docs, e.docs}, {w.browsers, e.browsers}} {
				for x := range m[1] {
					m[0][x] = true
				}
			}
		}
		w.Clients, w.Documents, w.Browsers = len(w.clients), len(w.docs), len(w.browsers)
		cands = append(slices.DeleteFunc(cands, func(e *evidence) bool { return e.wildcarded }), w)
	}
	return cands
}

// valid reports whether source, alone in directive (its general form),
// is a policy csp.Parse accepts: what a report names but no policy can
// say (a forged directive, a source with spaces or controls, which
// seclog.Escape has made visible) is never suggested.
func valid(directive, source string) bool {
	_, err := csp.Parse(family(directive) + " " + source)
	return err == nil
}
