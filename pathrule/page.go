package pathrule

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

// PagePattern returns the ServeMux pattern that matches exactly the path of
// a page URL on this site, for every method: "/login" for "/login?x=1",
// "/accounts/login/{$}" for "/accounts/login/". It returns "" for an
// absolute URL (a page on another site, such as an SSO server), which no
// rule of this site can match. The gates use it to exempt their own login,
// logout and change pages automatically.
func PagePattern(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.IsAbs() || u.Host != "" {
		return "", nil
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "", errors.New(`write a path that starts with one "/", or an absolute URL`)
	}
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	return p, nil
}

// A Page is one of a gate's own pages (its login, logout, challenge or
// change page), which the gate must always let through, for every method.
type Page struct {
	Field string // the Config field that names it, for errors
	URL   string // "" for none
}

// WithPages returns patterns followed by the exact pattern of each page on
// this site (see [PagePattern]), each once. Empty and absolute URLs add
// nothing. An error is an [*Error] that names the page's field.
func WithPages(patterns []string, pages ...Page) ([]string, error) {
	out, _, err := withPages(patterns, pages)
	return out, err
}

// withPages is WithPages, and also returns, for each pattern it added, the
// index of its page in pages.
func withPages(patterns []string, pages []Page) (out []string, from []int, err error) {
	out = append([]string(nil), patterns...)
	for i, pg := range pages {
		p, err := PagePattern(pg.URL)
		if err != nil {
			return nil, nil, &Error{Field: pg.Field, Index: -1, Pattern: pg.URL, Err: err}
		}
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
			from = append(from, i)
		}
	}
	return out, from, nil
}

// A Gate is the exemption list of a gate that sends users to a page of its
// own (mfa's challenge, passwordexpiry's change page): the routes the
// application exempts, and the gate's own pages, which are always exempt
// for every method, as are the login and logout pages (so that a user is
// never trapped).
type Gate struct {
	Exempt        []string // ServeMux patterns from the gate's Config.Exempt
	Regexps       []string // Django-style regular expressions, from its Config.ExemptRegexps
	Pages         []Page   // the gate's own pages
	Login, Logout string   // "" means "/login", "/logout"
}

// CompileGate compiles g. own are the exact patterns of g.Pages, which
// Judge returns as Result.Pattern when it is one of them. An error is an
// [*Error] that names the gate's Config field: Exempt[i] or
// ExemptRegexps[i] for a rule, the page's own field ("ChallengeURL") for a
// page.
func CompileGate(g Gate) (set *Set, own []string, err error) {
	login, logout := g.Login, g.Logout
	if login == "" {
		login = "/login"
	}
	if logout == "" {
		logout = "/logout"
	}
	pages := append(slices.Clip(g.Pages), Page{Field: "LoginURL", URL: login}, Page{Field: "LogoutURL", URL: logout})
	patterns, from, err := withPages(g.Exempt, pages)
	if err != nil {
		return nil, nil, err
	}
	set, err = Compile(Config{Field: "Exempt", Patterns: patterns, Regexps: g.Regexps})
	if e, ok := err.(*Error); ok && e.Field == "Exempt" && e.Index >= len(g.Exempt) {
		pg := pages[from[e.Index-len(g.Exempt)]]
		e.Field, e.Index, e.Pattern = pg.Field, -1, pg.URL
	}
	if err != nil {
		return nil, nil, err
	}
	for _, pg := range g.Pages {
		if p, _ := PagePattern(pg.URL); p != "" {
			own = append(own, p)
		}
	}
	return set, own, nil
}
