package referrer_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/referrer"
)

var _ bulwark.Middleware = (*referrer.Middleware)(nil)

// serve runs one GET through m wrapping h and returns the recorded response.
func serve(m *referrer.Middleware, h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	m.Handler(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/page?q=1", nil))
	return rec
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  referrer.Config
		want []string // header values; nil means absent
	}{
		{"zero config: same-origin", referrer.Config{}, []string{"same-origin"}},
		{"no-referrer", referrer.Config{Policy: referrer.NoReferrer}, []string{"no-referrer"}},
		{"no-referrer-when-downgrade", referrer.Config{Policy: referrer.NoReferrerWhenDowngrade}, []string{"no-referrer-when-downgrade"}},
		{"same-origin", referrer.Config{Policy: referrer.SameOrigin}, []string{"same-origin"}},
		{"origin", referrer.Config{Policy: referrer.Origin}, []string{"origin"}},
		{"strict-origin", referrer.Config{Policy: referrer.StrictOrigin}, []string{"strict-origin"}},
		{"origin-when-cross-origin", referrer.Config{Policy: referrer.OriginWhenCrossOrigin}, []string{"origin-when-cross-origin"}},
		{"strict-origin-when-cross-origin", referrer.Config{Policy: referrer.StrictOriginWhenCrossOrigin}, []string{"strict-origin-when-cross-origin"}},
		{"unsafe-url", referrer.Config{Policy: referrer.UnsafeURL}, []string{"unsafe-url"}},
		{"one fallback: fallback first, preferred last",
			referrer.Config{Policy: referrer.StrictOriginWhenCrossOrigin, Fallbacks: []referrer.Policy{referrer.NoReferrer}},
			[]string{"no-referrer, strict-origin-when-cross-origin"}},
		{"two fallbacks keep their order",
			referrer.Config{Policy: referrer.StrictOriginWhenCrossOrigin, Fallbacks: []referrer.Policy{referrer.NoReferrer, referrer.SameOrigin}},
			[]string{"no-referrer, same-origin, strict-origin-when-cross-origin"}},
		{"empty fallback list is no fallback", referrer.Config{Policy: referrer.Origin, Fallbacks: []referrer.Policy{}}, []string{"origin"}},
		{"off", referrer.Config{Off: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := referrer.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := serve(m, ok)
			if got := rec.Result().Header.Values(referrer.Header); !equal(got, tc.want) {
				t.Errorf("Referrer-Policy = %q, want %q", got, tc.want)
			}
			want := ""
			if tc.want != nil {
				want = tc.want[0]
			}
			if got := m.Value(); got != want {
				t.Errorf("Value() = %q, want %q", got, want)
			}
			if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
				t.Errorf("response = %d %q, want 200 \"ok\"", rec.Code, rec.Body.String())
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  referrer.Config
		want []string // substrings of the error
	}{
		{"unknown token", referrer.Config{Policy: "strict"}, []string{`Policy "strict" is not a policy token`, "no-referrer, no-referrer-when-downgrade", "unsafe-url"}},
		{"header spelling", referrer.Config{Policy: "no-referer"}, []string{`Policy "no-referer"`, `write "no-referrer" (referrer.NoReferrer)`}},
		{"upper case", referrer.Config{Policy: "Same-Origin"}, []string{`write "same-origin" (referrer.SameOrigin)`}},
		{"spaces", referrer.Config{Policy: " origin "}, []string{`write "origin" (referrer.Origin)`}},
		{"underscores", referrer.Config{Policy: "unsafe_url"}, []string{`write "unsafe-url" (referrer.UnsafeURL)`}},
		{"list in one token", referrer.Config{Policy: "no-referrer, same-origin"}, []string{"one token per entry", "Fallbacks"}},
		{"unknown fallback", referrer.Config{Policy: referrer.SameOrigin, Fallbacks: []referrer.Policy{"never"}}, []string{`Fallbacks[0] "never" is not a policy token`}},
		{"misspelt fallback", referrer.Config{Policy: referrer.SameOrigin, Fallbacks: []referrer.Policy{referrer.NoReferrer, "Origin"}}, []string{`Fallbacks[1] "Origin"`, `write "origin"`}},
		{"empty fallback", referrer.Config{Policy: referrer.SameOrigin, Fallbacks: []referrer.Policy{""}}, []string{"Fallbacks[0] is empty: remove it"}},
		{"duplicate fallback", referrer.Config{Policy: referrer.SameOrigin, Fallbacks: []referrer.Policy{referrer.NoReferrer, referrer.Origin, referrer.NoReferrer}}, []string{`Fallbacks[2] "no-referrer": listed twice (also Fallbacks[0])`}},
		{"fallback equals policy", referrer.Config{Policy: referrer.Origin, Fallbacks: []referrer.Policy{referrer.Origin}}, []string{`Fallbacks[0] "origin" is the Policy itself`}},
		{"fallbacks without policy", referrer.Config{Fallbacks: []referrer.Policy{referrer.NoReferrer}}, []string{"Policy is empty: name the preferred policy"}},
		{"off with policy", referrer.Config{Off: true, Policy: referrer.NoReferrer}, []string{"Off is set together with Policy or Fallbacks"}},
		{"off with fallbacks", referrer.Config{Off: true, Fallbacks: []referrer.Policy{referrer.NoReferrer}}, []string{"Off is set together"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := referrer.New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %q, want an error", m.Value())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "referrer: ") {
				t.Errorf("error %q does not name the package", err)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, p := range []referrer.Policy{
		referrer.NoReferrer, referrer.NoReferrerWhenDowngrade, referrer.SameOrigin, referrer.Origin,
		referrer.StrictOrigin, referrer.OriginWhenCrossOrigin, referrer.StrictOriginWhenCrossOrigin, referrer.UnsafeURL,
	} {
		if !p.Valid() {
			t.Errorf("%q.Valid() = false", p)
		}
	}
	for _, p := range []referrer.Policy{"", "NO-REFERRER", "no-referer", "same-origin ", "always", "never", "default"} {
		if p.Valid() {
			t.Errorf("%q.Valid() = true", p)
		}
	}
}

// TestWarnings: a policy that sends full URLs to other sites is accepted
// with a warning at construction; the others are silent.
func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		p    referrer.Policy
		warn bool
	}{
		{referrer.UnsafeURL, true},
		{referrer.NoReferrerWhenDowngrade, true},
		{referrer.SameOrigin, false},
		{referrer.StrictOriginWhenCrossOrigin, false},
	} {
		l, logs := seclogtest.New(t)
		if _, err := referrer.New(referrer.Config{Policy: tc.p, Logger: l}); err != nil {
			t.Fatal(err)
		}
		if got := logs.Len() > 0; got != tc.warn {
			t.Errorf("%s: warned = %v, want %v (%v)", tc.p, got, tc.warn, logs.All())
		}
	}
}

// TestPerRouteOverride: whatever runs inside the middleware wins — an inner
// middleware on one route, Apply in a handler, the handler's own Set, or an
// Off middleware that removes the header for one route.
func TestPerRouteOverride(t *testing.T) {
	outer := testenv.Must(referrer.New(referrer.Config{}))
	strict := testenv.Must(referrer.New(referrer.Config{Policy: referrer.NoReferrer}))
	none := testenv.Must(referrer.New(referrer.Config{Off: true}))

	mux := http.NewServeMux()
	mux.Handle("/", ok)
	mux.Handle("/reset/", strict.Handler(ok))
	mux.Handle("/apply", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		strict.Apply(w.Header())
		w.Write([]byte("ok"))
	}))
	mux.Handle("/own", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(referrer.Header, "origin")
		w.Write([]byte("ok"))
	}))
	mux.Handle("/add", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(referrer.Header, "origin") // appends to the shared value
		w.Write([]byte("ok"))
	}))
	mux.Handle("/none", none.Handler(ok))
	h := outer.Handler(mux)

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"same-origin"}},
		{"/reset/token", []string{"no-referrer"}},
		{"/apply", []string{"no-referrer"}},
		{"/own", []string{"origin"}},
		{"/add", []string{"same-origin", "origin"}},
		{"/none", nil},
		{"/", []string{"same-origin"}}, // the shared value was not changed by /add
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if got := rec.Result().Header.Values(referrer.Header); !equal(got, tc.want) {
			t.Errorf("%s: Referrer-Policy = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestOffRemovesEarlierValue: an Off middleware removes a value set before
// it (by unrolled/secure's ReferrerPolicy, say).
func TestOffRemovesEarlierValue(t *testing.T) {
	off := testenv.Must(referrer.New(referrer.Config{Off: true}))
	before := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(referrer.Header, "unsafe-url")
		off.Handler(ok).ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	before.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if v, found := rec.Result().Header[referrer.Header]; found {
		t.Errorf("Referrer-Policy = %q, want none", v)
	}
}

// TestHeaderOnEveryStatus: the header is set before the handler runs, so it
// is on errors, redirects and empty responses too.
func TestHeaderOnEveryStatus(t *testing.T) {
	m := testenv.Must(referrer.New(referrer.Config{}))
	for _, h := range []http.Handler{
		http.NotFoundHandler(),
		http.RedirectHandler("/elsewhere", http.StatusSeeOther),
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }),
	} {
		rec := serve(m, h)
		if got := rec.Result().Header.Get(referrer.Header); got != "same-origin" {
			t.Errorf("status %d: Referrer-Policy = %q, want same-origin", rec.Code, got)
		}
	}
}

