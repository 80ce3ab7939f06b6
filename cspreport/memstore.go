package cspreport

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] in memory, for tests and single-process sites
// that can lose their reports at restart. The zero value is ready to use.
type MemoryStore struct {
	mu       sync.Mutex
	groups   map[string]*Group
	details  map[string]*Detail
	hours    map[hourKey]int64
	counters map[counterKey]int64
	policies map[string]time.Time
	browsers map[string]map[string]int64 // group → family → count
	events   []Event
	others   []OtherReport
}

type hourKey struct {
	fp   string
	hour time.Time
}

type counterKey struct {
	hour       time.Time
	kind, name string
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

var _ Store = (*MemoryStore)(nil)

func (s *MemoryStore) init() {
	if s.groups == nil {
		s.groups = map[string]*Group{}
		s.details = map[string]*Detail{}
		s.hours = map[hourKey]int64{}
		s.counters = map[counterKey]int64{}
		s.policies = map[string]time.Time{}
		s.browsers = map[string]map[string]int64{}
	}
}

// Save implements [Store].
func (s *MemoryStore) Save(ctx context.Context, b *Batch) ([]Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	var created []Report
	for i := range b.Reports {
		r := &b.Reports[i]
		at := Stamp(r.OccurredAt)
		if g := s.groups[r.GroupFP]; g == nil {
			s.groups[r.GroupFP] = &Group{
				Fingerprint: r.GroupFP, Directive: r.Directive, Disposition: r.Disposition,
				BlockedKind: r.BlockedKind, BlockedOrigin: r.BlockedOrigin,
				DocumentOrigin: r.DocumentOrigin, DocumentPath: r.DocumentPath,
				Total: 1, FirstSeen: at, LastSeen: at,
				ExampleBlocked: r.Blocked, ExampleSource: exampleSource(r),
			}
			created = append(created, *r)
		} else {
			g.Total++
			g.FirstSeen, g.LastSeen = minTime(g.FirstSeen, at), maxTime(g.LastSeen, at)
		}
		if d := s.details[r.DetailFP]; d == nil {
			s.details[r.DetailFP] = &Detail{
				Fingerprint: r.DetailFP, GroupFP: r.GroupFP, SourceFile: r.SourceFile,
				Line: r.Line, Column: r.Column, Sample: r.Sample, PolicyHash: r.PolicyHash,
				PolicyVersion: r.PolicyVersion, ExampleDocument: r.DocumentURL,
				ExampleBlocked: r.Blocked, ExampleUA: r.UserAgent,
				Count: 1, FirstSeen: at, LastSeen: at,
			}
		} else {
			d.Count++
			d.FirstSeen, d.LastSeen = minTime(d.FirstSeen, at), maxTime(d.LastSeen, at)
			d.PolicyVersion = r.PolicyVersion
		}
		s.hours[hourKey{r.GroupFP, Hour(r.OccurredAt)}]++
		if s.browsers[r.GroupFP] == nil {
			s.browsers[r.GroupFP] = map[string]int64{}
		}
		s.browsers[r.GroupFP][BrowserFamily(r.UserAgent)]++
		if r.PolicyHash != "" {
			if _, ok := s.policies[r.PolicyHash]; !ok {
				s.policies[r.PolicyHash] = at
			}
		}
	}
	for _, c := range b.Counters {
		s.counters[counterKey{Hour(b.At), c.Kind, c.Name}] += c.Count
	}
	for _, e := range b.Events {
		e.ReceivedAt = Stamp(e.ReceivedAt)
		s.events = append(s.events, e)
	}
	for _, o := range b.Other {
		o.ReceivedAt = Stamp(o.ReceivedAt)
		s.others = append(s.others, o)
	}
	return created, nil
}

// Events implements [Store].
func (s *MemoryStore) Events(ctx context.Context, detailFP string, n int) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for i := len(s.events) - 1; i >= 0 && len(out) < limit(n); i-- {
		if s.events[i].DetailFP == detailFP {
			out = append(out, s.events[i])
		}
	}
	return out, nil
}

// Others implements [Store].
func (s *MemoryStore) Others(ctx context.Context, since time.Time, n int) ([]OtherReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []OtherReport
	for i := len(s.others) - 1; i >= 0 && len(out) < limit(n); i-- {
		if !s.others[i].ReceivedAt.Before(Stamp(since)) {
			out = append(out, s.others[i])
		}
	}
	return out, nil
}

// exampleSource is "file:line:column" of a report, for the summary.
func exampleSource(r *Report) string {
	if r.SourceFile == "" {
		return ""
	}
	s := r.SourceFile
	if r.Line > 0 {
		s += ":" + itoa(r.Line)
		if r.Column > 0 {
			s += ":" + itoa(r.Column)
		}
	}
	return s
}

