package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// An aggregate is batches merged by key, as one fold writes them: one row
// per distinct group, detail, hour, browser family, policy and counter
// (counts summed, first and last seen merged, the first report of a key
// as its example), plus the raw events and reports of other types. The
// file journal's batches are added as they are saved, so that a fold
// writes what accumulated without decoding anything, and the memory it
// holds grows with the distinct keys, not with the reports: a key's
// values are those of its first report, kept, and the later reports of
// that key are counted and let go. The journal table's batches are
// decoded and added by the fold.
type aggregate struct {
	groups   map[string]*groupAgg
	gOrder   []*groupAgg
	details  map[string]*detailAgg
	dOrder   []*detailAgg
	hours    map[hourKey]int64
	hOrder   []hourKey
	browsers map[[2]string]int64
	bOrder   [][2]string
	policies map[string]policyRow
	pOrder   []string
	counters map[hourKey]int64
	cOrder   []hourKey
	events   []cspreport.Event
	others   []cspreport.OtherReport
}

// hourKey is the key of a row of an hourly table: a group's count in an
// hour (fp), or a counter's (kind, name).
type hourKey struct {
	hour           time.Time
	fp, kind, name string
}

// groupAgg is a group: its first report (as the journal gives it back:
// times in UTC to the microsecond), for its columns and for the list of
// new groups, and its count.
type groupAgg struct {
	r      cspreport.Report
	n      int64
	lo, hi time.Time
}

// detailAgg is a detail: the columns of its first report, the policy
// version of its last one, and its count.
type detailAgg struct {
	fp, groupFP, sourceFile, sample, policyHash string
	document, blocked, ua                       string
	version                                     string // of the last report
	line, col                                   int
	n                                           int64
	lo, hi                                      time.Time
}

type policyRow struct {
	text string
	at   time.Time
}

func newAggregate() *aggregate {
	return &aggregate{
		groups: map[string]*groupAgg{}, details: map[string]*detailAgg{}, hours: map[hourKey]int64{},
		browsers: map[[2]string]int64{}, policies: map[string]policyRow{}, counters: map[hourKey]int64{},
	}
}

// rows is the number of rows a's fold writes, or upserts: what a holds
// grows with it.
func (a *aggregate) rows() int {
	return len(a.gOrder) + len(a.dOrder) + len(a.hOrder) + len(a.bOrder) + len(a.pOrder) + len(a.cOrder) +
		len(a.events) + len(a.others)
}

// empty reports whether a holds nothing to write.
func (a *aggregate) empty() bool { return a.rows() == 0 }

// micro is t as the journal gives it back.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// add merges b into a. a keeps references to b's strings, not to b.
func (a *aggregate) add(b *cspreport.Batch) {
	for i := range b.Reports {
		r := &b.Reports[i]
		at := cspreport.Stamp(r.OccurredAt)
		if g := a.groups[r.GroupFP]; g != nil {
			g.n++
			g.lo, g.hi = minT(g.lo, at), maxT(g.hi, at)
		} else {
			g = &groupAgg{r: *r, n: 1, lo: at, hi: at}
			g.r.ReceivedAt, g.r.OccurredAt = micro(r.ReceivedAt), micro(r.OccurredAt)
			a.groups[r.GroupFP] = g
			a.gOrder = append(a.gOrder, g)
		}
		if d := a.details[r.DetailFP]; d != nil {
			d.n++
			d.lo, d.hi = minT(d.lo, at), maxT(d.hi, at)
			d.version = r.PolicyVersion
		} else {
			d = &detailAgg{fp: r.DetailFP, groupFP: r.GroupFP, sourceFile: r.SourceFile, sample: r.Sample,
				policyHash: r.PolicyHash, document: r.DocumentURL, blocked: r.Blocked, ua: r.UserAgent,
				version: r.PolicyVersion, line: r.Line, col: r.Column, n: 1, lo: at, hi: at}
			a.details[r.DetailFP] = d
			a.dOrder = append(a.dOrder, d)
		}
		hk := hourKey{hour: cspreport.Hour(r.OccurredAt), fp: r.GroupFP}
		if _, ok := a.hours[hk]; !ok {
			a.hOrder = append(a.hOrder, hk)
		}
		a.hours[hk]++
		bk := [2]string{r.GroupFP, cspreport.BrowserFamily(r.UserAgent)}
		if _, ok := a.browsers[bk]; !ok {
			a.bOrder = append(a.bOrder, bk)
		}
		a.browsers[bk]++
		if r.PolicyHash != "" {
			if _, ok := a.policies[r.PolicyHash]; !ok {
				a.policies[r.PolicyHash] = policyRow{r.Policy, at}
				a.pOrder = append(a.pOrder, r.PolicyHash)
			}
		}
	}
	for _, c := range b.Counters {
		k := hourKey{hour: cspreport.Hour(b.At), kind: c.Kind, name: c.Name}
		if _, ok := a.counters[k]; !ok {
			a.cOrder = append(a.cOrder, k)
		}
		a.counters[k] += c.Count
	}
	a.events = append(a.events, b.Events...)
	a.others = append(a.others, b.Other...)
}

