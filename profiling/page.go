package profiling

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// PageCSP is the Content-Security-Policy the profiles page adds to its
// responses: the page loads nothing (no script, no style, no image), so
// it works under any stricter policy of the application too.
const PageCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Profiles returns the staff page of the captures: a list of the ring at
// its root and each capture as a download, FILE.trace or FILE.pprof, under
// it. Mount it on a subtree pattern, with or without http.StripPrefix:
//
//	mux.Handle("GET /debug/profiles/", prof.Profiles())
//
// It checks the middleware's authorizer itself (defense in depth: put it
// behind the login gate as well) and answers 403, with a
// profiling.page_refused event, to anyone else. Every answer is
// Cache-Control: no-store. Downloads are logged as profiling.downloaded.
func (m *Middleware) Profiles() http.Handler {
	return &page{m: m}
}

type page struct {
	m *Middleware
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !p.m.authorize(r) {
		p.m.log.Log(r, seclog.ProfilingPageRefused)
		plain(w, r, http.StatusForbidden, "Forbidden\n")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		plain(w, r, http.StatusMethodNotAllowed, "Method Not Allowed\n")
		return
	}
	urlPath := r.URL.Path
	name := urlPath[strings.LastIndexByte(urlPath, '/')+1:]
	if name == "" {
		p.list(w, r)
		return
	}
	c, ok := p.m.ring.get(name)
	if !ok {
		plain(w, r, http.StatusNotFound, "Not Found: no such capture (the ring keeps the last ones only)\n")
		return
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+c.FileName()+`"`)
	h.Set("Content-Length", strconv.Itoa(len(c.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	p.m.log.Log(r, seclog.ProfilingDownloaded,
		zap.String("capture_id", c.ID), zap.String("kind", c.Kind.String()), zap.Int("bytes", len(c.Data)))
	_, _ = w.Write(c.Data)
}

// list writes the page.
func (p *page) list(w http.ResponseWriter, r *http.Request) {
	caps, size := p.m.ring.list()
	data := pageData{
		Captures: caps, Bytes: fmtBytes(size),
		Keep: p.m.ring.max, KeepBytes: fmtBytes(p.m.ring.maxBytes),
		MaxDuration: p.m.maxDuration.String(), MaxBytes: fmtBytes(p.m.maxBytes),
		Param: p.m.param, Header: p.m.header,
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		plain(w, r, http.StatusInternalServerError, "Internal Server Error\n")
		return
	}
	h := w.Header()
	h.Add("Content-Security-Policy", PageCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// plain writes a short plain-text answer.
func plain(w http.ResponseWriter, r *http.Request, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

func fmtBytes(n int) string { return string(appendBytes(nil, uint64(n))) }

type pageData struct {
	Captures      []Capture
	Bytes         string
	Keep          int
	KeepBytes     string
	MaxDuration   string
	MaxBytes      string
	Param, Header string
}

// pageTemplate is the page: no script, no style, no inline anything, so
// that it renders under default-src 'none'.
var pageTemplate = template.Must(template.New("profiles").Funcs(template.FuncMap{
	"bytes": fmtBytes,
	"utc":   func(c Capture) string { return c.Start.UTC().Format("2006-01-02 15:04:05.000") },
	"ms":    func(c Capture) string { return c.Duration.Round(100 * time.Microsecond).String() },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Profiles</title>
</head>
<body>
<h1>Profiles</h1>
<p>{{len .Captures}} captures kept ({{.Bytes}}), at most {{.Keep}} and {{.KeepBytes}}, in this process's memory only. Each capture is bounded to {{.MaxDuration}} and {{.MaxBytes}}; one runs at a time in the process.</p>
<p>Ask for one on any page as a staff member:{{if .Param}} add <code>?{{.Param}}=trace</code>, <code>?{{.Param}}=cpu</code> or <code>?{{.Param}}=trace,cpu</code> to its URL{{end}}{{if and .Param .Header}}, or{{end}}{{if .Header}} send the header <code>{{.Header}}: trace</code> (or <code>cpu</code>, <code>trace,cpu</code>){{end}}. <code>timing</code> asks for the Server-Timing header alone.</p>
<p>Open a <code>.trace</code> file with <code>go tool trace FILE</code> (the request is the task <code>bulwark.request</code>; its spans are tasks under it) and a <code>.pprof</code> file with <code>go tool pprof FILE</code>. Both cover the whole process during the request; <code>go tool pprof -tagfocus=bulwark=request FILE</code> keeps the request's own goroutines. The allocation and GC figures are process-wide too.</p>
{{if .Captures}}
<table>
<thead>
<tr><th scope="col">started (UTC)</th><th scope="col">user</th><th scope="col">request</th><th scope="col">kind</th><th scope="col">window</th><th scope="col">size</th><th scope="col">Server-Timing at the request's end</th><th scope="col">file</th></tr>
</thead>
<tbody>
{{range .Captures}}<tr>
<td>{{utc .}}</td>
<td>{{.User}}</td>
<td>{{.Method}} {{.Path}}</td>
<td>{{.Kind}}</td>
<td>{{ms .}}{{if .Cut}} (cut: {{.Cut}}){{end}}</td>
<td>{{bytes .Size}}</td>
<td>{{if .Timing}}<code>{{.Timing}}</code>{{else}}still running{{end}}</td>
<td><a href="{{.FileName}}" download="{{.FileName}}">{{.FileName}}</a></td>
</tr>
{{end}}</tbody>
</table>
{{else}}
<p>No capture yet.</p>
{{end}}
</body>
</html>
`))
