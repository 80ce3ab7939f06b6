package pathrule

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestCompileGate: the gate's own pages and the login and logout pages
// (defaults included) are exempt for every method; the own pages come
// back as the patterns Judge names; errors name the field.
func TestCompileGate(t *testing.T) {
	set, own, err := CompileGate(Gate{
		Exempt: []string{"/static/"},
		Pages:  []Page{{Field: "ChallengeURL", URL: "/mfa"}, {Field: "CallbackURL", URL: ""}, {Field: "X", URL: "https://sso.example/cb"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(own, []string{"/mfa"}) {
		t.Errorf("own = %q, want [/mfa]", own)
	}
	for _, tc := range []struct {
		method, path string
		exempt       bool
	}{
		{"POST", "/mfa", true}, {"GET", "/login", true}, {"POST", "/logout", true},
		{"GET", "/static/a.css", true}, {"GET", "/account", false}, {"GET", "/mfa/x", false},
	} {
		res := set.Judge(httptest.NewRequest(tc.method, tc.path, nil))
		if res.Allowed() != tc.exempt {
			t.Errorf("%s %s: exempt %v, want %v", tc.method, tc.path, res.Allowed(), tc.exempt)
		}
		if tc.path == "/mfa" && !slices.Contains(own, res.Pattern) {
			t.Errorf("%s %s: pattern %q is not among own %q", tc.method, tc.path, res.Pattern, own)
		}
	}
	for field, g := range map[string]Gate{
		`ChallengeURL "mfa": `:        {Pages: []Page{{Field: "ChallengeURL", URL: "mfa"}}},
		`LoginURL "login": `:          {Login: "login"},
		`Exempt[0] "/a/{x": `:         {Exempt: []string{"/a/{x"}},
		`Exempt[1] "static/": `:       {Exempt: []string{"/a/", "static/"}},
		`ExemptRegexps[0] "^/a/": `:   {Regexps: []string{"^/a/"}},
		`LogoutURL "/x/../y": path `:  {Exempt: []string{"/a/"}, Logout: "/x/../y"},
		`ChallengeURL "/m//x": path `: {Exempt: []string{"/a/"}, Pages: []Page{{Field: "CallbackURL", URL: "/cb"}, {Field: "ChallengeURL", URL: "/m//x"}}},
	} {
		if _, _, err := CompileGate(g); err == nil || !strings.HasPrefix(err.Error(), field) {
			t.Errorf("%s: error %v, want one naming %s", field, err, field)
		}
	}
}
