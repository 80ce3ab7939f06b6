package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	"github.com/bulwark-go/bulwark/cspreport/internal/storetest"
)

// TestMuteRedirectStaysOnThePage: the 303 after a mute leads back to the
// page that posted, whatever the request's path: a decoded path put in
// Location ("//evil.example/x", "/\evil.example") would send the operator
// to another host.
func TestMuteRedirectStaysOnThePage(t *testing.T) {
	store := cspreport.NewMemoryStore()
	rep := storetest.Rep(1, 1, storetest.T0)
	save(t, store, storetest.Batch(rep))
	h, err := dashboard.New(dashboard.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/admin/csp", "//evil.example/x", "/%5Cevil.example", "/%2F%2Fevil.example", "/a/%2E%2E/%5Cevil.example"} {
		r := httptest.NewRequest("POST", "https://reports.test"+target, strings.NewReader(url.Values{"mute": {rep.GroupFP}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		loc := w.Header().Get("Location")
		if w.Code != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", target, w.Code, w.Body)
		}
		page, _ := url.Parse("https://reports.test" + target)
		back, err := page.Parse(loc)
		if err != nil || strings.ContainsRune(loc, '\\') || strings.HasPrefix(loc, "//") ||
			back.Host != "reports.test" || back.EscapedPath() != page.EscapedPath() {
			t.Errorf("POST %s: Location %q leads to %v, not back to the page", target, loc, back)
		}
	}
}
