package csp

import (
	"strings"
)

// A variant is one precomputed serialization of a policy: the header value
// split where the nonce goes. With no nonce, segs has one element and
// static is the ready []string (len == cap == 1) assigned into the header
// map as is.
type variant struct {
	off    bool // no header at all (report-only, not sampled)
	segs   []string
	static []string
	size   int // len of the value without the nonce(s)
}

// A compiled policy: the user's policy, kept for per-request changes, and
// its serializations for every case a request can be in, indexed by
// [https][sampled][nonce]: https false drops upgrade-insecure-requests and
// report-to (not for a plain-HTTP page), sampled false drops the reporting
// directives (report-only: the whole header), nonce false drops the
// nonce sources (lazy mode when nothing asked for the nonce).
type compiled struct {
	policy   Policy
	hasNonce bool
	v        [2][2][2]variant
}

// compile serializes p (checked) for every case. rep is the reporting
// setting (nil: none); reportOnly says which header it is for.
func compile(p Policy, rep *reporting, reportOnly bool) *compiled {
	c := &compiled{policy: p}
	for _, d := range p {
		if d.has(NonceSource) {
			c.hasNonce = true
		}
	}
	full := p
	if rep != nil {
		full = append(p.Clone(), Dir(ReportTo, Token(rep.name)), Dir(ReportURI, Token(rep.path)))
	}
	for https := range 2 {
		for sampled := range 2 {
			for nonce := range 2 {
				v := &c.v[https][sampled][nonce]
				if rep != nil && sampled == 0 && reportOnly {
					v.off = true
					continue
				}
				v.segs = serialize(full, https == 1, sampled == 1 || rep == nil, nonce == 1)
				for _, s := range v.segs {
					v.size += len(s)
				}
				if len(v.segs) == 1 {
					v.static = []string{v.segs[0]}[:1:1]
				}
			}
		}
	}
	return c
}

// serialize writes p as a header value cut at each nonce: the segment
// before a nonce ends with "'nonce-", the one after starts with "'".
func serialize(p Policy, https, reports, nonce bool) []string {
	var segs []string
	var b strings.Builder
	first := true
	for _, d := range p {
		if !https && d.Name == UpgradeInsecureRequests {
			continue
		}
		if !reports && (d.Name == ReportTo || d.Name == ReportURI) {
			continue
		}
		// Chromium sends Reporting API reports only from secure pages, and
		// ignores report-uri when report-to is there: on plain HTTP,
		// report-to would silence every report.
		if !https && d.Name == ReportTo {
			continue
		}
		if !first {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(d.Name)
		for _, s := range d.Sources {
			if s == NonceSource {
				if !nonce {
					continue
				}
				b.WriteString(" 'nonce-")
				segs = append(segs, b.String())
				b.Reset()
				b.WriteByte('\'')
				continue
			}
			b.WriteByte(' ')
			b.WriteString(string(s))
		}
	}
	return append(segs, b.String())
}

// change applies ch's override and append to p (not modified) and
// returns the new policy.
func change(p Policy, override, add Policy) Policy {
	q := p.Clone()
	for _, d := range override {
		if i := q.find(d.Name); i >= 0 {
			q[i] = Directive{Name: d.Name, Sources: append([]Source(nil), d.Sources...)}
		} else {
			q = append(q, Directive{Name: d.Name, Sources: append([]Source(nil), d.Sources...)})
		}
	}
	// default-src first, so that a fetch directive seeded from it in the
	// same change gets what was appended to it too, whatever the order.
	ordered := make(Policy, 0, len(add))
	for _, d := range add {
		if d.Name == DefaultSrc {
			ordered = append(ordered, d)
		}
	}
	for _, d := range add {
		if d.Name != DefaultSrc {
			ordered = append(ordered, d)
		}
	}
	for _, d := range ordered {
		i := q.find(d.Name)
		if i < 0 {
			var seed []Source
			if directives[d.Name].fetch || d.Name == DefaultSrc {
				// An absent fetch directive falls back to default-src:
				// appending must keep what default-src allowed, or
				// "script-src cdn" would silently drop 'self'.
				if j := q.find(DefaultSrc); j >= 0 {
					seed = append(seed, q[j].Sources...)
				}
			}
			q = append(q, Directive{Name: d.Name, Sources: seed})
			i = len(q) - 1
		}
		for _, s := range d.Sources {
			if q[i].has(s) {
				continue
			}
			if len(q[i].Sources) == 1 && q[i].Sources[0] == None {
				q[i].Sources = q[i].Sources[:0] // 'none' plus a source is that source
			}
			q[i].Sources = append(q[i].Sources, s)
		}
	}
	return q
}
