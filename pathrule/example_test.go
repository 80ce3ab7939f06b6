package pathrule_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

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

// Clean keeps unclean paths away from routers that do not clean them (chi,
// gorilla/mux): GET and HEAD are redirected to the clean path, everything
// else gets a 400, and every refusal is reported for the security log.
func ExampleClean() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	h := pathrule.Clean(func(r *http.Request, reason string) {
		fmt.Println("security event:", reason, r.URL.RequestURI())
	})(app)

	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/docs/../admin?x=1", nil),
		httptest.NewRequest(http.MethodPost, "/static/%2e%2e/admin", nil),
		httptest.NewRequest(http.MethodGet, "/docs/intro", nil),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Printf("%d Location=%q\n", w.Code, w.Header().Get("Location"))
	}
	// Output:
	// security event: dot-segment /docs/../admin?x=1
	// 307 Location="/admin?x=1"
	// security event: dot-segment /static/%2e%2e/admin
	// 400 Location=""
	// 200 Location=""
}
