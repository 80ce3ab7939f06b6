package pathrule_test

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bulwark-go/bulwark/pathrule"
)

// An allow list of public paths: a request passes only on an unambiguous
// match; a path that is not clean, or that another server could read as a
// protected path, is rejected with a reason to log.
func Example() {
	public, err := pathrule.Compile(pathrule.Config{
		Patterns: []string{"/{$}", "/login", "/static/", "GET /health"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, target := range []string{
		"/static/app.css",
		"/admin",
		"/static",               // ServeMux redirects to /static/
		"/static/%2e%2e/admin",  // decodes to /static/../admin
		"/static/..;/admin",     // Tomcat reads /admin
		"/LOGIN",                // case-insensitive routers read /login
		"/static/%252e%252e/x",  // a second decoding reads /x
		"/static/..%5cadmin",    // Windows reads /admin
		"/health?probe=1",       // the query is not the path
		"/users/../static/a.js", // dot segments: cleaned first
	} {
		res := public.Judge(httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Printf("%-22s allowed=%-5v %-8v pattern=%q reason=%q\n", target, res.Allowed(), res.Verdict, res.Pattern, res.Reason)
	}
	// Output:
	// /static/app.css        allowed=true  match    pattern="/static/" reason=""
	// /admin                 allowed=false no-match pattern="" reason=""
	// /static                allowed=false reject   pattern="" reason="redirect"
	// /static/%2e%2e/admin   allowed=false reject   pattern="" reason="dot-segment"
	// /static/..;/admin      allowed=false reject   pattern="/static/" reason="path-param"
	// /LOGIN                 allowed=false reject   pattern="/login" reason="case-fold"
	// /static/%252e%252e/x   allowed=false reject   pattern="/static/" reason="double-encoding"
	// /static/..%5cadmin     allowed=false reject   pattern="/static/" reason="backslash"
	// /health?probe=1        allowed=true  match    pattern="GET /health" reason=""
	// /users/../static/a.js  allowed=false reject   pattern="" reason="dot-segment"
}

// A deny list: a request is refused when any reading reaches a denied path,
// or when its path is not clean.
func ExampleResult_Denied() {
	deny := pathrule.MustCompile("/admin/", "/admin")
	for _, target := range []string{"/admin/users", "/Admin", "/admin;x", "/%61dmin", "/home"} {
		fmt.Println(target, deny.Denies(httptest.NewRequest(http.MethodGet, target, nil)))
	}
	// Output:
	// /admin/users true
	// /Admin true
	// /admin;x true
	// /%61dmin true
	// /home false
}

// A Guard in front of a router that does not clean paths, as chi and
// gorilla/mux do not: here a plain http.Handler that routes on the raw
// path, as they do. GET and HEAD are redirected to the clean path,
// everything else gets a 400, and every refusal is reported for the
// security log.
func ExampleGuard() {
	// router stands for chi.NewRouter() or mux.NewRouter(): it matches the
	// path as it comes, so "/public/../admin" would reach "/public/".
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/public/"):
			fmt.Fprint(w, "public page")
		case r.URL.Path == "/admin":
			fmt.Fprint(w, "admin page")
		default:
			http.NotFound(w, r)
		}
	})
	guard := &pathrule.Guard{
		OnReject: func(r *http.Request, err *pathrule.RejectError) {
			// In an application: sec.Log(r, seclog.PathRejected, …).
			fmt.Println("security event:", err.Reason, r.URL.RequestURI())
		},
	}
	h := guard.Handler(router)

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/public/../admin?x=1", nil),
		httptest.NewRequest(http.MethodPost, "/public/%2e%2e/admin", nil),
		httptest.NewRequest(http.MethodGet, "/public/intro", nil),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d Location=%q %s", w.Code, w.Header().Get("Location"), w.Body.String())))
	}

	// Check is the same decision, without an answer.
	err := guard.Check(httptest.NewRequest(http.MethodGet, "/a/%2e%2e/b", nil))
	var reject *pathrule.RejectError
	if errors.As(err, &reject) {
		fmt.Println(err, "→", reject.CleanPath)
	}
	// Output:
	// security event: dot-segment /public/../admin?x=1
	// 307 Location="/admin?x=1"
	// security event: dot-segment /public/%2e%2e/admin
	// 400 Location="" Bad Request
	// 200 Location="" public page
	// pathrule: path not clean: dot-segment → /b
}

// WithPathValues gives code that decides before the router, such as an
// authorizer, the route's values as the handler will see them.
func ExampleSet_WithPathValues() {
	rules := pathrule.MustCompile("/tasks/{id}", "/files/{rest...}", "/about")
	for _, target := range []string{"/tasks/42", "/files/a/b.txt", "/about"} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		routed := rules.WithPathValues(r, rules.Judge(r))
		fmt.Printf("%-15s pattern=%q id=%q rest=%q copied=%v\n", target, routed.Pattern, routed.PathValue("id"), routed.PathValue("rest"), routed != r)
	}
	// Output:
	// /tasks/42       pattern="/tasks/{id}" id="42" rest="" copied=true
	// /files/a/b.txt  pattern="/files/{rest...}" id="" rest="a/b.txt" copied=true
	// /about          pattern="" id="" rest="" copied=false
}
