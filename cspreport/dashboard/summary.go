package dashboard

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/seclog"
)

// DefaultWindow is the time window the dashboard ([Config].Window) and
// `bulwark reports` show when not told otherwise: a day, long enough to
// see a daily pattern and the violations of the last deploy, short
// enough that what is listed is still happening.
const DefaultWindow = 24 * time.Hour

// QuietGap is how long a group must have gone without a report before
// the window for its return in the window to count as a regression: a
// week, so that a weekly job or weekend traffic is not a regression, and
// a violation fixed by a deploy and brought back by a later one is.
const QuietGap = 7 * 24 * time.Hour

// maxRead bounds the groups [Load] reads to find the new and regressed
// ones before it cuts to the query's limit.
const maxRead = 1000

// A Summary is the stored groups of a time window, new and regressed
// ones first, with the counters of what was not stored: what the
// dashboard and `bulwark reports` show.
type Summary struct {
	// Since is the start of the window: groups last seen before it are
	// left out, and counts are of reports since its hour.
	Since time.Time `json:"since"`
	// Groups are the groups seen in the window: the new ones, then the
	// regressed ones, then the others, each by descending count; at
	// most the query's limit of them.
	Groups []Group `json:"groups"`
	// Matched is the number of groups seen in the window, before the
	// limit: len(Groups) of Matched are shown.
	Matched int `json:"matched"`
	// NewGroups and RegressedGroups count the groups marked New and
	// Regressed among those Load read: the first 1000 of the window by
	// count, or the query's limit when it is larger.
	NewGroups int `json:"new_groups"`
	// RegressedGroups: see NewGroups.
	RegressedGroups int `json:"regressed_groups"`
	// Counters are the reports of the window that were not stored as
	// violations (filtered, other types, unreadable). The query's
	// filters do not apply to them: they belong to no group.
	Counters []cspreport.Counter `json:"counters"`
}

// A Group is a group in a summary, with what the window says of it.
type Group struct {
	cspreport.Group
	// New reports that the group was first seen in the window: a
	// violation that a deploy or a new third party just brought.
	New bool `json:"new"`
	// Regressed reports that the group was first seen more than
	// [QuietGap] before the window, had no report in the QuietGap just
	// before the window, and reports again in it: a violation that was
	// gone (fixed, or its page unused) and came back.
	Regressed bool `json:"regressed"`
}

// Load reads a summary of the groups q selects from s: q's filters and
// window, New and Regressed marked (with a zero q.Since nothing is new or
// regressed), new groups first, then regressed ones, then the others,
// cut to q.Limit (0: 100). To find them, Load reads up to 1000 groups by
// count, and one more query for the quiet span before the window.
func Load(ctx context.Context, s cspreport.Store, q cspreport.GroupQuery) (*Summary, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	read := q
	read.Limit = max(limit, maxRead)
	gs, err := s.Groups(ctx, read)
	if err != nil {
		return nil, err
	}
	matched, err := s.CountGroups(ctx, q)
	if err != nil {
		return nil, err
	}
	cs, err := s.Counters(ctx, q.Since)
	if err != nil {
		return nil, err
	}
	var quiet map[string]bool // groups with reports in the quiet span
	gapStart := hour(q.Since).Add(-QuietGap)
	if !q.Since.IsZero() {
		gap := q
		gap.Since, gap.Until, gap.Limit = gapStart, hour(q.Since), maxRead
		active, err := s.Groups(ctx, gap)
		if err != nil {
			return nil, err
		}
		quiet = map[string]bool{}
		for _, g := range active {
			quiet[g.Fingerprint] = g.Count > 0
		}
		// More active groups than read: those left out are not known to
		// have been quiet, so none of them is marked regressed.
		if len(active) == maxRead && active[len(active)-1].Count > 0 {
			quiet = nil
		}
	}
	// A group seen between the reads is in one and not the other.
	sum := &Summary{Since: q.Since.UTC(), Counters: cs, Matched: max(matched, min(len(gs), limit))}
	out := make([]Group, len(gs))
	for i, g := range gs {
		out[i] = Group{Group: g}
		if q.Since.IsZero() {
			continue
		}
		out[i].New = !g.FirstSeen.Before(stamp(q.Since))
		out[i].Regressed = !out[i].New && g.FirstSeen.Before(gapStart) && g.Count > 0 && quiet != nil && !quiet[g.Fingerprint]
		if out[i].New {
			sum.NewGroups++
		}
		if out[i].Regressed {
			sum.RegressedGroups++
		}
	}
	slices.SortStableFunc(out, func(a, b Group) int { return rank(a) - rank(b) })
	sum.Groups = out[:min(len(out), limit)]
	return sum, nil
}

