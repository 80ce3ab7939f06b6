package dashboard

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/seclog"
)

// The chart's geometry, in SVG user units; the stylesheet scales it to
// the page's width.
const (
	chartWidth  = 1000
	chartHeight = 180
	chartLeft   = 48 // room for the y axis labels
	chartBottom = 22 // room for the x axis labels
	chartSeries = 7  // series drawn apart; the rest are summed as "other"
)

// A chart is the picture of reports over time: one stacked bar per hour,
// a colour per directive and disposition. It is drawn on the server as
// SVG, so the page needs no script.
type chart struct {
	Width, Height int
	Bars          []bar
	Legend        []legend
	Ticks         []tick
	Max           int64 // the tallest hour
	Total         int64 // the reports of the window
	PlotTop       int   // y of the tallest hour
	Baseline      int   // y of zero
	Left          int   // x of the first hour
	Empty         bool  // no report in the window
	LabelX        int   // right end of the y axis labels
	TickY         int   // baseline of the x axis labels
}

// A bar is one series' part of one hour.
type bar struct {
	X, Y, W, H float64
	Class      string // s0 … s7: the series' colour in the stylesheet
	Title      string // "2026-11-23 10:00 UTC: script-src-elem enforce, 12 reports"
}

// A legend is one series: its colour, name and reports in the window,
// and the link that filters the page by it ("" for "other").
type legend struct {
	Class, Label, Href string
	Total              int64
}

// A tick is a label of the x axis.
type tick struct {
	X     float64
	Label string
}

// series names a directive and disposition.
func series(h cspreport.HourCount) string {
	return seclog.Escape(h.Directive) + " · " + seclog.Escape(h.Disposition)
}

// newChart draws hs over the hours from that of since to that of now;
// link, when not nil, gives the legend's link for a directive and
// disposition.
func newChart(hs []cspreport.HourCount, since, now time.Time, link func(directive, disposition string) string) *chart {
	from, to := hour(since), hour(now)
	n := int(to.Sub(from)/time.Hour) + 1
	c := &chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Baseline: chartHeight - chartBottom, PlotTop: 8,
		LabelX: chartLeft - 6, TickY: chartHeight - 6}

	// The series with the most reports get a colour each; the others are
	// summed as one.
	totals := map[string]int64{}
	first := map[string]cspreport.HourCount{}
	for _, h := range hs {
		totals[series(h)] += h.Count
		first[series(h)] = h
	}
	names := slices.SortedFunc(maps.Keys(totals), func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b))
	})
	class := map[string]string{}
	for i, name := range names {
		if i < chartSeries {
			class[name] = fmt.Sprintf("s%d", i)
			l := legend{Class: class[name], Label: name, Total: totals[name]}
			if link != nil {
				l.Href = link(first[name].Directive, first[name].Disposition)
			}
			c.Legend = append(c.Legend, l)
			continue
		}
		class[name] = fmt.Sprintf("s%d", chartSeries)
		if i == chartSeries {
			c.Legend = append(c.Legend, legend{Class: class[name], Label: "other"})
		}
		c.Legend[chartSeries].Total += totals[name]
	}

	// Sum each hour's series by colour, in legend order.
	type key struct {
		hour  int
		class string
	}
	sums := map[key]int64{}
	hourTotal := make([]int64, n)
	for _, h := range hs {
		i := int(h.Hour.Sub(from) / time.Hour)
		if i < 0 || i >= n {
			continue
		}
		sums[key{i, class[series(h)]}] += h.Count
		hourTotal[i] += h.Count
	}
	c.Max = slices.Max(append(hourTotal, 0))
	for _, n := range hourTotal {
		c.Total += n
	}
	c.Empty = c.Max == 0
	if c.Empty {
		return c
	}
	plotW := float64(chartWidth - chartLeft)
	plotH := float64(c.Baseline - c.PlotTop)
	w := plotW / float64(n)
	for i := range n {
		y := float64(c.Baseline)
		at := from.Add(time.Duration(i) * time.Hour)
		for _, l := range c.Legend {
			v := sums[key{i, l.Class}]
			if v == 0 {
				continue
			}
			bh := plotH * float64(v) / float64(c.Max)
			y -= bh
			c.Bars = append(c.Bars, bar{X: float64(chartLeft) + float64(i)*w, Y: y, W: max(w-1, 0.5), H: bh, Class: l.Class,
				Title: fmt.Sprintf("%s: %s, %d reports", at.Format("2006-01-02 15:04 UTC"), l.Label, v)})
		}
	}
	// Six labels at most, on whole hours.
	step := max(1, (n+5)/6)
	for i := 0; i < n; i += step {
		at := from.Add(time.Duration(i) * time.Hour)
		c.Ticks = append(c.Ticks, tick{X: float64(chartLeft) + float64(i)*w, Label: at.Format("Jan 2 15:04")})
	}
	return c
}
