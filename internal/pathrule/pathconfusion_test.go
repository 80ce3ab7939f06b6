package pathrule

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

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// caseRow is one row of a path-confusion table (cases.tsv format).
type caseRow struct {
	line    int
	target  string // raw request-target
	method  string
	verdict string // public, login or reject
	outcome string // go_mux_outcome ("" in our own rows)
	why     string
}

// readCases reads a cases.tsv file: a header, then rows whose first three
// columns are raw_request_target, method and verdict. The shared file has
// go_mux_outcome fourth and why sixth; our own rows have why fourth.
func readCases(t *testing.T, file string) []caseRow {
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
	var rows []caseRow
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
		row := caseRow{line: n + 2, target: target, method: f[1], verdict: f[2], why: f[col["why"]]}
		if i, ok := col["go_mux_outcome"]; ok {
			row.outcome = f[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// site is the README's site: the allow list in front of a real ServeMux
// with the five handlers, behind Clean and a small login gate.
type site struct {
	srv *httptest.Server

	mu      sync.Mutex
	served  string // the handler that ran: root, login, static, health or protected
	events  int    // onReject calls and Reject verdicts
	reasons []string
}

func (s *site) reset() {
	s.mu.Lock()
	s.served, s.events, s.reasons = "", 0, nil
	s.mu.Unlock()
}

func (s *site) event(reason string) {
	s.mu.Lock()
	s.events++
	s.reasons = append(s.reasons, reason)
	s.mu.Unlock()
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{}
	allow := MustCompile("/{$}", "/login", "/static/", "GET /health")

	app := http.NewServeMux()
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.served = name
			s.mu.Unlock()
			fmt.Fprintln(w, name)
		}
	}
	app.Handle("/{$}", handler("root"))
	app.Handle("/login", handler("login"))
	app.Handle("/static/", handler("static"))
	app.Handle("GET /health", handler("health"))
	app.Handle("/", handler("protected")) // the catch-all: needs a login

	// gate is the test's loginrequired: allowed, or refused, or login.
	gate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res := allow.Judge(r)
			switch {
			case res.Allowed():
				next.ServeHTTP(w, r)
			case res.Verdict == Reject:
				s.event(res.Reason)
				http.Error(w, "Bad Request", http.StatusBadRequest)
			default:
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			}
		})
	}
	onReject := func(r *http.Request, reason string) { s.event(reason) }
	s.srv = httptest.NewServer(Clean(onReject)(gate(app)))
	t.Cleanup(s.srv.Close)
	return s
}

// send writes the request line exactly as given, over TCP.
func (s *site) send(t *testing.T, method, target string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
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

// checkRow sends one row and asserts the README's acceptable answers.
func (s *site) checkRow(t *testing.T, row caseRow) {
	t.Helper()
	s.reset()
	resp := s.send(t, row.method, row.target)
	s.mu.Lock()
	served, events, reasons := s.served, s.events, s.reasons
	s.mu.Unlock()
	loc := resp.Header.Get("Location")
	code := resp.StatusCode
	desc := fmt.Sprintf("%s %q → %d %q served=%q events=%d %v (%s)", row.method, row.target, code, loc, served, events, reasons, row.why)

	isLogin := code == http.StatusUnauthorized || (code/100 == 3 && strings.HasPrefix(loc, "/login?next="))
	if isLogin {
		next, err := url.Parse(loc)
		if err != nil || !sameSite(next.Query().Get("next")) {
			t.Errorf("login challenge with an unsafe next: %s", desc)
		}
	}
	switch row.verdict {
	case "public":
		if code/100 != 2 || served == "" || served == "protected" {
			t.Errorf("public row not served by its public handler: %s", desc)
		}
		if events != 0 {
			t.Errorf("public row logged a security event: %s", desc)
		}
	case "login":
		if served != "" {
			t.Errorf("login row reached a handler: %s", desc)
		}
		if !isLogin && code != http.StatusBadRequest {
			t.Errorf("login row without a login challenge: %s", desc)
		}
	case "reject":
		if served != "" {
			t.Errorf("reject row reached a handler: %s", desc)
		}
		switch {
		case code/100 == 4, isLogin:
		case code/100 == 3 && sameSite(loc) && !strings.HasPrefix(loc, "/login"):
		default:
			t.Errorf("reject row not refused: %s", desc)
		}
		// Go's server refuses some rows before any middleware sees them.
		if events == 0 && !(row.outcome == "400" && code == http.StatusBadRequest) {
			t.Errorf("reject row without a security event: %s", desc)
		}
	default:
		t.Fatalf("line %d: unknown verdict %q", row.line, row.verdict)
	}
}

func runCases(t *testing.T, file string) {
	rows := readCases(t, file)
	s := newSite(t)
	counts := map[string]int{}
	for _, row := range rows {
		counts[row.verdict]++
		t.Run(fmt.Sprintf("%d_%s", row.line, row.verdict), func(t *testing.T) { s.checkRow(t, row) })
	}
	t.Logf("%s: %d rows %v", filepath.Base(file), len(rows), counts)
}

// TestPathConfusion runs the shared path-confusion corpus against the
// README's site.
func TestPathConfusion(t *testing.T) {
	dir := testenv.Testdata(t, "path-confusion")
	runCases(t, filepath.Join(dir, "cases.tsv"))
}

// TestPathConfusionOwn runs our own hand-written rows, same site, same
// assertions.
func TestPathConfusionOwn(t *testing.T) {
	runCases(t, filepath.Join("testdata", "cases.tsv"))
}
