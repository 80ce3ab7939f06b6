package cspreport

import (
	"cmp"
	"slices"
	"time"
)

// A Batch is what one group commit writes: its violation reports reduced
// to rows, one per group, detail, hour, client and policy (counts summed,
// first and last seen merged, a key's first report as its example), the
// counts of what was not stored as a violation, and the raw events and
// reports of other types, in arrival order. The receiver builds one per
// commit with [Batch.Add] and [Batch.Count]; a [Store] adds its rows to
// what it holds, with the rules of [Batch.Merge]. The merge rules are
// written here once: a store keeps no other copy of them but the
// equivalent SQL.
//
// The zero value is an empty batch. Times are in UTC, to the microsecond.
type Batch struct {
	// Groups are the batch's groups. Total counts the batch's reports of
	// the group and Browsers their browser families; Count and Muted are
	// not used.
	Groups []Group
	// Details are the batch's details; Count counts the batch's reports.
	Details []Detail
	// Hours count the reports of each group by hour of their
	// [Report.OccurredAt].
	Hours []GroupHour
	// Clients count the reports of each group by client prefix.
	Clients []GroupClient
	// Policies are the batch's policies, each once.
	Policies []Policy
	// Counters count what was not stored as a violation, by hour received.
	Counters []HourCounter
	// Events are raw violation reports ([Config.RawEvents]).
	Events []Event
	// Other are reports of other types ([Config.KeepOther]).
	Other []OtherReport

	idx *batchIndex // the rows' positions by key, built on first use
}

// A GroupHour is the number of reports of one group in one hour.
type GroupHour struct {
	// Group is the group's fingerprint ([Group.Fingerprint]).
	Group string `json:"group"`
	// Hour is the start of the hour (UTC).
	Hour time.Time `json:"hour"`
	// Count is the number of reports.
	Count int64 `json:"count"`
}

// A GroupClient is the number of reports of one group from one client
// prefix ([Report.ClientPrefix]).
type GroupClient struct {
	// Group is the group's fingerprint ([Group.Fingerprint]).
	Group string `json:"group"`
	// Client is the client's address prefix.
	Client string `json:"client"`
	// Count is the number of reports.
	Count int64 `json:"count"`
	// LastSeen is when the latest of them was received.
	LastSeen time.Time `json:"last_seen"`
}

// A Policy is the text of a violated policy, kept once under its hash.
type Policy struct {
	// Hash is the SHA-256 (hex) of Text ([Report.PolicyHash]).
	Hash string `json:"hash"`
	// Text is the policy as the browser reported it, cut to 16 KiB.
	Text string `json:"text"`
	// FirstSeen is when a report first carried it.
	FirstSeen time.Time `json:"first_seen"`
}

// An HourCounter is a [Counter] of one hour: what a batch adds to it.
type HourCounter struct {
	// Hour is the start of the hour (UTC) the reports were received in.
	Hour time.Time `json:"hour"`
	// Kind is [KindFiltered], [KindOther] or [KindInvalid].
	Kind string `json:"kind"`
	// Name tells the reports of one kind apart ([Counter.Name]).
	Name string `json:"name"`
	// Count is the number of reports.
	Count int64 `json:"count"`
}

type batchIndex struct {
	groups   map[string]int
	details  map[string]int
	hours    map[groupHourKey]int
	clients  map[[2]string]int
	policies map[string]int
	counters map[counterKey]int
}

type groupHourKey struct {
	group string
	hour  time.Time
}

type counterKey struct {
	hour       time.Time
	kind, name string
}

