package cspreport

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// A Summary is the stored groups of a time window, with the counters of
// what was not stored, as the summary page and `bulwark reports` show
// them.
type Summary struct {
	// Since is the start of the window: groups seen before it are left
	// out, and counts are of reports since then.
	Since time.Time `json:"since"`
	// Groups are the groups seen in the window, most reports first, at
	// most the query's limit of them.
	Groups []SummaryGroup `json:"groups"`
	// Matched is the number of groups seen in the window, before the
	// limit: len(Groups) of Matched are shown.
	Matched int `json:"matched"`
	// Counters are the reports of the window that were not stored as
	// violations (filtered, other types, unreadable).
	Counters []Counter `json:"counters"`
}

// A SummaryGroup is a group in a summary.
type SummaryGroup struct {
	Group
	// New reports that the group was first seen in the window: a
	// violation that a deploy or a new third party just brought.
	New bool `json:"new"`
}

// DefaultWindow is the time window the summary page ([SummaryConfig]
// Window) and `bulwark reports` show when not told otherwise: a day, long
// enough to see a daily pattern and the violations of the last deploy,
// short enough that what is listed is still happening.
const DefaultWindow = 24 * time.Hour

// LoadSummary reads a summary from s.
func LoadSummary(ctx context.Context, s Store, q GroupQuery) (*Summary, error) {
	gs, err := s.Groups(ctx, q)
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
	// A group seen between the two reads is in one and not the other.
	sum := &Summary{Since: q.Since.UTC(), Counters: cs, Groups: make([]SummaryGroup, len(gs)), Matched: max(matched, len(gs))}
	for i, g := range gs {
		sum.Groups[i] = SummaryGroup{Group: g, New: !q.Since.IsZero() && !g.FirstSeen.Before(q.Since.UTC().Truncate(time.Microsecond))}
	}
	return sum, nil
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
// the same character. encoding/json has already escaped C0 controls and
// replaced invalid UTF-8.
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
	"document_origin", "document_path", "count", "total", "first_seen", "last_seen", "new", "muted", "example_source", "browsers"}

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
			strconv.FormatBool(g.Muted), g.ExampleSource, browsers(g.Browsers)}
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
func browsers(bs []BrowserCount) string {
	var b strings.Builder
	for i, c := range bs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Family + " " + strconv.FormatInt(c.Count, 10))
	}
	return b.String()
}

func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
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
		newMark := ""
		if g.New {
			newMark = "new"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Count, g.Total, seclog.Escape(g.Directive), seclog.Escape(g.Disposition),
			seclog.Escape(g.BlockedOrigin), seclog.Escape(g.DocumentOrigin+g.DocumentPath), g.LastSeen.Format(time.RFC3339), newMark, g.Fingerprint)
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