// write upserts a in tx: one multi-row statement per table and chunk of
// rows. It returns the first report of each group it created.
func (s *Store) write(ctx context.Context, tx *sql.Tx, a *aggregate) ([]cspreport.Report, error) {
	var created []cspreport.Report
	if len(a.pOrder) > 0 {
		rows := make([]any, 0, len(a.pOrder)*insertPolicy.cols)
		for _, h := range a.pOrder {
			p := a.policies[h]
			rows = append(rows, h, p.text, p.at)
		}
		if err := s.upsert(ctx, tx, &insertPolicy, rows, nil); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	if len(a.gOrder) > 0 {
		rows := make([]any, 0, len(a.gOrder)*upsertGroup.cols)
		for _, g := range a.gOrder {
			r := &g.r
			rows = append(rows, r.GroupFP, r.Directive, r.Disposition, r.BlockedKind, r.BlockedOrigin,
				r.DocumentOrigin, r.DocumentPath, g.n, g.lo, g.hi, r.Blocked, source(r))
		}
		totals := make(map[string]int64, len(a.gOrder))
		if err := s.upsert(ctx, tx, &upsertGroup, rows, func(rs *sql.Rows) error {
			var fp string
			var total int64
			if err := rs.Scan(&fp, &total); err != nil {
				return err
			}
			totals[fp] = total
			return nil
		}); err != nil {
			return nil, fmt.Errorf("group: %w", err)
		}
		for _, g := range a.gOrder {
			if t, ok := totals[g.r.GroupFP]; !ok {
				return nil, fmt.Errorf("group: no total returned for %s", g.r.GroupFP)
			} else if t == g.n {
				created = append(created, g.r)
			}
		}
		rows = make([]any, 0, len(a.dOrder)*upsertDetail.cols)
		for _, d := range a.dOrder {
			rows = append(rows, d.fp, d.groupFP, d.sourceFile, d.line, d.col, d.sample, d.policyHash,
				d.version, d.document, d.blocked, d.ua, d.n, d.lo, d.hi)
		}
		if err := s.upsert(ctx, tx, &upsertDetail, rows, nil); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
		rows = make([]any, 0, len(a.hOrder)*upsertHour.cols)
		for _, hk := range a.hOrder {
			rows = append(rows, hk.fp, hk.hour, a.hours[hk])
		}
		if err := s.upsert(ctx, tx, &upsertHour, rows, nil); err != nil {
			return nil, fmt.Errorf("hour: %w", err)
		}
		rows = make([]any, 0, len(a.bOrder)*upsertBrowser.cols)
		for _, bk := range a.bOrder {
			rows = append(rows, bk[0], bk[1], a.browsers[bk])
		}
		if err := s.upsert(ctx, tx, &upsertBrowser, rows, nil); err != nil {
			return nil, fmt.Errorf("browser: %w", err)
		}
	}
	if len(a.cOrder) > 0 {
		rows := make([]any, 0, len(a.cOrder)*upsertCounter.cols)
		for _, k := range a.cOrder {
			rows = append(rows, k.hour, k.kind, k.name, a.counters[k])
		}
		if err := s.upsert(ctx, tx, &upsertCounter, rows, nil); err != nil {
			return nil, fmt.Errorf("counter: %w", err)
		}
	}
	var events, others []any
	for _, e := range a.events {
		events = append(events, e.GroupFP, e.DetailFP, cspreport.Stamp(e.ReceivedAt), e.Raw)
	}
	for _, o := range a.others {
		others = append(others, o.Type, o.URL, o.UserAgent, o.ClientPrefix, o.Body, cspreport.Stamp(o.ReceivedAt))
	}
	if err := s.upsert(ctx, tx, &insertEvent, events, nil); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	if err := s.upsert(ctx, tx, &insertOther, others, nil); err != nil {
		return nil, fmt.Errorf("other report: %w", err)
	}
	return created, nil
}