// Groups implements [Store].
func (s *MemoryStore) Groups(ctx context.Context, q GroupQuery) ([]Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int64{}
	for k, n := range s.hours {
		if q.countsHour(k.hour) {
			counts[k.fp] += n
		}
	}
	var out []Group
	for _, g := range s.selectLocked(&q) {
		c := *g
		c.Count = counts[g.Fingerprint]
		c.Browsers = SortBrowsers(s.browsers[g.Fingerprint])
		out = append(out, c)
	}
	SortGroups(out)
	return out[:min(len(out), limit(q.Limit))], nil
}

// selectLocked returns the groups q selects, its limit aside. The caller
// holds s.mu.
func (s *MemoryStore) selectLocked(q *GroupQuery) []*Group {
	var out []*Group
	for _, g := range s.groups {
		if q.matches(g) && q.inWindow(g) && (q.Browser == "" || s.browsers[g.Fingerprint][q.Browser] > 0) {
			out = append(out, g)
		}
	}
	return out
}

// CountGroups implements [Store].
func (s *MemoryStore) CountGroups(ctx context.Context, q GroupQuery) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.selectLocked(&q)), nil
}

// Hours implements [Store].
func (s *MemoryStore) Hours(ctx context.Context, q GroupQuery) ([]HourCount, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	selected := map[string]*Group{}
	for _, g := range s.selectLocked(&q) {
		selected[g.Fingerprint] = g
	}
	sum := map[HourCount]int64{}
	for k, n := range s.hours {
		if g := selected[k.fp]; g != nil && q.countsHour(k.hour) {
			sum[HourCount{Hour: k.hour, Directive: g.Directive, Disposition: g.Disposition}] += n
		}
	}
	out := make([]HourCount, 0, len(sum))
	for k, n := range sum {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b HourCount) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Directive, b.Directive), cmp.Compare(a.Disposition, b.Disposition))
	})
	return out, nil
}

// SortGroups sorts groups as every Store returns them: by descending
// count, then descending last seen, then fingerprint.
func SortGroups(gs []Group) {
	slices.SortFunc(gs, func(a, b Group) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
}

func limit(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// Details implements [Store].
func (s *MemoryStore) Details(ctx context.Context, groupFP string, n int) ([]Detail, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Detail
	for _, d := range s.details {
		if d.GroupFP == groupFP {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b Detail) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out[:min(len(out), limit(n))], nil
}

// Counters implements [Store].
func (s *MemoryStore) Counters(ctx context.Context, since time.Time) ([]Counter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := map[[2]string]int64{}
	from := Hour(since)
	for k, n := range s.counters {
		if since.IsZero() || !k.hour.Before(from) {
			sum[[2]string{k.kind, k.name}] += n
		}
	}
	return SortCounters(sum), nil
}

// SortCounters returns the counters of m by kind, then descending count,
// then name.
func SortCounters(m map[[2]string]int64) []Counter {
	out := make([]Counter, 0, len(m))
	for k, n := range m {
		out = append(out, Counter{Kind: k[0], Name: k[1], Count: n})
	}
	slices.SortFunc(out, func(a, b Counter) int {
		if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// Mute implements [Store].
func (s *MemoryStore) Mute(ctx context.Context, groupFP string, muted bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupFP]
	if g == nil {
		return ErrNotFound
	}
	g.Muted = muted
	return nil
}

// DeleteBefore implements [Store]; the memory store deletes in one step.
func (s *MemoryStore) DeleteBefore(ctx context.Context, before time.Time, _ int) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before = Stamp(before)
	var n int64
	for k := range s.hours {
		if k.hour.Before(before) {
			delete(s.hours, k)
			n++
		}
	}
	for k := range s.counters {
		if k.hour.Before(before) {
			delete(s.counters, k)
			n++
		}
	}
	for k, d := range s.details {
		if d.LastSeen.Before(before) {
			delete(s.details, k)
			n++
		}
	}
	for k, g := range s.groups {
		if g.LastSeen.Before(before) {
			delete(s.groups, k)
			n++
			n += int64(len(s.browsers[k]))
			delete(s.browsers, k)
		}
	}
	var d int64
	s.events, d = dropBefore(s.events, before, func(e Event) time.Time { return e.ReceivedAt })
	n += d
	s.others, d = dropBefore(s.others, before, func(o OtherReport) time.Time { return o.ReceivedAt })
	n += d
	used := map[string]bool{}
	for _, d := range s.details {
		used[d.PolicyHash] = true
	}
	for h, at := range s.policies {
		if at.Before(before) && !used[h] {
			delete(s.policies, h)
			n++
		}
	}
	return n, nil
}

// dropBefore removes the items of s received before before, in place,
// and returns how many it removed.
func dropBefore[T any](s []T, before time.Time, at func(T) time.Time) ([]T, int64) {
	kept := s[:0]
	for _, v := range s {
		if !at(v).Before(before) {
			kept = append(kept, v)
		}
	}
	clear(s[len(kept):])
	return kept, int64(len(s) - len(kept))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