// SummaryConfig configures the summary page.
type SummaryConfig struct {
	// Store is where the reports are. Required.
	Store Store
	// Window is the default time window (0: [DefaultWindow]); ?since=1h
	// (a Go duration) chooses another.
	Window time.Duration
	// Limit is how many groups are listed (default 100).
	Limit int
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// SummaryHandler serves the summary of the stored reports: an HTML page
// (html/template, no script, its own strict Content-Security-Policy), or
// JSON with ?format=json, or CSV with ?format=csv; ?group=FP shows a
// group's details; a POST with mute=FP or unmute=FP mutes or unmutes a
// group (same-origin only: http.CrossOriginProtection). It reads no
// session: mount it behind the application's login and staff check.
type SummaryHandler struct {
	store  Store
	window time.Duration
	limit  int
	now    func() time.Time
	cop    *http.CrossOriginProtection
}

// NewSummary validates cfg and returns the summary handler.
func NewSummary(cfg SummaryConfig) (*SummaryHandler, error) {
	if cfg.Store == nil {
		return nil, errors.New("cspreport: SummaryConfig.Store is nil: give it the receiver's Store")
	}
	if cfg.Window < 0 || cfg.Limit < 0 {
		return nil, errors.New("cspreport: SummaryConfig: Window and Limit must not be negative (0 means 24h and 100)")
	}
	h := &SummaryHandler{store: cfg.Store, window: or(cfg.Window, DefaultWindow), limit: or(cfg.Limit, 100), now: cfg.Now, cop: http.NewCrossOriginProtection()}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// summaryCSP is the page's own policy: nothing but itself, no script.
const summaryCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var fpRE = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)

// ServeHTTP serves the page, JSON or CSV for GET and HEAD, and mutes or
// unmutes a group for a same-origin POST; other methods get 405.
func (h *SummaryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		h.mute(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	window := h.window
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 400*24*time.Hour {
			http.Error(w, "since: write a duration such as 1h or 168h", http.StatusBadRequest)
			return
		}
		window = d
	}
	since := h.now().Add(-window)
	if g := r.URL.Query().Get("group"); g != "" {
		h.details(w, r, g)
		return
	}
	sum, err := LoadSummary(r.Context(), h.store, GroupQuery{Since: since, Limit: h.limit, Muted: r.URL.Query().Has("muted")})
	if err != nil {
		http.Error(w, "the report store is unavailable", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Query().Get("format") {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		_ = sum.WriteJSON(w)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="csp-reports.csv"`)
		_ = sum.WriteCSV(w)
	default:
		w.Header().Set("Content-Security-Policy", summaryCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = summaryPage.ExecuteTemplate(w, "summary", struct {
			*Summary
			Window string
			Path   string
			Muted  bool
		}{sum, window.String(), r.URL.Path, r.URL.Query().Has("muted")})
	}
}

func (h *SummaryHandler) details(w http.ResponseWriter, r *http.Request, g string) {
	if !fpRE.MatchString(g) {
		http.Error(w, "group: not a fingerprint", http.StatusBadRequest)
		return
	}
	ds, err := h.store.Details(r.Context(), g, h.limit)
	if err != nil {
		http.Error(w, "the report store is unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Group   string   `json:"group"`
			Details []Detail `json:"details"`
		}{g, ds})
		return
	}
	w.Header().Set("Content-Security-Policy", summaryCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = summaryPage.ExecuteTemplate(w, "details", struct {
		Group   string
		Details []Detail
		Path    string
	}{g, ds, r.URL.Path})
}

func (h *SummaryHandler) mute(w http.ResponseWriter, r *http.Request) {
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	g, muted := r.PostForm.Get("mute"), true
	if g == "" {
		g, muted = r.PostForm.Get("unmute"), false
	}
	if !fpRE.MatchString(g) {
		http.Error(w, "mute or unmute: not a fingerprint", http.StatusBadRequest)
		return
	}
	switch err := h.store.Mute(r.Context(), g, muted); {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "no such group", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "the report store is unavailable", http.StatusServiceUnavailable)
		return
	}
	// Back to the page that posted: "?" is this very path with an empty
	// query, so no part of the request (its decoded path least of all)
	// is put in Location, and a proxy's path prefix is kept.
	identity.Redirect(w, r, "?", http.StatusSeeOther)
}

var summaryPage = template.Must(template.New("").Funcs(template.FuncMap{
	"t":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"browsers": browsers,
}).Parse(`{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.}}</title></head><body>{{end}}
{{define "summary"}}{{template "head" "CSP reports"}}
<h1>CSP reports</h1>
<p>{{len .Groups}} of {{.Matched}} groups seen in the last {{.Window}} (<a href="?since=1h">1h</a> · <a href="?since=24h">24h</a> · <a href="?since=168h">7 days</a>{{if .Muted}} · <a href="?">hide muted</a>{{else}} · <a href="?muted=1">show muted</a>{{end}}) · export <a href="?format=json">JSON</a>, <a href="?format=csv">CSV</a></p>
<table id="groups">
<thead><tr><th>count</th><th>directive</th><th>disposition</th><th>blocked</th><th>document</th><th>example source</th><th>browsers</th><th>first seen</th><th>last seen</th><th></th></tr></thead>
<tbody>
{{range .Groups}}<tr>
<td>{{.Count}}{{if ne .Count .Total}} ({{.Total}} in all){{end}}</td>
<td><code>{{.Directive}}</code></td><td>{{.Disposition}}</td>
<td><code>{{.BlockedOrigin}}</code>{{if .New}} <strong class="new">new</strong>{{end}}{{if .Muted}} <em>muted</em>{{end}}</td>
<td>{{.DocumentOrigin}}{{.DocumentPath}}</td><td><code>{{.ExampleSource}}</code></td><td>{{browsers .Browsers}}</td>
<td>{{t .FirstSeen}}</td><td>{{t .LastSeen}}</td>
<td><a href="?group={{.Fingerprint}}">details</a>
<form method="post" action="{{$.Path}}"><input type="hidden" name="{{if .Muted}}unmute{{else}}mute{{end}}" value="{{.Fingerprint}}"><button>{{if .Muted}}unmute{{else}}mute{{end}}</button></form></td>
</tr>{{else}}<tr><td colspan="10">No reports in this window.</td></tr>{{end}}
</tbody></table>
<h2>Not stored</h2>
<table id="counters"><thead><tr><th>kind</th><th>reason or type</th><th>count</th></tr></thead><tbody>
{{range .Counters}}<tr><td>{{.Kind}}</td><td><code>{{.Name}}</code></td><td>{{.Count}}</td></tr>{{else}}<tr><td colspan="3">None.</td></tr>{{end}}
</tbody></table>
</body></html>
{{end}}
{{define "details"}}{{template "head" "CSP report details"}}
<h1>Group <code>{{.Group}}</code></h1>
<p><a href="{{.Path}}">back to the summary</a> · <a href="?group={{.Group}}&amp;format=json">JSON</a></p>
<table id="details"><thead><tr><th>count</th><th>source</th><th>sample</th><th>document</th><th>blocked</th><th>policy version</th><th>user agent</th><th>first seen</th><th>last seen</th></tr></thead><tbody>
{{range .Details}}<tr><td>{{.Count}}</td><td><code>{{.SourceFile}}{{if .Line}}:{{.Line}}{{if .Column}}:{{.Column}}{{end}}{{end}}</code></td>
<td><code>{{.Sample}}</code></td><td>{{.ExampleDocument}}</td><td><code>{{.ExampleBlocked}}</code></td><td>{{.PolicyVersion}}</td><td>{{.ExampleUA}}</td>
<td>{{t .FirstSeen}}</td><td>{{t .LastSeen}}</td></tr>{{else}}<tr><td colspan="9">No details.</td></tr>{{end}}
</tbody></table>
</body></html>
{{end}}`))
