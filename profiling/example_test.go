package profiling_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/seclog"
)

// fakeLogin stands for the identity middleware in the examples: it makes
// the request's user the one named by the X-User header.
func fakeLogin(next http.Handler) http.Handler {
	users := map[string]identity.User{
		"ada": identity.Basic{UserID: "ada", IsActive: true, IsStaff: true},
		"bob": identity.Basic{UserID: "bob", IsActive: true},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := users[r.Header.Get("X-User")]; u != nil {
			r = r.WithContext(identity.NewContext(r.Context(), u))
		}
		next.ServeHTTP(w, r)
	})
}

// The middleware after the identity middleware, and the profiles page
// beside the application: a staff member asks for an execution trace,
// another user's request is served without profiling.
func Example() {
	prof, err := profiling.New(profiling.Config{
		Logger: seclog.Discard(), // in production, one logger for the whole suite
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		defer profiling.Span(r.Context(), "db")()
		fmt.Fprintln(w, "orders")
	})
	mux.Handle("GET /debug/profiles/", prof.Profiles()) // checks the authorizer itself
	app := fakeLogin(prof.Handler(mux))

	for _, user := range []string{"ada", "bob"} {
		r := httptest.NewRequest("GET", "/orders?profile=trace", nil)
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		fmt.Printf("%s: %d, Server-Timing: %v\n", user, w.Code, w.Header().Get("Server-Timing") != "")
	}
	for _, c := range prof.Captures() {
		fmt.Println("kept:", c.Kind, c.User, c.Method, c.Path, strings.HasSuffix(c.FileName(), ".trace"))
	}
	// Output:
	// ada: 200, Server-Timing: true
	// bob: 200, Server-Timing: false
	// kept: trace ada GET /orders true
}

// Spans name the parts of a request in its Server-Timing header. Outside
// a profiled request they cost nothing, so they stay in production code.
func ExampleSpan() {
	prof, err := profiling.New(profiling.Config{Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}
	h := fakeLogin(prof.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		for range 2 {
			end := profiling.Span(ctx, "db")
			// … a query …
			end()
		}
		defer profiling.Span(ctx, "render")() // ends after the header: not in it
		fmt.Fprintln(w, "page")
	})))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-User", "ada")
	r.Header.Set(profiling.DefaultHeader, "timing")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	for _, metric := range strings.Split(w.Header().Get("Server-Timing"), ", ") {
		name, params, _ := strings.Cut(metric, ";")
		if _, desc, ok := strings.Cut(params, "desc="); ok {
			if strings.HasPrefix(desc, `"process-wide: `) {
				desc = `"process-wide: …"` // figures vary from run to run
			}
			fmt.Println(name, desc)
		} else {
			fmt.Println(name)
		}
	}
	// Output:
	// total
	// db "2 spans"
	// alloc "process-wide: …"
	// gc "process-wide: …"
}

// Check is the decision alone: what the request asks for, or why it is
// not profiled.
func ExampleMiddleware_Check() {
	prof, err := profiling.New(profiling.Config{Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}
	staff := identity.Basic{UserID: "ada", IsActive: true, IsStaff: true}
	for _, target := range []string{"/", "/?profile=cpu", "/?profile=trace,cpu", "/?profile=off"} {
		r := httptest.NewRequest("GET", target, nil)
		kind, err := prof.Check(r.WithContext(identity.NewContext(r.Context(), staff)))
		fmt.Println(target, kind, err)
	}
	kind, err := prof.Check(httptest.NewRequest("GET", "/?profile=cpu", nil)) // anonymous
	fmt.Println("anonymous", kind, err)
	// Output:
	// / timing profiling: the request does not ask to be profiled
	// /?profile=cpu cpu <nil>
	// /?profile=trace,cpu trace,cpu <nil>
	// /?profile=off timing profiling: the request does not ask to be profiled
	// anonymous timing profiling: the request asks to be profiled but is not authorized
}

// The profiles page lists the captures to staff and serves each as a
// file for go tool trace or go tool pprof; anyone else gets a 403.
func ExampleMiddleware_Profiles() {
	prof, err := profiling.New(profiling.Config{Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /debug/profiles/", prof.Profiles())
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "report") })
	app := fakeLogin(prof.Handler(mux))

	get := func(user, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, r)
		return w
	}
	get("ada", "/report?profile=cpu")
	file := prof.Captures()[0].FileName()

	fmt.Println("bob, page:", get("bob", "/debug/profiles/").Code)
	page := get("ada", "/debug/profiles/")
	fmt.Println("ada, page:", page.Code, strings.Contains(page.Body.String(), `href="`+file+`"`))
	dl := get("ada", "/debug/profiles/"+file)
	fmt.Println("ada, file:", dl.Code, dl.Header().Get("Content-Type"), dl.Header().Get("Cache-Control"),
		dl.Header().Get("Content-Disposition") == `attachment; filename="`+file+`"`)
	// Output:
	// bob, page: 403
	// ada, page: 200 true
	// ada, file: 200 application/octet-stream no-store true
}
