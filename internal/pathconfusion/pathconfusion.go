// Package pathconfusion runs the path-confusion corpus
// (shared/testdata/path-confusion/cases.tsv, and tables in the same format)
// against a site, for the tests of pathrule and of the gates that
// use it. It sends each request line exactly as written, over TCP, and
// checks the answers that the corpus README accepts for each verdict.
package pathconfusion

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Row is one row of a path-confusion table.
type Row struct {
	Line    int
	Target  string // the raw request-target
	Method  string
	Verdict string // public, login or reject
	Outcome string // go_mux_outcome ("" in tables without it)
	Why     string
}

// Read reads a cases.tsv file: a header, then rows whose first three
// columns are raw_request_target, method and verdict; go_mux_outcome and
// why are read by name when present.
func Read(t testing.TB, file string) []Row {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	var rows []Row
	for n, line := range lines[1:] {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != len(header) {
			t.Fatalf("%s:%d: %d fields, want %d", file, n+2, len(f), len(header))
		}
		target, err := strconv.Unquote(`"` + f[0] + `"`)
		if err != nil {
			t.Fatalf("%s:%d: target %q: %v", file, n+2, f[0], err)
		}
		row := Row{Line: n + 2, Target: target, Method: f[1], Verdict: f[2]}
		if i, ok := col["why"]; ok {
			row.Why = f[i]
		}
		if i, ok := col["go_mux_outcome"]; ok {
			row.Outcome = f[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// Send writes "METHOD TARGET HTTP/1.1" exactly as given to addr, with Host
// bulwark.test, and reads the answer.
func Send(t testing.TB, addr, method, target string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: bulwark.test\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	return resp
}

// SameSite reports whether a Location stays on the site: it starts with
// exactly one "/", not "//" or "/\".
func SameSite(p string) bool {
	return len(p) > 0 && p[0] == '/' && (len(p) == 1 || (p[1] != '/' && p[1] != '\\'))
}

// Served is what the site did with one request: the handler that ran ("",
// or "protected" for the catch-all), and how many security events it
// logged.
type Served struct {
	Handler string
	Events  int
	Detail  string // anything that helps a failure message
}

// Check asserts the corpus README's acceptable answers for row, given the
// response and what the site did. loginPath is the path of the login page
// ("/login"): a login challenge is a 401, or a redirect to loginPath, with
// or without a query.
func Check(t testing.TB, row Row, resp *http.Response, s Served, loginPath string) {
	t.Helper()
	loc := resp.Header.Get("Location")
	code := resp.StatusCode
	desc := fmt.Sprintf("%s %q → %d %q served=%q events=%d %s (%s)", row.Method, row.Target, code, loc, s.Handler, s.Events, s.Detail, row.Why)

	isLogin := code == http.StatusUnauthorized || (code/100 == 3 && (loc == loginPath || strings.HasPrefix(loc, loginPath+"?")))
	if isLogin && loc != "" {
		next, err := url.Parse(loc)
		if err != nil || (next.Query().Has("next") && !SameSite(next.Query().Get("next"))) {
			t.Errorf("login challenge with an unsafe next: %s", desc)
		}
	}
	switch row.Verdict {
	case "public":
		if code/100 != 2 || s.Handler == "" || s.Handler == "protected" {
			t.Errorf("public row not served by its public handler: %s", desc)
		}
		if s.Events != 0 {
			t.Errorf("public row logged a security event: %s", desc)
		}
	case "login":
		if s.Handler != "" {
			t.Errorf("login row reached a handler: %s", desc)
		}
		if !isLogin && code != http.StatusBadRequest {
			t.Errorf("login row without a login challenge: %s", desc)
		}
	case "reject":
		if s.Handler != "" {
			t.Errorf("reject row reached a handler: %s", desc)
		}
		switch {
		case code/100 == 4, isLogin:
		case code/100 == 3 && SameSite(loc) && !strings.HasPrefix(loc, loginPath):
		default:
			t.Errorf("reject row not refused: %s", desc)
		}
		// Go's server refuses some rows before any middleware sees them.
		if s.Events == 0 && !(row.Outcome == "400" && code == http.StatusBadRequest) {
			t.Errorf("reject row without a security event: %s", desc)
		}
	default:
		t.Fatalf("line %d: unknown verdict %q", row.Line, row.Verdict)
	}
}

// Run reads file and checks every row as a subtest: send sends the row and
// returns what the site did.
func Run(t *testing.T, file, loginPath string, send func(t *testing.T, row Row) (*http.Response, Served)) {
	rows := Read(t, file)
	counts := map[string]int{}
	for _, row := range rows {
		counts[row.Verdict]++
		t.Run(fmt.Sprintf("%d_%s", row.Line, row.Verdict), func(t *testing.T) {
			resp, s := send(t, row)
			Check(t, row, resp, s, loginPath)
		})
	}
	t.Logf("%s: %d rows %v", filepath.Base(file), len(rows), counts)
}

// App is the corpus README's application: a real ServeMux with its five
// handlers ("/{$}" root, "/login" login, "/static/" static, "GET /health"
// health, and the catch-all "/" protected), each recording that it ran.
type App struct {
	mu     sync.Mutex
	served string
	mux    *http.ServeMux
}

// NewApp returns the corpus's application.
func NewApp() *App {
	a := &App{mux: http.NewServeMux()}
	for pattern, name := range map[string]string{"/{$}": "root", "/login": "login", "/static/": "static", "GET /health": "health", "/": "protected"} {
		a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			a.served = name
			a.mu.Unlock()
			fmt.Fprintln(w, name)
		})
	}
	return a
}

// ServeHTTP routes r with the ServeMux.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// take returns the handler that ran since the last take, and forgets it.
func (a *App) take() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.served
	a.served = ""
	return s
}

// Serve starts h (a gate in front of app) on a loopback test server and
// returns the send function of [Run]: it sends a row over TCP and reports
// the handler of app that ran and the security events that events (which
// must return and forget the names of the events written since its last
// call) reports.
func Serve(t *testing.T, h http.Handler, app *App, events func() []string) func(t *testing.T, row Row) (*http.Response, Served) {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return func(t *testing.T, row Row) (*http.Response, Served) {
		app.take()
		events()
		resp := Send(t, srv.Listener.Addr().String(), row.Method, row.Target)
		names := events()
		return resp, Served{Handler: app.take(), Events: len(names), Detail: strings.Join(names, ",")}
	}
}
