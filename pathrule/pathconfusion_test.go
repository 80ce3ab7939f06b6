package pathrule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark/internal/pathconfusion"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// site is the corpus README's site: the allow list in front of a real
// ServeMux with the five handlers, behind a Guard and a small login gate.
type site struct {
	srv *httptest.Server

	mu      sync.Mutex
	served  string // the handler that ran: root, login, static, health or protected
	events  int    // onReject calls and Reject verdicts
	reasons []string
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
				// As identity.Redirect writes it (pathrule cannot import
				// identity): exactly this string, never cleaned.
				w.Header().Set("Location", "/login?next="+url.QueryEscape(r.URL.RequestURI()))
				w.WriteHeader(http.StatusSeeOther)
			}
		})
	}
	guard := &Guard{OnReject: func(r *http.Request, err *RejectError) { s.event(err.Reason) }}
	s.srv = httptest.NewServer(guard.Handler(gate(app)))
	t.Cleanup(s.srv.Close)
	return s
}

// send sends one row and returns what the site did with it.
func (s *site) send(t *testing.T, row pathconfusion.Row) (*http.Response, pathconfusion.Served) {
	s.mu.Lock()
	s.served, s.events, s.reasons = "", 0, nil
	s.mu.Unlock()
	resp := pathconfusion.Send(t, s.srv.Listener.Addr().String(), row.Method, row.Target)
	s.mu.Lock()
	defer s.mu.Unlock()
	return resp, pathconfusion.Served{Handler: s.served, Events: s.events, Detail: strings.Join(s.reasons, ",")}
}

// TestPathConfusion runs the shared path-confusion corpus against the
// README's site.
func TestPathConfusion(t *testing.T) {
	dir := testenv.Testdata(t, "path-confusion")
	pathconfusion.Run(t, filepath.Join(dir, "cases.tsv"), "/login", newSite(t).send)
}

// TestPathConfusionOwn runs our own hand-written rows, same site, same
// assertions.
func TestPathConfusionOwn(t *testing.T) {
	pathconfusion.Run(t, filepath.Join("testdata", "cases.tsv"), "/login", newSite(t).send)
}
