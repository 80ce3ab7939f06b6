// Package dashboard serves the CSP reports a [cspreport.Store] holds as a
// page people want to open: what is new, what came back, what to do.
//
// A [Handler] shows, for a time window (a day by default):
//
//   - a chart of the reports per hour, one colour per effective directive
//     and disposition, drawn on the server as SVG;
//   - the groups of the window, new and regressed ones first, each with
//     its counts, browsers and first and last seen, a link to its details
//     and a button that mutes it (muted groups are still counted, and
//     listed with "show muted");
//   - filters, as query parameters that can be bookmarked: since (a Go
//     duration: 1h, 24h, 168h), directive, disposition, origin (the
//     document origin), browser (a family: Chrome, Firefox …) and muted;
//   - the policy assistant (cspreport/assistant) for the chosen origin, or
//     for the one origin there is: the sources its users need, the
//     suspicious ones, the merged policy, and whether a report-only
//     policy is ready to enforce;
//   - exports of exactly the filtered groups (?format=csv, ?format=json);
//   - a group's page (?group=KEY): its hourly chart, its details (source
//     location, sample, example page, blocked value, User-Agent, policy
//     version) and the raw reports kept of each (cspreport.Config
//     RawEvents).
//
// A group is new when its first report happened inside the window. A
// group is regressed when it was first seen more than [QuietGap] (a week)
// before the window, had no report at all in the QuietGap just before
// the window, and reports again inside it: a violation that had stopped
// (fixed, or its page out of use) and came back. New groups come first,
// then regressed ones, then the others by count.
//
// The handler reads no session: mount it behind the application's login
// and staff check. It answers with its own strict Content-Security-Policy
// ([CSP]: no script at all, its one stylesheet from 'self'), no-store,
// and nosniff. Its mute and unmute forms are POSTs that
// [http.CrossOriginProtection] refuses cross-origin. Everything a report
// carried is attacker-controlled: the page escapes it (html/template),
// links to none of it, and the exports escape it too.
package dashboard

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/assistant"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// CSP is the policy of every answer of the handler: nothing but its own
// stylesheet, and forms that post to itself. The page has no script; its
// chart is inline SVG, which needs no source.
const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// DefaultLimit is how many groups the page lists when [Config].Limit is
// 0: a page that loads fast and still shows every group a day of a
// typical site brings; the exports and "N of M" give the rest.
const DefaultLimit = 100

const (
	// maxExport bounds the groups of an export.
	maxExport = 10000
	// maxDetails and maxEvents bound a group's page: its details, and
	// the raw reports shown per detail.
	maxDetails, maxEvents = 50, 3
)

