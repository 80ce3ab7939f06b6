package cspreport

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a [Store] in memory, for tests and single-process sites
// that can lose their reports at restart. It holds one [Batch], into
// which Save merges each commit's. The zero value is ready to use.
type MemoryStore struct {
	mu  sync.Mutex
	all Batch
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

var _ Store = (*MemoryStore)(nil)

// Save implements [Store].
func (s *MemoryStore) Save(ctx context.Context, b *Batch) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.Merge(b), nil
}

// read runs f with the store locked, unless ctx is done.
func (s *MemoryStore) read(ctx context.Context, f func(all *Batch)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.all)
	return nil
}

// selectGroups returns the groups of all that q selects, its limit
// aside.
func selectGroups(all *Batch, q *GroupQuery) []*Group {
	var out []*Group
	for i := range all.Groups {
		g := &all.Groups[i]
		if q.matches(g) && q.inWindow(g) && (q.Browser == "" || slices.ContainsFunc(g.Browsers, func(b BrowserCount) bool { return b.Family == q.Browser })) {
			out = append(out, g)
		}
	}
	return out
}

// Groups implements [Store].
func (s *MemoryStore) Groups(ctx context.Context, q GroupQuery) ([]Group, error) {
	var out []Group
	err := s.read(ctx, func(all *Batch) {
		counts := map[string]int64{}
		for _, h := range all.Hours {
			if q.countsHour(h.Hour) {
				counts[h.Group] += h.Count
			}
		}
		for _, g := range selectGroups(all, &q) {
			c := *g
			c.Count = counts[g.Fingerprint]
			c.Browsers = slices.Clone(g.Browsers)
			sortBrowsers(c.Browsers)
			out = append(out, c)
		}
	})
	sortGroups(out)
	return out[:min(len(out), limit(q.Limit))], err
}

// CountGroups implements [Store].
func (s *MemoryStore) CountGroups(ctx context.Context, q GroupQuery) (int, error) {
	n := 0
	err := s.read(ctx, func(all *Batch) { n = len(selectGroups(all, &q)) })
	return n, err
}

// Hours implements [Store].
func (s *MemoryStore) Hours(ctx context.Context, q GroupQuery) ([]HourCount, error) {
	sum := map[HourCount]int64{}
	err := s.read(ctx, func(all *Batch) {
		selected := map[string]*Group{}
		for _, g := range selectGroups(all, &q) {
			selected[g.Fingerprint] = g
		}
		for _, h := range all.Hours {
			if g := selected[h.Group]; g != nil && q.countsHour(h.Hour) {
				sum[HourCount{Hour: h.Hour, Directive: g.Directive, Disposition: g.Disposition}] += h.Count
			}
		}
	})
	out := make([]HourCount, 0, len(sum))
	for k, n := range sum {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b HourCount) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Directive, b.Directive), cmp.Compare(a.Disposition, b.Disposition))
	})
	return out, err
}

