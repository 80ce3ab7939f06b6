package loginrequired

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestAuthorizerSeesPathValues: a rule's Func authorizer reads the route's
// values (r.PathValue) and pattern (r.Pattern) exactly as the handler that
// the application's ServeMux routes the request to reads them, for single
// wildcards, {rest...} and {$}; and the request the handler gets is the
// caller's own, untouched by the gate.
func TestAuthorizerSeesPathValues(t *testing.T) {
	type seen struct{ pattern, id, rest, pid string }
	read := func(r *http.Request) seen {
		return seen{r.Pattern, r.PathValue("id"), r.PathValue("rest"), r.PathValue("pid")}
	}
	var byAuthorizer seen
	record := Func("owner", func(r *http.Request, u identity.User) bool {
		byAuthorizer = read(r)
		return true
	})
	patterns := []string{"/tasks/{id}", "GET /files/{rest...}", "/projects/{pid}/{$}", "/plain/"}
	var rules []Rule
	for _, p := range patterns {
		rules = append(rules, Rule{Pattern: p, Authorize: record})
	}
	gate := testenv.Must(New(Config{Rules: rules}))

	var byHandler seen
	app := http.NewServeMux()
	for _, p := range patterns {
		app.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { byHandler = read(r) })
	}
	h := gate.Handler(app)

	for _, c := range []struct {
		target string
		want   seen
	}{
		{"/tasks/42", seen{pattern: "/tasks/{id}", id: "42"}},
		{"/tasks/a%20b", seen{pattern: "/tasks/{id}", id: "a b"}},
		{"/files/a/b.txt", seen{pattern: "GET /files/{rest...}", rest: "a/b.txt"}},
		{"/files/", seen{pattern: "GET /files/{rest...}", rest: ""}},
		{"/projects/7/", seen{pattern: "/projects/{pid}/{$}", pid: "7"}},
	} {
		byAuthorizer, byHandler = seen{"unset", "", "", ""}, seen{"unset", "", "", ""}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, asUser(httptest.NewRequest(http.MethodGet, c.target, nil), alice))
		if w.Code != http.StatusOK {
			t.Errorf("%s: status %d", c.target, w.Code)
		}
		if byHandler != c.want {
			t.Errorf("%s: the handler saw %+v, want %+v", c.target, byHandler, c.want)
		}
		if byAuthorizer != byHandler {
			t.Errorf("%s: the authorizer saw %+v, the handler %+v", c.target, byAuthorizer, byHandler)
		}
	}

	// decide leaves the caller's request as it was.
	r := asUser(httptest.NewRequest(http.MethodGet, "/tasks/42", nil), alice)
	if d := gate.decide(r); d.Outcome != Pass {
		t.Fatalf("decide: %v", d)
	}
	if r.Pattern != "" || r.PathValue("id") != "" {
		t.Errorf("decide changed the caller's request: pattern %q, id %q", r.Pattern, r.PathValue("id"))
	}
}

// TestRouteValuesCostNothingWithoutWildcards: a rule without wildcards
// gives its authorizer the request as it came, without a copy (and so
// without r.Pattern, which only the application's mux sets there).
func TestRouteValuesCostNothingWithoutWildcards(t *testing.T) {
	var got *http.Request
	gate := testenv.Must(New(Config{Rules: []Rule{{Pattern: "/tasks/", Authorize: Func("f", func(r *http.Request, _ identity.User) bool {
		got = r
		return true
	})}}}))
	r := asUser(httptest.NewRequest(http.MethodGet, "/tasks/42", nil), alice)
	gate.decide(r)
	if got != r {
		t.Error("the authorizer got a copy of a request whose rule has no wildcards")
	}
	judge := testing.AllocsPerRun(100, func() { gate.rules.Judge(r) })
	if n := testing.AllocsPerRun(100, func() { gate.decide(r) }); n != judge {
		t.Errorf("decide allocates %v times on a rule without wildcards, its Judge %v", n, judge)
	}
}