// Config configures a [Handler].
type Config struct {
	// Store is where the reports are. Required.
	Store cspreport.Store
	// AppURL is where the page's navigation leads back to: a path on
	// the same site ("/admin/") or an http(s) URL. Empty means "/".
	AppURL string
	// AppName names the application in that link ("Acme admin"). Empty
	// means "Application".
	AppName string
	// Window is the time window shown when the request does not choose
	// one with ?since= (0: [DefaultWindow]).
	Window time.Duration
	// Limit is how many groups the page lists (0: [DefaultLimit]);
	// exports hold every filtered group, up to 10,000.
	Limit int
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Handler serves the dashboard: see the package documentation. It is
// safe for concurrent use.
type Handler struct {
	store           cspreport.Store
	assistant       *assistant.Assistant
	appURL, appName string
	window          time.Duration
	limit           int
	now             func() time.Time
	cop             *http.CrossOriginProtection
	stylesheetHREF  string // ?asset=dashboard.css&v=<hash of the file>
	stylesheetETag  string
}

// New checks cfg and returns the dashboard's handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("dashboard: Config.Store is nil: give it the store the receiver writes (cspreport.Config.Store)")
	case cfg.Window < 0 || cfg.Window > maxWindow || (cfg.Window > 0 && cfg.Window < time.Minute):
		return nil, fmt.Errorf("dashboard: Config.Window %v: write a duration between 1m and 9600h (400 days), or 0 for %v", cfg.Window, DefaultWindow)
	case cfg.Limit < 0 || cfg.Limit > maxRead:
		return nil, fmt.Errorf("dashboard: Config.Limit %d: write 1 to %d, or 0 for %d", cfg.Limit, maxRead, DefaultLimit)
	case !utf8.ValidString(cfg.AppName) || len(cfg.AppName) > 100:
		return nil, errors.New("dashboard: Config.AppName: write a short name in UTF-8 (at most 100 bytes), such as \"Acme admin\"")
	}
	if err := checkAppURL(cfg.AppURL); err != nil {
		return nil, err
	}
	a, err := assistant.New(assistant.Config{Store: cfg.Store, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	sum := sha256.Sum256([]byte(stylesheet))
	v := hex.EncodeToString(sum[:8])
	h := &Handler{store: cfg.Store, assistant: a, appURL: cfg.AppURL, appName: cfg.AppName, window: cfg.Window,
		limit: cfg.Limit, now: cfg.Now, cop: http.NewCrossOriginProtection(),
		stylesheetHREF: "?asset=dashboard.css&v=" + v, stylesheetETag: `"` + v + `"`}
	if h.appURL == "" {
		h.appURL = "/"
	}
	if h.appName == "" {
		h.appName = "Application"
	}
	if h.window == 0 {
		h.window = DefaultWindow
	}
	if h.limit == 0 {
		h.limit = DefaultLimit
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// checkAppURL accepts a path of this site or an absolute http(s) URL.
func checkAppURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	ok := err == nil && utf8.ValidString(s)
	switch {
	case !ok:
	case u.Scheme == "" && u.Host == "":
		ok = len(s) > 0 && s[0] == '/' && (len(s) == 1 || (s[1] != '/' && s[1] != '\\'))
	default:
		ok = (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
	}
	if !ok {
		return fmt.Errorf("dashboard: Config.AppURL %q: write a path of this site such as /admin/, or an http(s) URL such as https://app.example.com/", s)
	}
	return nil
}

// maxWindow is the longest window a request or Config may choose.
const maxWindow = 400 * 24 * time.Hour

//go:embed dashboard.css
var stylesheet string

//go:embed dashboard.html
var pageText string

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"t":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"ts":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"browsers": browsers,
	// e shows a value a report carried with its hidden characters
	// (bidirectional controls, line separators …) as escapes, as the
	// command line shows them: html/template escapes markup, not those.
	"e": seclog.Escape,
	"findings": func(id string, fs []assistant.Finding, reason bool) any {
		return struct {
			ID       string
			Findings []assistant.Finding
			Reason   bool
		}{id, fs, reason}
	},
}).Parse(pageText))

var fpRE = regexp.MustCompile(`^[0-9A-Za-z]{1,64}$`)

// ServeHTTP serves the page, its stylesheet, JSON or CSV for GET and
// HEAD, and mutes or unmutes a group for a same-origin POST; other
// methods get 405. A bad query parameter gets 400 with what to write; a
// store that fails, 503.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		h.mute(w, r)
		return
	default:
		hd.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if q.Has("asset") {
		h.asset(w, r, q.Get("asset"))
		return
	}
	f, err := h.parseFilter(q)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	format := q.Get("format")
	switch format {
	case "", "html", "json", "csv":
	default:
		http.Error(w, "format: write html, json or csv", http.StatusBadRequest)
		return
	}
	if q.Has("group") {
		h.group(w, r, f, q.Get("group"), format)
		return
	}
	h.list(w, r, f, format)
}

// asset serves the stylesheet; it is named by its hash, so it may be
// cached.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request, name string) {
	if name != "dashboard.css" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("ETag", h.stylesheetETag)
	if r.Header.Get("If-None-Match") == h.stylesheetETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(stylesheet))
	}
}

// unavailable answers a store's failure.
func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "10")
	http.Error(w, "the report store is unavailable: try again in a moment", http.StatusServiceUnavailable)
}

// list serves the groups of the window: the page, or an export.
func (h *Handler) list(w http.ResponseWriter, r *http.Request, f filter, format string) {
	ctx := r.Context()
	now := h.now()
	q := f.query(now)
	q.Limit = h.limit
	if format == "json" || format == "csv" {
		q.Limit = maxExport
	}
	sum, err := Load(ctx, h.store, q)
	if err != nil {
		unavailable(w)
		return
	}
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="csp-reports.json"`)
		_ = sum.WriteJSON(w)
		return
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="csp-reports.csv"`)
		_ = sum.WriteCSV(w)
		return
	}
	hours, err := h.store.Hours(ctx, q)
	if err != nil {
		unavailable(w)
		return
	}
	p := listPage{common: h.common(f, "CSP reports"), Summary: sum, Chart: newChart(hours, q.Since, now, func(directive, disposition string) string {
		return f.link("directive", directive, "disposition", disposition)
	})}
	for _, g := range sum.Groups {
		p.Directives = appendNew(p.Directives, g.Directive)
		p.Origins = appendNew(p.Origins, g.DocumentOrigin)
		for _, b := range g.Browsers {
			p.Browsers = appendNew(p.Browsers, b.Family)
		}
	}
	slices.Sort(p.Directives)
	slices.Sort(p.Origins)
	slices.Sort(p.Browsers)
	p.Advice, p.AdviceOrigin, p.AdviceNote, err = h.advice(ctx, f, q.Since, p.Origins)
	if err != nil {
		unavailable(w)
		return
	}
	h.render(w, "list", p)
}

