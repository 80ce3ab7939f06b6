package cspreport

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Filters configures the noise filters. Every report of a batch is judged
// on its own; a dropped report is answered 204 like a stored one and
// counted under its reason ([KindFiltered]). The zero value applies the
// default lists.
type Filters struct {
	// NoDefaults turns the built-in lists off (DefaultSchemes,
	// DefaultHosts, DefaultSamples and the non-HTTP document check).
	NoDefaults bool
	// Schemes are more schemes to drop when the blocked value or the
	// source file uses them ("chrome-extension" matches both the bare
	// keyword browsers send and chrome-extension://…). Lower case letters,
	// digits, '+', '-', '.'.
	Schemes []string
	// Hosts are host names to drop when the blocked URL or the source file
	// is on them or on a subdomain ("kaspersky-labs.com" matches
	// gc.kis.v2.scr.kaspersky-labs.com).
	Hosts []string
	// Samples are regular expressions (Go syntax) matched against the
	// script sample.
	Samples []string
	// DocumentHosts, if set, keeps only reports whose document is on one of
	// these hosts or a subdomain: the strongest filter against forged
	// reports.
	DocumentHosts []string
	// Custom, if set, is called last for each report that passed the
	// others; a non-empty result drops the report, counted as
	// "custom:"+result (cut to 64 bytes: keep the set of results small).
	Custom func(*Report) string
}

// DefaultSchemes are the schemes of extensions, browser internals,
// toolbars and in-app web views that the receiver drops by default
// (the lists of sentry, nelmio, go-csp-collector and csp-report-norm).
var DefaultSchemes = []string{
	"chrome-extension", "moz-extension", "safari-extension", "safari-web-extension",
	"ms-browser-extension", "chrome", "chromenull", "chromeinvoke", "chromeinvokeimmediate",
	"resource", "jar", "mxaddon-pkg", "mxjscall", "mx", "webviewprogressproxy", "webviewprogress",
	"mbinit", "tmtbff", "symres", "res", "safari-resource", "opera", "ms-appx", "ms-appx-web",
	"none", "gsa", "sinaweibo", "sraf", "android-webview", "android-webview-video-poster",
	"wvjbscheme", "nativebaiduhd", "bdvideo", "view-source", "about",
}

// DefaultHosts are hosts of adware, antivirus and filtering proxies that
// inject content into pages (sentry's DEFAULT_DISALLOWED_SOURCES, nelmio,
// go-csp-collector).
var DefaultHosts = []string{
	"superfish.com", "metrext.com", "tlscdn.com", "gateway.zscalertwo.net", "gateway.zscaler.net",
	"static.image2play.com", "injections.adguard.com", "savingsslider-a.akamaihd.net",
	"widgets.amung.us", "addons.mozilla.org", "translate.googleapis.com",
	"adblockers.opera-mini.net", "nikkomsgchannel", "kaspersky-labs.com",
}

// DefaultSamples are script samples of extensions that inject scripts
// (nelmio's InjectedScriptsNoiseDetector, sentry #31508), by name.
var DefaultSamples = map[string]string{
	"react-devtools": `installGlobalHook\(window\)`,
	"lastpass":       `var lastpass_it`,
	"adguard":        `AG_onLoad\s*=`,
	"devtools":       `window\.devToolsOptions`,
	"rpc-injection":  `_PostRPC\(\)`,
	"safewindow":     `safeWindow\s*:\s*\{\}`,
	"adblock":        `\(function injected\(eventName, injectedIn`,
}

// filters is Filters compiled.
type filters struct {
	schemes  map[string]string
	hosts    map[string]string
	samples  []namedRE
	docHosts map[string]bool
	docCheck bool
	custom   func(*Report) string
}

type namedRE struct {
	name string
	re   *regexp.Regexp
}

func compileFilters(f Filters) (*filters, error) {
	c := &filters{schemes: map[string]string{}, hosts: map[string]string{}, custom: f.Custom}
	schemes, hosts := f.Schemes, f.Hosts
	if !f.NoDefaults {
		schemes = append(append([]string(nil), DefaultSchemes...), schemes...)
		hosts = append(append([]string(nil), DefaultHosts...), hosts...)
		c.docCheck = true
		for _, name := range sortedKeys(DefaultSamples) {
			c.samples = append(c.samples, namedRE{name, regexp.MustCompile(DefaultSamples[name])})
		}
	}
	for _, s := range schemes {
		v := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "//"), ":")
		if !validScheme(v) {
			return nil, fmt.Errorf("cspreport: Filters.Schemes: %q is not a scheme: write it bare, such as \"chrome-extension\"", s)
		}
		c.schemes[v] = "scheme:" + v
	}
	for _, h := range hosts {
		v, err := hostName("Filters.Hosts", h)
		if err != nil {
			return nil, err
		}
		c.hosts[v] = "host:" + v
	}
	for i, s := range f.Samples {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("cspreport: Filters.Samples[%d]: %v: write a Go regular expression, such as `var lastpass_it`", i, err)
		}
		c.samples = append(c.samples, namedRE{"user-" + itoa(i), re})
	}
	if len(f.DocumentHosts) > 0 {
		c.docHosts = map[string]bool{}
		for _, h := range f.DocumentHosts {
			v, err := hostName("Filters.DocumentHosts", h)
			if err != nil {
				return nil, err
			}
			c.docHosts[v] = true
		}
	}
	return c, nil
}

func hostName(field, h string) (string, error) {
	v := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(h)), "*.")
	if v == "" || strings.ContainsAny(v, "/:?#@ ") {
		return "", fmt.Errorf("cspreport: %s: %q is not a host name: write it without scheme, port or path, such as \"example.com\"", field, h)
	}
	return v, nil
}

// onHost reports the entry of set that host is, or is a subdomain of.
func onHost(set map[string]string, host string) (string, bool) {
	for h := host; h != ""; {
		if r, ok := set[h]; ok {
			return r, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return "", false
}

func inHosts(set map[string]bool, host string) bool {
	for h := host; h != ""; {
		if set[h] {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	return false
}

// match returns why r must be dropped, or "" to keep it.
func (c *filters) match(r *Report, blocked, doc, src parsedURL) string {
	if c.docCheck && doc.scheme != "http" && doc.scheme != "https" && doc.value != "about:srcdoc" {
		return "document:not-http"
	}
	if c.docHosts != nil && !inHosts(c.docHosts, doc.host) {
		return "document:host"
	}
	for _, v := range []parsedURL{blocked, src} {
		if v.scheme != "" {
			if reason, ok := c.schemes[v.scheme]; ok {
				return reason
			}
		}
		if v.host != "" {
			if reason, ok := onHost(c.hosts, v.host); ok {
				return reason
			}
		}
	}
	if r.Sample != "" {
		for _, s := range c.samples {
			if s.re.MatchString(r.Sample) {
				return "sample:" + s.name
			}
		}
	}
	if c.custom != nil {
		if reason := c.custom(r); reason != "" {
			return "custom:" + clean(reason, 64)
		}
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
