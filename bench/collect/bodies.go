package main

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
)

// policy is the 310-byte policy of the anchors' measurements
// (../shared/research/performance-anchors.md), as browsers echo it in
// every report.
const policy = `default-src 'self'; script-src 'self' https://cdn.example.com; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: https:; font-src https://fonts.gstatic.com; connect-src 'self' https://api.example.com; frame-ancestors 'none'; base-uri 'self'; object-src 'none'; report-uri /csp`

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// legacyTmpl is a report-uri body in the key order Chromium writes
// (../shared/testdata/csp-reports/chromium-report-uri-external-script.json):
// document id, directive, blocked host, blocked file, line.
const legacyTmpl = `{"csp-report":{"document-uri":"https://shop.example/orders/%d?session=4f9a1c","referrer":"https://shop.example/","violated-directive":"%s","effective-directive":"%s","original-policy":"` + policy + `","disposition":"enforce","blocked-uri":"https://cdn%d.tracker.example/t%d.js?v=3","line-number":%d,"column-number":17,"source-file":"https://shop.example/static/app.js","status-code":200,"script-sample":""}}`

// envelopeTmpl is one element of a Reporting API batch, as Chromium sends
// it (../shared/testdata/csp-reports/chromium-report-to-batch-inline-and-urls.json).
const envelopeTmpl = `{"age":%d,"body":{"blockedURL":"https://cdn%d.tracker.example/t%d.js?v=3","columnNumber":17,"disposition":"report","documentURL":"https://shop.example/orders/%d","effectiveDirective":"%s","lineNumber":%d,"originalPolicy":"` + policy + `","referrer":"https://shop.example/","sample":"","sourceFile":"https://shop.example/static/app.js","statusCode":200},"type":"csp-violation","url":"https://shop.example/orders/%d","user_agent":"` + chromeUA + `"}`

var directives = [...]string{"script-src-elem", "img-src", "connect-src", "style-src-elem", "font-src"}

// A generator makes report bodies. With keys > 0 every report is one of
// keys distinct violations (detail keys), per to a group (a blocked host),
// while the page
// URL varies (its id and query are normalised away), as real traffic
// repeats a bounded set of violations over many page views. With keys 0
// every report is a new detail and every 8th a new group: the worst case.
type generator struct {
	keys int
	per  int64
	n    atomic.Int64 // bodies
	r    atomic.Int64 // reports
}

func newGenerator(keys, groups int) *generator {
	g := &generator{keys: keys, per: 40}
	if keys > 0 && groups > 0 {
		g.per = int64(max(1, keys/groups))
	}
	return g
}

// violation returns the fields of the i-th report.
func (g *generator) violation(i int64) (group, file, line int) {
	k := i
	per := int64(8)
	if g.keys > 0 {
		k = (i * 7919) % int64(g.keys) // spread over the keys
		per = g.per
	}
	return int(k / per), int(k % 97), int(k)
}

// next returns the next body of the given kind, its media type and how
// many reports it holds.
func (g *generator) next(kind string) (body, ctype string, reports int64) {
	i := g.n.Add(1)
	if kind == "mixed" {
		kind = "legacy"
		if i%4 == 0 {
			kind = "batch"
		}
	}
	if kind == "legacy" {
		grp, file, line := g.violation(g.r.Add(1))
		d := directives[grp%len(directives)]
		return fmt.Sprintf(legacyTmpl, i, d, d, grp, file, line+1), "application/csp-report", 1
	}
	var b strings.Builder
	b.Grow(5 * 900)
	b.WriteByte('[')
	first := g.r.Add(5) - 5
	for e := range int64(5) {
		if e > 0 {
			b.WriteByte(',')
		}
		grp, file, line := g.violation(first + e)
		fmt.Fprintf(&b, envelopeTmpl, 1000+e*37, grp, file, i, directives[grp%len(directives)], line+1, i)
	}
	b.WriteByte(']')
	return b.String(), "application/reports+json", 5
}

func runtimeNumCPU() int { return runtime.NumCPU() }