// index returns b's index, built from its rows if need be (a Batch made
// by hand, or one whose rows were filtered).
func (b *Batch) index() *batchIndex {
	if b.idx != nil {
		return b.idx
	}
	x := &batchIndex{
		groups: make(map[string]int, len(b.Groups)), details: make(map[string]int, len(b.Details)),
		hours: make(map[groupHourKey]int, len(b.Hours)), clients: make(map[[2]string]int, len(b.Clients)),
		policies: make(map[string]int, len(b.Policies)), counters: make(map[counterKey]int, len(b.Counters)),
	}
	for i := range b.Groups {
		x.groups[b.Groups[i].Fingerprint] = i
	}
	for i := range b.Details {
		x.details[b.Details[i].Fingerprint] = i
	}
	for i, h := range b.Hours {
		x.hours[groupHourKey{h.Group, h.Hour}] = i
	}
	for i, c := range b.Clients {
		x.clients[[2]string{c.Group, c.Client}] = i
	}
	for i := range b.Policies {
		x.policies[b.Policies[i].Hash] = i
	}
	for i, c := range b.Counters {
		x.counters[counterKey{c.Hour, c.Kind, c.Name}] = i
	}
	b.idx = x
	return x
}

// reset empties b for the next commit, keeping its memory: the
// committer reuses one Batch (a Store keeps nothing of b after Save).
func (b *Batch) reset() {
	b.Groups, b.Details, b.Hours, b.Clients = truncate(b.Groups), truncate(b.Details), truncate(b.Hours), truncate(b.Clients)
	b.Policies, b.Counters, b.Events, b.Other = truncate(b.Policies), truncate(b.Counters), truncate(b.Events), truncate(b.Other)
	if x := b.idx; x != nil {
		clear(x.groups)
		clear(x.details)
		clear(x.hours)
		clear(x.clients)
		clear(x.policies)
		clear(x.counters)
	}
}