// TestOverHTTP runs the middleware behind a real server, so the header
// goes through net/http's own writer, concurrently (go test -race).
func TestOverHTTP(t *testing.T) {
	m := testenv.Must(referrer.New(referrer.Config{Policy: referrer.StrictOriginWhenCrossOrigin, Fallbacks: []referrer.Policy{referrer.NoReferrer}}))
	srv := httptest.NewServer(m.Handler(ok))
	defer srv.Close()
	done := make(chan error, 8)
	for range 8 {
		go func() {
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				done <- err
				return
			}
			res.Body.Close()
			if got := res.Header.Values(referrer.Header); !equal(got, []string{"no-referrer, strict-origin-when-cross-origin"}) {
				t.Errorf("Referrer-Policy = %q", got)
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestApplyDoesNotAllocate guards the hot path.
func TestApplyDoesNotAllocate(t *testing.T) {
	m := testenv.Must(referrer.New(referrer.Config{}))
	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() { m.Apply(h) }); n != 0 {
		t.Errorf("Apply allocates %v times per call, want 0", n)
	}
	off := testenv.Must(referrer.New(referrer.Config{Off: true}))
	if n := testing.AllocsPerRun(100, func() { off.Apply(h) }); n != 0 {
		t.Errorf("Apply (Off) allocates %v times per call, want 0", n)
	}
}