// rank orders new groups first, then regressed ones.
func rank(g Group) int {
	switch {
	case g.New:
		return 0
	case g.Regressed:
		return 1
	}
	return 2
}

// WriteJSON writes the summary as one JSON object. Every character that
// [seclog.Escape] would escape (C1 controls, bidirectional and other
// format characters, line separators) is written as a \u escape, so the
// output shows no report's hidden characters to a terminal and still
// decodes to the stored values.
func (s *Summary) WriteJSON(w io.Writer) error { return WriteJSON(w, s) }

// WriteJSON writes v as indented JSON with the hidden characters of
// report values escaped as [Summary.WriteJSON] escapes them: for other
// views of the store's data (a group's details and raw reports) that land
// in terminals too.
func WriteJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeHiddenJSON(buf.Bytes()))
	return err
}

// escapeHiddenJSON rewrites, in JSON text, each non-ASCII character that
// seclog escapes as a \u escape (a surrogate pair above U+FFFF). Such
// characters can stand only inside JSON strings, where the escape means
// the same character. encoding/json has already escaped C0 controls,
// U+2028 and U+2029, and replaced invalid UTF-8.
func escapeHiddenJSON(b []byte) []byte {
	out := b[:0:0]
	last := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if s := string(r); seclog.Escape(s) == s {
			i += size
			continue
		}
		out = append(out, b[last:i]...)
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
		last = i
	}
	if last == 0 {
		return b
	}
	return append(out, b[last:]...)
}

// csvHeader is the header row of WriteCSV.
var csvHeader = []string{"fingerprint", "effective_directive", "disposition", "blocked_kind", "blocked_origin",
	"document_origin", "document_path", "count", "total", "first_seen", "last_seen", "new", "regressed", "muted",
	"example_source", "browsers"}

// WriteCSV writes the groups as CSV with a header row. Cells are escaped
// as the table's are ([seclog.Escape]: CSV has no escapes of its own, and a
// CSV file is read in terminals and viewers too), and cells that a
// spreadsheet would run as a formula are prefixed with a quote.
func (s *Summary) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, g := range s.Groups {
		row := []string{g.Fingerprint, g.Directive, g.Disposition, g.BlockedKind, g.BlockedOrigin, g.DocumentOrigin,
			g.DocumentPath, strconv.FormatInt(g.Count, 10), strconv.FormatInt(g.Total, 10),
			g.FirstSeen.Format(time.RFC3339), g.LastSeen.Format(time.RFC3339), strconv.FormatBool(g.New),
			strconv.FormatBool(g.Regressed), strconv.FormatBool(g.Muted), g.ExampleSource, browsers(g.Browsers)}
		for i, c := range row {
			row[i] = csvSafe(seclog.Escape(c))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// browsers is "Chrome 12, Firefox 3".
func browsers(bs []cspreport.BrowserCount) string {
	var b strings.Builder
	for i, c := range bs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Family + " " + strconv.FormatInt(c.Count, 10))
	}
	return b.String()
}

// csvSafe prefixes with a quote a cell that a spreadsheet would read as
// a formula (OWASP's CSV injection list).
func csvSafe(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// WriteTable writes the summary as an aligned text table, a line that
// says how many of the matching groups it shows ("3 of 12 groups"), then
// the counters. Values are escaped by seclog's rules ([seclog.Escape]:
// control characters C0 and C1, bidirectional and other format
// characters, line separators, invalid UTF-8), so that a report cannot
// write escape sequences to a terminal nor show it a value other than it
// is.
func (s *Summary) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tTOTAL\tDIRECTIVE\tDISPOSITION\tBLOCKED\tDOCUMENT\tLAST SEEN\tNEW\tGROUP")
	for _, g := range s.Groups {
		mark := ""
		switch {
		case g.New:
			mark = "new"
		case g.Regressed:
			mark = "regressed"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Count, g.Total, seclog.Escape(g.Directive), seclog.Escape(g.Disposition),
			seclog.Escape(g.BlockedOrigin), seclog.Escape(g.DocumentOrigin+g.DocumentPath), g.LastSeen.Format(time.RFC3339), mark, g.Fingerprint)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d of %d groups shown\n", len(s.Groups), s.Matched)
	if len(s.Counters) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NOT STORED\tREASON\tCOUNT")
		for _, c := range s.Counters {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", c.Kind, seclog.Escape(c.Name), c.Count)
		}
		return tw.Flush()
	}
	return nil
}

// hour and stamp are cspreport's rules for stored times (an hour's
// bucket; UTC to the microsecond), which it does not export.
func hour(t time.Time) time.Time  { return t.UTC().Truncate(time.Hour) }
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
