package clearsite

import (
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/seclog"
)

// TestPrefilterAgreesWithJudge checks that the map lookup in front of
// pathrule never changes a verdict: for tricky request paths, onPath gives
// what a full judgement gives.
func TestPrefilterAgreesWithJudge(t *testing.T) {
	patterns := []string{"/logout", "/account/forget/{$}", "POST /signout", "example.com/bye", "/Mixed/Case", "/a.b/c-d_e~f"}
	m, err := New(Config{Paths: patterns, Logger: seclog.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if m.literal == nil {
		t.Fatal("no prefilter built for literal paths")
	}
	targets := []string{
		"/logout", "/logout/", "/logout?x=1", "/LOGOUT", "/Logout", "/logou%74", "/logou%2574",
		"/logout%2f", "/logout%2F", "/x/../logout", "/./logout", "//logout", "/logout;x", "/logout%3bx",
		"/logout.", "/logout%20", "/logout%00", "/log%2Fout", "/logout\\", "/logout%5c",
		"/account/forget/", "/account/forget", "/account/forget/x", "/account/FORGET/", "/account//forget/",
		"/signout", "/bye", "/mixed/case", "/Mixed/Case", "/MIXED/CASE", "/a.b/c-d_e~f", "/a%2eb/c-d_e~f",
		"/", "/other", "/%6cogout",
	}
	for _, method := range []string{"GET", "POST"} {
		for _, host := range []string{"example.com", "other.example", "EXAMPLE.COM"} {
			for _, target := range targets {
				r := httptest.NewRequest(method, "https://"+host+target, nil)
				if got, want := m.onPath(r), m.paths.Judge(r).Allowed(); got != want {
					t.Errorf("%s %s%s: onPath = %v, Judge allows = %v", method, host, target, got, want)
				}
			}
		}
	}
}