func truncate[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// Add adds one violation report to b: a count to its group, detail,
// hour, browser family and client, and its policy if b does not hold it.
func (b *Batch) Add(r *Report) {
	at := stamp(r.OccurredAt)
	fam := [1]BrowserCount{{Family: browserFamily(r.UserAgent), Count: 1}}
	g := Group{Fingerprint: r.GroupFP, Total: 1, FirstSeen: at, LastSeen: at, Browsers: fam[:]}
	if _, ok := b.index().groups[r.GroupFP]; !ok {
		// The example of a new group: built only then (exampleSource
		// allocates).
		g.Directive, g.Disposition, g.BlockedKind, g.BlockedOrigin = r.Directive, r.Disposition, r.BlockedKind, r.BlockedOrigin
		g.DocumentOrigin, g.DocumentPath, g.ExampleBlocked, g.ExampleSource = r.DocumentOrigin, r.DocumentPath, r.Blocked, exampleSource(r)
	}
	b.addGroup(&g)
	b.addDetail(&Detail{
		Fingerprint: r.DetailFP, GroupFP: r.GroupFP, SourceFile: r.SourceFile,
		Line: r.Line, Column: r.Column, Sample: r.Sample, PolicyHash: r.PolicyHash,
		PolicyVersion: r.PolicyVersion, ExampleDocument: r.DocumentURL,
		ExampleBlocked: r.Blocked, ExampleUA: r.UserAgent,
		Count: 1, FirstSeen: at, LastSeen: at,
	})
	b.addHour(GroupHour{Group: r.GroupFP, Hour: hourOf(r.OccurredAt), Count: 1})
	b.addClient(GroupClient{Group: r.GroupFP, Client: r.ClientPrefix, Count: 1, LastSeen: stamp(r.ReceivedAt)})
	if r.PolicyHash != "" {
		b.addPolicy(Policy{Hash: r.PolicyHash, Text: r.Policy, FirstSeen: at})
	}
}

// Count adds n reports that were not stored as violations, of kind
// ([KindFiltered], [KindOther], [KindInvalid]) and name, received at at.
func (b *Batch) Count(at time.Time, kind, name string, n int64) {
	b.addCounter(HourCounter{Hour: hourOf(at), Kind: kind, Name: name, Count: n})
}

// Merge adds o's rows to b by the same rules as [Batch.Add]: counts
// summed, first seen the earliest, last seen the latest, a detail's
// policy version the later batch's, everything else from the row b
// already holds; events and reports of other types are appended. It
// returns the fingerprints of o's groups that b did not hold. o is not
// changed, and b shares no memory with it that either would write.
func (b *Batch) Merge(o *Batch) (newGroups []string) {
	for i := range o.Groups {
		if b.addGroup(&o.Groups[i]) {
			newGroups = append(newGroups, o.Groups[i].Fingerprint)
		}
	}
	for i := range o.Details {
		b.addDetail(&o.Details[i])
	}
	for _, h := range o.Hours {
		b.addHour(h)
	}
	for _, c := range o.Clients {
		b.addClient(c)
	}
	for _, p := range o.Policies {
		b.addPolicy(p)
	}
	for _, c := range o.Counters {
		b.addCounter(c)
	}
	for _, e := range o.Events {
		e.ReceivedAt = stamp(e.ReceivedAt)
		b.Events = append(b.Events, e)
	}
	for _, r := range o.Other {
		r.ReceivedAt = stamp(r.ReceivedAt)
		b.Other = append(b.Other, r)
	}
	return newGroups
}

// The merge rules, one function per kind of row. Each reports whether the
// row was new to b.

func (b *Batch) addGroup(g *Group) bool {
	x := b.index()
	if i, ok := x.groups[g.Fingerprint]; ok {
		d := &b.Groups[i]
		d.Total += g.Total
		d.FirstSeen, d.LastSeen = minTime(d.FirstSeen, g.FirstSeen), maxTime(d.LastSeen, g.LastSeen)
	browsers:
		for _, f := range g.Browsers {
			for k := range d.Browsers {
				if d.Browsers[k].Family == f.Family {
					d.Browsers[k].Count += f.Count
					continue browsers
				}
			}
			d.Browsers = append(d.Browsers, f)
		}
		return false
	}
	x.groups[g.Fingerprint] = len(b.Groups)
	b.Groups = append(b.Groups, *g)
	b.Groups[len(b.Groups)-1].Browsers = slices.Clone(g.Browsers)
	return true
}

func (b *Batch) addDetail(d *Detail) {
	x := b.index()
	if i, ok := x.details[d.Fingerprint]; ok {
		e := &b.Details[i]
		e.Count += d.Count
		e.FirstSeen, e.LastSeen = minTime(e.FirstSeen, d.FirstSeen), maxTime(e.LastSeen, d.LastSeen)
		e.PolicyVersion = d.PolicyVersion
		return
	}
	x.details[d.Fingerprint] = len(b.Details)
	b.Details = append(b.Details, *d)
}

func (b *Batch) addHour(h GroupHour) {
	x := b.index()
	k := groupHourKey{h.Group, h.Hour}
	if i, ok := x.hours[k]; ok {
		b.Hours[i].Count += h.Count
		return
	}
	x.hours[k] = len(b.Hours)
	b.Hours = append(b.Hours, h)
}

func (b *Batch) addClient(c GroupClient) {
	x := b.index()
	k := [2]string{c.Group, c.Client}
	if i, ok := x.clients[k]; ok {
		e := &b.Clients[i]
		e.Count += c.Count
		e.LastSeen = maxTime(e.LastSeen, c.LastSeen)
		return
	}
	x.clients[k] = len(b.Clients)
	b.Clients = append(b.Clients, c)
}

func (b *Batch) addPolicy(p Policy) {
	x := b.index()
	if i, ok := x.policies[p.Hash]; ok {
		b.Policies[i].FirstSeen = minTime(b.Policies[i].FirstSeen, p.FirstSeen)
		return
	}
	x.policies[p.Hash] = len(b.Policies)
	b.Policies = append(b.Policies, p)
}

func (b *Batch) addCounter(c HourCounter) {
	x := b.index()
	k := counterKey{c.Hour, c.Kind, c.Name}
	if i, ok := x.counters[k]; ok {
		b.Counters[i].Count += c.Count
		return
	}
	x.counters[k] = len(b.Counters)
	b.Counters = append(b.Counters, c)
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

// sortBrowsers sorts counts most frequent first, then by family.
func sortBrowsers(bs []BrowserCount) {
	slices.SortFunc(bs, func(a, b BrowserCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Family, b.Family)
	})
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