// advice runs the policy assistant for the filtered origin, or for the
// one origin the page lists; with several, it says to choose one.
func (h *Handler) advice(ctx context.Context, f filter, since time.Time, origins []string) (*assistant.Origin, string, string, error) {
	origin := f.Origin
	if origin == "" {
		switch len(origins) {
		case 0:
			return nil, "", "No reports in this window: nothing to suggest.", nil
		case 1:
			origin = origins[0]
		default:
			return nil, "", "Choose a document origin (the filter above, or a link in the table) to see its policy advice.", nil
		}
	}
	res, err := h.assistant.Suggest(ctx, assistant.Query{Since: since, Origin: origin})
	if err != nil {
		return nil, origin, "", err
	}
	o, err := res.Find(origin)
	if err != nil {
		return nil, origin, "No reports from this origin in this window: nothing to suggest.", nil
	}
	return o, origin, "", nil
}

// appendNew appends v to s unless s holds it.
func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// groupDetail is a detail and the raw reports kept of it.
type groupDetail struct {
	cspreport.Detail
	Events []cspreport.Event `json:"events"`
}

// group serves a group's page, or its JSON.
func (h *Handler) group(w http.ResponseWriter, r *http.Request, f filter, fp, format string) {
	if !fpRE.MatchString(fp) {
		http.Error(w, "group: write a group key as listed (letters and digits)", http.StatusBadRequest)
		return
	}
	if format == "csv" {
		http.Error(w, "format: a group's details are not one table: write json", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	gs, err := h.store.Groups(ctx, cspreport.GroupQuery{Fingerprint: fp, Muted: true, Limit: 1})
	if err != nil {
		unavailable(w)
		return
	}
	if len(gs) == 0 {
		http.Error(w, "no such group: it may have been deleted by retention", http.StatusNotFound)
		return
	}
	ds, err := h.store.Details(ctx, fp, maxDetails)
	if err != nil {
		unavailable(w)
		return
	}
	p := groupPage{common: h.common(f, "CSP report group"), Group: gs[0]}
	for _, d := range ds {
		evs, err := h.store.Events(ctx, d.Fingerprint, maxEvents)
		if err != nil {
			unavailable(w)
			return
		}
		p.Details = append(p.Details, groupDetail{Detail: d, Events: evs})
	}
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		_ = WriteJSON(w, struct {
			Group   cspreport.Group `json:"group"`
			Details []groupDetail   `json:"details"`
		}{p.Group, p.Details})
		return
	}
	now := h.now()
	q := f.query(now)
	hours, err := h.store.Hours(ctx, cspreport.GroupQuery{Since: q.Since, Fingerprint: fp, Muted: true})
	if err != nil {
		unavailable(w)
		return
	}
	p.Chart = newChart(hours, q.Since, now, nil)
	h.render(w, "group", p)
}

// render writes a page.
func (h *Handler) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An error here is the client's hang-up: the page is half written
	// and nothing can be added.
	_ = pages.ExecuteTemplate(w, name, data)
}

// mute mutes or unmutes a group for a same-origin POST, and sends the
// browser back to the page it posted from (the filters and group it
// carried, checked and written again).
func (h *Handler) mute(w http.ResponseWriter, r *http.Request) {
	if err := h.cop.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f, err := h.parseFilter(r.PostForm)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	g, muted := r.PostForm.Get("mute"), true
	if g == "" {
		g, muted = r.PostForm.Get("unmute"), false
	}
	if !fpRE.MatchString(g) {
		http.Error(w, "mute or unmute: write a group key as listed (letters and digits)", http.StatusBadRequest)
		return
	}
	back := f.link()
	if r.PostForm.Get("back") == "group" {
		back = f.link("group", g)
	}
	switch err := h.store.Mute(r.Context(), g, muted); {
	case errors.Is(err, cspreport.ErrNotFound):
		http.Error(w, "no such group: it may have been deleted by retention", http.StatusNotFound)
		return
	case err != nil:
		unavailable(w)
		return
	}
	// Back to the page that posted: a query of this very path ("?…",
	// built from checked values), so no part of the request (its
	// decoded path least of all) is put in Location, and a proxy's path
	// prefix is kept.
	identity.Redirect(w, r, back, http.StatusSeeOther)
}
