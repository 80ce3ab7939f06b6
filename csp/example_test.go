package csp_test

import (
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/seclog"
)

var nonceRE = regexp.MustCompile(`nonce-[A-Za-z0-9_-]+`)

// get serves one GET of path through h and returns the response.
func get(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

// A strict nonce policy (the zero Config) with html/template: the template
// is parsed once, with csp.TemplateFuncs, and takes the nonce from the
// request it is executed with.
func Example_strictNonceWithTemplates() {
	page := template.Must(template.New("page").Funcs(csp.TemplateFuncs()).Parse(
		`<script nonce="{{cspNonce .Request}}">hello()</script>`))

	m, err := csp.New(csp.Config{
		Logger: seclog.Discard(), // in production, the suite's one security logger
	}) // csp.Strict(), a fresh nonce per response
	if err != nil {
		log.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, map[string]any{"Request": r})
	}))

	w := get(h, "/")
	header := w.Header().Get("Content-Security-Policy")
	inPage := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(w.Body.String())[1]
	fmt.Println(nonceRE.FindString(header) == "nonce-"+inPage) // the page's nonce is the header's
	fmt.Println(nonceRE.ReplaceAllString(header, "nonce-…"))
	fmt.Println(w.Header().Get("Cache-Control"))
	// Output:
	// true
	// default-src 'self'; script-src 'nonce-…' 'strict-dynamic' 'unsafe-inline' https:; style-src 'self' 'nonce-…'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'
	// no-store
}

// A report-only rollout: the site keeps its current policy enforced (here
// none) while the stricter one only reports, to the suite's receiver at
// /csp-report, from one response in ten.
func Example_reportOnlyRollout() {
	m, err := csp.New(csp.Config{
		ReportOnly: csp.Policy{
			csp.Dir(csp.DefaultSrc, csp.Self),
			csp.Dir(csp.ScriptSrc, csp.Self, csp.Host("cdn.example.com")),
			csp.Dir(csp.ObjectSrc, csp.None),
			csp.Dir(csp.BaseURI, csp.Self),
		},
		Reporting: &csp.Reporting{SampleRate: 0.1},
	})
	if err != nil {
		panic(err)
	}
	h := m.Handler(http.NotFoundHandler())
	for {
		w := get(h, "https://example.com/")                                        // report-to is sent on HTTPS pages only
		if ro := w.Header().Get("Content-Security-Policy-Report-Only"); ro != "" { // a sampled response
			fmt.Println(ro)
			fmt.Println(w.Header().Get("Reporting-Endpoints"))
			fmt.Println(w.Header().Get("Content-Security-Policy") == "")
			break
		}
	}
	// Output:
	// default-src 'self'; script-src 'self' cdn.example.com; object-src 'none'; base-uri 'self'; report-to csp-endpoint; report-uri /csp-report
	// csp-endpoint="/csp-report"
	// true
}

// Per-route changes without a second middleware: one route appends a
// source for itself; another uses a preset compiled at startup. The append
// to img-src, absent from the policy, first copies default-src, so 'self'
// stays allowed.
func Example_perRouteAppend() {
	m, err := csp.New(csp.Config{
		Enforce: csp.MustParse("default-src 'self'; object-src 'none'; base-uri 'none'"),
		Presets: map[string]csp.Change{
			"embeddable": {Override: csp.Policy{csp.Dir(csp.FrameAncestors, csp.Host("https://partner.example"))}},
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/map", func(w http.ResponseWriter, r *http.Request) {
		if err := csp.Append(r, csp.ToBoth, csp.Dir(csp.ImgSrc, csp.Host("tiles.example.net"))); err != nil {
			http.Error(w, "internal error", 500)
			return
		}
		w.Write([]byte("map"))
	})
	mux.Handle("/widget", m.With("embeddable")(http.NotFoundHandler()))
	h := m.Handler(mux)

	fmt.Println(get(h, "/").Header().Get("Content-Security-Policy"))
	fmt.Println(get(h, "/map").Header().Get("Content-Security-Policy"))
	fmt.Println(get(h, "/widget").Header().Get("Content-Security-Policy"))
	// Output:
	// default-src 'self'; object-src 'none'; base-uri 'none'
	// default-src 'self'; object-src 'none'; base-uri 'none'; img-src 'self' tiles.example.net
	// default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors https://partner.example
}

// A policy kept as a string, as unrolled/secure takes it: it is parsed and
// held to the same checks. "$NONCE" is read as csp.NonceSource, and a
// literal "%" survives.
func ExampleRaw() {
	_, err := csp.New(csp.Config{Enforce: csp.Raw("default-src self")})
	fmt.Println(err)

	m, err := csp.New(csp.Config{Enforce: csp.Raw("script-src $NONCE 'strict-dynamic'; object-src 'none'; base-uri 'none'; trusted-types app-%")})
	if err != nil {
		panic(err)
	}
	w := get(m.Handler(http.NotFoundHandler()), "/")
	fmt.Println(nonceRE.ReplaceAllString(w.Header().Get("Content-Security-Policy"), "nonce-…"))
	// Output:
	// csp: Config.Enforce: default-src: "self" must be quoted: write "'self'" (unquoted, it is read as a host named "self")
	// script-src 'nonce-…' 'strict-dynamic'; object-src 'none'; base-uri 'none'; trusted-types app-%
}

// A policy mistake is an error at construction that says what to write:
// here a scheme without its colon, which a browser would read as a host
// named "data" and so block every data: image.
func ExampleParse() {
	_, err := csp.Parse("default-src 'self'; img-src 'self' data")
	fmt.Println(err)
	p, err := csp.Parse("default-src 'self'; img-src 'self' data:")
	fmt.Println(p, err)
	// Output:
	// csp: policy: img-src: "data" is a scheme without its colon: write "data:"
	// default-src 'self'; img-src 'self' data: <nil>
}
