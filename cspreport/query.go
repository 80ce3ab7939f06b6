package cspreport

import "time"

// An HourCount is the number of reports of one hour, effective directive
// and disposition, as [Store.Hours] returns them: the points of a chart
// of reports over time.
type HourCount struct {
	// Hour is the start of the hour (UTC) in which the violations
	// happened ([Report.OccurredAt]).
	Hour time.Time `json:"hour"`
	// Directive is the effective directive of the groups counted.
	Directive string `json:"effective_directive"`
	// Disposition is "enforce", "report" or "unknown".
	Disposition string `json:"disposition"`
	// Count is the number of reports.
	Count int64 `json:"count"`
}

// matches reports whether g passes the filters of q other than its time
// window and limit: muted, fingerprint, directive, disposition, origin.
// The browser filter needs the group's browser counts: see matchesBrowser.
func (q *GroupQuery) matches(g *Group) bool {
	return (!g.Muted || q.Muted) &&
		(q.Fingerprint == "" || q.Fingerprint == g.Fingerprint) &&
		(q.Directive == "" || q.Directive == g.Directive) &&
		(q.Disposition == "" || q.Disposition == g.Disposition) &&
		(q.DocumentOrigin == "" || q.DocumentOrigin == g.DocumentOrigin)
}

// inWindow reports whether g, first and last seen as it is, overlaps the
// window of q: last seen at or after Since, first seen before Until.
func (q *GroupQuery) inWindow(g *Group) bool {
	return (q.Since.IsZero() || !g.LastSeen.Before(stamp(q.Since))) &&
		(q.Until.IsZero() || g.FirstSeen.Before(stamp(q.Until)))
}

// countsHour reports whether the reports of hour h count in the window of
// q: from the hour of Since, of the hours that start before Until.
func (q *GroupQuery) countsHour(h time.Time) bool {
	return (q.Since.IsZero() || !h.Before(hourOf(q.Since))) &&
		(q.Until.IsZero() || h.Before(stamp(q.Until)))
}