// sortGroups sorts groups as every Store returns them: by descending
// count, then descending last seen, then fingerprint.
func sortGroups(gs []Group) {
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
	var out []Detail
	err := s.read(ctx, func(all *Batch) {
		for _, d := range all.Details {
			if d.GroupFP == groupFP {
				out = append(out, d)
			}
		}
	})
	slices.SortFunc(out, func(a, b Detail) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
	return out[:min(len(out), limit(n))], err
}

// GroupClients implements [Store].
func (s *MemoryStore) GroupClients(ctx context.Context, groups []string, since time.Time) (map[string][]string, error) {
	want := map[string]bool{}
	for _, g := range groups {
		want[g] = true
	}
	out := map[string][]string{}
	err := s.read(ctx, func(all *Batch) {
		for _, c := range all.Clients {
			if want[c.Group] && !c.LastSeen.Before(stamp(since)) {
				out[c.Group] = append(out[c.Group], c.Client)
			}
		}
	})
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out, err
}

// Policy implements [Store].
func (s *MemoryStore) Policy(ctx context.Context, hash string) (string, error) {
	var p string
	err := s.read(ctx, func(all *Batch) {
		if i, ok := all.index().policies[hash]; ok {
			p = all.Policies[i].Text
		}
	})
	return p, err
}

// Counters implements [Store].
func (s *MemoryStore) Counters(ctx context.Context, since time.Time) ([]Counter, error) {
	sum := map[[2]string]int64{}
	err := s.read(ctx, func(all *Batch) {
		from := hourOf(since)
		for _, c := range all.Counters {
			if since.IsZero() || !c.Hour.Before(from) {
				sum[[2]string{c.Kind, c.Name}] += c.Count
			}
		}
	})
	return sortCounters(sum), err
}

// sortCounters returns the counters of m by kind, then descending count,
// then name.
func sortCounters(m map[[2]string]int64) []Counter {
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

// Events implements [Store].
func (s *MemoryStore) Events(ctx context.Context, detailFP string, n int) ([]Event, error) {
	var out []Event
	err := s.read(ctx, func(all *Batch) {
		for i := len(all.Events) - 1; i >= 0 && len(out) < limit(n); i-- {
			if all.Events[i].DetailFP == detailFP {
				out = append(out, all.Events[i])
			}
		}
	})
	return out, err
}

// Others implements [Store].
func (s *MemoryStore) Others(ctx context.Context, since time.Time, n int) ([]OtherReport, error) {
	var out []OtherReport
	err := s.read(ctx, func(all *Batch) {
		for i := len(all.Other) - 1; i >= 0 && len(out) < limit(n); i-- {
			if !all.Other[i].ReceivedAt.Before(stamp(since)) {
				out = append(out, all.Other[i])
			}
		}
	})
	return out, err
}

// Mute implements [Store].
func (s *MemoryStore) Mute(ctx context.Context, groupFP string, muted bool) error {
	found := false
	err := s.read(ctx, func(all *Batch) {
		if i, ok := all.index().groups[groupFP]; ok {
			all.Groups[i].Muted, found = muted, true
		}
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	return err
}

// DeleteBefore implements [Store]; the memory store deletes in one step.
func (s *MemoryStore) DeleteBefore(ctx context.Context, before time.Time, _ int) (int64, error) {
	var n int64
	err := s.read(ctx, func(all *Batch) {
		before = stamp(before)
		var d int64
		all.Hours, d = keep(all.Hours, func(h GroupHour) bool { return !h.Hour.Before(before) })
		n += d
		all.Counters, d = keep(all.Counters, func(c HourCounter) bool { return !c.Hour.Before(before) })
		n += d
		all.Details, d = keep(all.Details, func(x Detail) bool { return !x.LastSeen.Before(before) })
		n += d
		all.Clients, d = keep(all.Clients, func(c GroupClient) bool { return !c.LastSeen.Before(before) })
		n += d
		gone := map[string]bool{}
		all.Groups, d = keep(all.Groups, func(g Group) bool {
			if g.LastSeen.Before(before) {
				gone[g.Fingerprint] = true
				n += int64(len(g.Browsers))
				return false
			}
			return true
		})
		n += d
		all.Clients, d = keep(all.Clients, func(c GroupClient) bool { return !gone[c.Group] })
		n += d
		all.Events, d = keep(all.Events, func(e Event) bool { return !e.ReceivedAt.Before(before) })
		n += d
		all.Other, d = keep(all.Other, func(o OtherReport) bool { return !o.ReceivedAt.Before(before) })
		n += d
		used := map[string]bool{}
		for _, x := range all.Details {
			used[x.PolicyHash] = true
		}
		all.Policies, d = keep(all.Policies, func(p Policy) bool { return used[p.Hash] || !p.FirstSeen.Before(before) })
		n += d
		all.idx = nil // rebuilt on first use
	})
	return n, err
}

// keep keeps the items of s for which ok is true, in place, and returns
// how many it removed.
func keep[T any](s []T, ok func(T) bool) ([]T, int64) {
	kept := s[:0]
	for _, v := range s {
		if ok(v) {
			kept = append(kept, v)
		}
	}
	clear(s[len(kept):])
	return kept, int64(len(s) - len(kept))
}
