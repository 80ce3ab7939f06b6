package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// The user agents of runQueries' reports.
const (
	chromeUA  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
)

// runQueries checks GroupQuery's filters and its Until, as Groups,
// CountGroups and Hours honour them: the dashboard's reads.
func runQueries(t *testing.T, newStore func(t *testing.T) cspreport.Store) {
	ctx := context.Background()
	// g1: 3 enforced script reports from Chrome now; g2: report-only
	// images of another origin from Firefox, 2 two hours ago and 1 now;
	// g3: one report two days ago; g4: a muted style group now.
	g := func(n int, at time.Time, ua string, edit func(*cspreport.Report)) cspreport.Report {
		r := Rep(n, 1, at)
		r.UserAgent = ua
		if edit != nil {
			edit(&r)
		}
		return r
	}
	other := func(r *cspreport.Report) {
		r.Directive, r.Disposition, r.DocumentOrigin = "img-src", "report", "https://other.example"
	}
	style := func(r *cspreport.Report) { r.Directive = "style-src-elem" }
	g1, g2, g2now := g(1, T0, chromeUA, nil), g(2, T0.Add(-2*time.Hour), firefoxUA, other), g(2, T0, firefoxUA, other)
	g3, g4 := g(3, T0.Add(-48*time.Hour), chromeUA, nil), g(4, T0, chromeUA, style)

	s := newStore(t)
	_, err := Save(ctx, s, Batch(g1, g1, g1, g2, g2, g2now, g3, g4))
	must(t, err)
	must(t, s.Mute(ctx, g4.GroupFP, true))

	since := T0.Add(-3 * time.Hour)
	for _, tt := range []struct {
		name string
		q    cspreport.GroupQuery
		want string // fingerprint:count, in the store's order
	}{
		{"window", cspreport.GroupQuery{Since: since}, fmt.Sprintf("%s:3 %s:3", g1.GroupFP, g2.GroupFP)},
		{"muted", cspreport.GroupQuery{Since: since, Muted: true}, fmt.Sprintf("%s:3 %s:3 %s:1", g1.GroupFP, g2.GroupFP, g4.GroupFP)},
		{"directive", cspreport.GroupQuery{Since: since, Directive: "img-src"}, g2.GroupFP + ":3"},
		{"disposition", cspreport.GroupQuery{Since: since, Disposition: "enforce"}, g1.GroupFP + ":3"},
		{"origin", cspreport.GroupQuery{Since: since, DocumentOrigin: "https://app.example"}, g1.GroupFP + ":3"},
		{"browser", cspreport.GroupQuery{Since: since, Browser: "Firefox"}, g2.GroupFP + ":3"},
		{"browser muted", cspreport.GroupQuery{Since: since, Browser: "Chrome", Muted: true}, fmt.Sprintf("%s:3 %s:1", g1.GroupFP, g4.GroupFP)},
		{"browser none", cspreport.GroupQuery{Browser: "Safari"}, ""},
		{"fingerprint", cspreport.GroupQuery{Fingerprint: g3.GroupFP}, g3.GroupFP + ":1"},
		{"fingerprint outside the window", cspreport.GroupQuery{Since: since, Fingerprint: g3.GroupFP}, ""},
		// Until: first seen before it, hours that start before it.
		{"until", cspreport.GroupQuery{Since: T0.Add(-72 * time.Hour), Until: T0.Add(-time.Hour)}, fmt.Sprintf("%s:2 %s:1", g2.GroupFP, g3.GroupFP)},
		{"quiet span", cspreport.GroupQuery{Since: T0.Add(-24 * time.Hour), Until: T0.Add(-time.Hour)}, g2.GroupFP + ":2"},
		{"filters together", cspreport.GroupQuery{Directive: "img-src", Disposition: "report", DocumentOrigin: "https://other.example", Browser: "Firefox", Until: T0.Truncate(time.Hour)}, g2.GroupFP + ":2"},
	} {
		gs, err := s.Groups(ctx, tt.q)
		must(t, err)
		var got []string
		for _, g := range gs {
			got = append(got, fmt.Sprintf("%s:%d", g.Fingerprint, g.Count))
		}
		if fmt.Sprint(got) != fmt.Sprint(strings.Fields(tt.want)) {
			t.Errorf("%s: Groups(%+v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
		n, err := s.CountGroups(ctx, tt.q)
		must(t, err)
		if n != len(got) {
			t.Errorf("%s: CountGroups = %d, Groups returned %d", tt.name, n, len(got))
		}
	}

	hour := func(h time.Time, directive, disposition string, n int64) cspreport.HourCount {
		return cspreport.HourCount{Hour: h.UTC().Truncate(time.Hour), Directive: directive, Disposition: disposition, Count: n}
	}
	for _, tt := range []struct {
		name string
		q    cspreport.GroupQuery
		want []cspreport.HourCount
	}{
		{"window", cspreport.GroupQuery{Since: since}, []cspreport.HourCount{
			hour(T0.Add(-2*time.Hour), "img-src", "report", 2),
			hour(T0, "img-src", "report", 1), hour(T0, "script-src-elem", "enforce", 3)}},
		{"all time, muted", cspreport.GroupQuery{Muted: true}, []cspreport.HourCount{
			hour(T0.Add(-48*time.Hour), "script-src-elem", "enforce", 1), hour(T0.Add(-2*time.Hour), "img-src", "report", 2),
			hour(T0, "img-src", "report", 1), hour(T0, "script-src-elem", "enforce", 3), hour(T0, "style-src-elem", "enforce", 1)}},
		{"until", cspreport.GroupQuery{Since: since, Until: T0.Truncate(time.Hour)}, []cspreport.HourCount{hour(T0.Add(-2*time.Hour), "img-src", "report", 2)}},
		{"directive", cspreport.GroupQuery{Directive: "script-src-elem"}, []cspreport.HourCount{
			hour(T0.Add(-48*time.Hour), "script-src-elem", "enforce", 1), hour(T0, "script-src-elem", "enforce", 3)}},
		{"one group", cspreport.GroupQuery{Fingerprint: g2.GroupFP}, []cspreport.HourCount{
			hour(T0.Add(-2*time.Hour), "img-src", "report", 2), hour(T0, "img-src", "report", 1)}},
		{"none", cspreport.GroupQuery{Browser: "Safari"}, nil},
	} {
		hs, err := s.Hours(ctx, tt.q)
		must(t, err)
		if !slices.EqualFunc(hs, tt.want, func(a, b cspreport.HourCount) bool {
			return a.Hour.Equal(b.Hour) && a.Directive == b.Directive && a.Disposition == b.Disposition && a.Count == b.Count
		}) {
			t.Errorf("%s: Hours(%+v) =\n%v, want\n%v", tt.name, tt.q, hs, tt.want)
		}
	}
}
