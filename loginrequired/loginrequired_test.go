package loginrequired

import (
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/pathconfusion"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/seclog"
)

// sink reads back the security events a test wrote.
type sink struct{ *seclogtest.Recorder }

// take returns the fields of the events written since the last take.
func (s sink) take() []map[string]any {
	var out []map[string]any
	for _, e := range s.Take() {
		out = append(out, e.Fields)
	}
	return out
}

func newLogger(t testing.TB) (*seclog.Logger, sink) {
	l, r := seclogtest.New(t)
	return l, sink{r}
}

// asUser puts u in the request's context, as the identity middleware does.
func asUser(r *http.Request, u identity.User) *http.Request {
	if u == nil {
		return r
	}
	return r.WithContext(seclog.WithUser(identity.NewContext(r.Context(), u), u.ID()))
}

var (
	alice = identity.Basic{UserID: "alice", IsActive: true}
	staff = identity.Basic{UserID: "sam", IsActive: true, IsStaff: true}
	root  = identity.Basic{UserID: "root", IsActive: true, IsSuperuser: true}
)

// TestPathConfusion runs the shared corpus end to end: anonymous requests
// through the gate and a real ServeMux. Every refusal of a reject row
// must log path.rejected.
func TestPathConfusion(t *testing.T) {
	dir := testenv.Testdata(t, "path-confusion")
	log, events := newLogger(t)
	gate, err := New(Config{Exempt: []string{"/{$}", "/static/", "GET /health"}, LoginURL: "/login", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	rejected := func() []string {
		var names []string
		for _, e := range events.Take() {
			if e.Name == seclog.PathRejected.Name {
				names = append(names, e.Name)
			}
		}
		return names
	}
	app := pathconfusion.NewApp()
	pathconfusion.Run(t, filepath.Join(dir, "cases.tsv"), "/login", pathconfusion.Serve(t, gate.Handler(app), app, rejected))
}

func TestCheck(t *testing.T) {
	owner := Func("owner", func(r *http.Request, u identity.User) bool {
		return strings.HasPrefix(r.URL.Path, "/users/"+u.ID()+"/")
	})
	cfg := Config{
		Exempt:    []string{"/{$}", "/static/", "GET /health"},
		LogoutURL: "/logout",
		Rules: []Rule{
			{"/admin/", Staff},
			{"/root/", Superuser},
			{"/users/{id}/", owner},
			{"/account/", LoggedIn},
			{"/docs/", Public},
		},
	}
	lax, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Strict = true
	strict, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, target string
		user           identity.User
		lax, strict    Outcome
	}{
		{"GET", "/", nil, Pass, Pass},
		{"GET", "/login", nil, Pass, Pass},
		{"POST", "/login", nil, Pass, Pass},
		{"POST", "/logout", nil, Pass, Pass},
		{"GET", "/static/app.css", nil, Pass, Pass},
		{"GET", "/health", nil, Pass, Pass},
		{"HEAD", "/health", nil, Pass, Pass},
		{"POST", "/health", nil, Login, Login},
		{"GET", "/docs/intro", nil, Pass, Pass},
		{"GET", "/account/", nil, Login, Login},
		{"GET", "/account/", alice, Pass, Pass},
		{"GET", "/anything", nil, Login, Login},
		{"GET", "/anything", alice, Pass, Forbidden},
		{"GET", "/admin/users", nil, Login, Login},
		{"GET", "/admin/users", alice, Forbidden, Forbidden},
		{"GET", "/admin/users", staff, Pass, Pass},
		{"GET", "/admin/users", root, Pass, Pass},
		{"GET", "/root/x", staff, Forbidden, Forbidden},
		{"GET", "/root/x", root, Pass, Pass},
		{"GET", "/users/alice/photo", alice, Pass, Pass},
		{"GET", "/users/sam/photo", alice, Forbidden, Forbidden},
		{"GET", "/users/alice/photo", nil, Login, Login},
		{"GET", "/static/%2e%2e/admin/", nil, BadPath, BadPath},
		{"GET", "/static/%2e%2e/admin/", staff, BadPath, BadPath},
		{"GET", "/Admin/users", alice, BadPath, BadPath}, // read case-folded, it is /admin/
		{"GET", "/static//x", nil, BadPath, BadPath},
	} {
		for _, m := range []struct {
			name string
			m    *Middleware
			want Outcome
		}{{"lax", lax, tc.lax}, {"strict", strict, tc.strict}} {
			r := asUser(httptest.NewRequest(tc.method, tc.target, nil), tc.user)
			if got, _ := m.m.Check(r); got.Outcome != m.want {
				t.Errorf("%s: %s %s as %v: %v, want %v", m.name, tc.method, tc.target, tc.user, got, m.want)
			}
		}
	}
}

func TestHandlerAnswersAndEvents(t *testing.T) {
	log, s := newLogger(t)
	rs, err := identity.NewResponder(identity.ResponderConfig{Challenge: `Bearer realm="api"`})
	if err != nil {
		t.Fatal(err)
	}
	gate, err := New(Config{Rules: []Rule{{"/admin/", Staff}}, Responder: rs, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := gate.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	for _, tc := range []struct {
		name       string
		method     string
		target     string
		user       identity.User
		headers    map[string]string
		wantStatus int
		wantLoc    string
		wantEvent  string
	}{
		{"navigation → 303 with next", "GET", "/account?tab=2", nil, nil, 303, "/login?next=%2Faccount%3Ftab%3D2", "loginrequired.redirect"},
		{"POST → 303 without next", "POST", "/account", nil, nil, 303, "/login", "loginrequired.redirect"},
		{"fetch → 401 with challenge", "GET", "/api/x", nil, map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, 401, "", "loginrequired.redirect"},
		{"not authorized → 403", "GET", "/admin/", alice, nil, 403, "", "loginrequired.forbidden"},
		{"staff → served, logged", "GET", "/admin/", staff, nil, 200, "", "loginrequired.admin_access"},
		{"logged in → served, quiet", "GET", "/account", alice, nil, 200, "", ""},
		{"bad path → 400", "GET", "/a/../admin/", staff, nil, 400, "", "path.rejected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := asUser(httptest.NewRequest(tc.method, tc.target, nil), tc.user)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantLoc != "" && rec.Header().Get("Location") != tc.wantLoc {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tc.wantLoc)
			}
			if tc.wantStatus == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			events := s.take()
			switch {
			case tc.wantEvent == "" && len(events) != 0:
				t.Errorf("events %v, want none", events)
			case tc.wantEvent != "" && (len(events) != 1 || events[0]["event"] != tc.wantEvent):
				t.Errorf("events %v, want one %s", events, tc.wantEvent)
			}
			if len(events) == 1 && tc.user != nil && events[0]["user"] != tc.user.ID() {
				t.Errorf("event user %v, want %s", events[0]["user"], tc.user.ID())
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Exempt: []string{"/x", "/x"}}, `loginrequired: Exempt[1] "/x" is given twice`},
		{Config{Exempt: []string{"/x"}, Rules: []Rule{{"/x", Staff}}}, `loginrequired: Rules[0].Pattern "/x" is given twice`},
		{Config{Rules: []Rule{{"/x", Authorizer{}}}}, `Rules[0].Pattern "/x" has no authorizer`},
		// Pattern mistakes name the field the pattern came from.
		{Config{Exempt: []string{"/a/", "static/"}}, `loginrequired: Exempt[1] "static/": "static" is read as a host`},
		{Config{Exempt: []string{"/a/"}, Rules: []Rule{{"/b/", Staff}, {"/tasks/*", LoggedIn}}}, `loginrequired: Rules[1].Pattern "/tasks/*": "*" is a literal`},
		{Config{ExemptRegexps: []string{"^/static/"}}, `loginrequired: ExemptRegexps[0] "^/static/": `},
		{Config{Exempt: []string{"/a/"}, LogoutURL: "/a//out"}, `loginrequired: LogoutURL "/a//out": path "/a//out" is not clean`},
		{Config{Rules: []Rule{{"/login", Staff}}}, "must be public"},
		{Config{LoginURL: "login"}, `starts with one "/"`},
		{Config{LoginURL: "//evil.example/login"}, ""},
		{Config{Exempt: []string{"GET"}}, "loginrequired:"},
		{Config{ExemptRegexps: []string{"("}}, "loginrequired:"},
	} {
		_, err := New(tc.cfg)
		if tc.want == "" {
			continue // an absolute login URL elsewhere is fine
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
	}
	// A login page on another site is not auto-allowed, and is accepted.
	if _, err := New(Config{LoginURL: "https://sso.example/login"}); err != nil {
		t.Error(err)
	}
	// A login URL ending in a slash is allowed exactly, not as a subtree.
	m, err := New(Config{LoginURL: "/accounts/login/"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := m.Check(httptest.NewRequest("GET", "/accounts/login/", nil)); d.Outcome != Pass {
		t.Errorf("login page: %v", d)
	}
	if d, _ := m.Check(httptest.NewRequest("GET", "/accounts/login/secret", nil)); d.Outcome != Login {
		t.Errorf("below the login page: %v", d)
	}
}

func TestExemptRegexps(t *testing.T) {
	m, err := New(Config{ExemptRegexps: []string{`^about/`, `^public-[a-z]+$`}})
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]Outcome{
		"/about/team":    Pass,
		"/public-page":   Pass,
		"/public-page/x": Login,
		"/private":       Login,
	} {
		if d, _ := m.Check(httptest.NewRequest("GET", target, nil)); d.Outcome != want {
			t.Errorf("%s: %v, want %v", target, d, want)
		}
	}
}
