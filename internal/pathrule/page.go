package pathrule

import (
	"errors"
	"fmt"
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
// nothing. An error names the page's field.
func WithPages(patterns []string, pages ...Page) ([]string, error) {
	out := append([]string(nil), patterns...)
	for _, pg := range pages {
		p, err := PagePattern(pg.URL)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %v", pg.Field, pg.URL, err)
		}
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}
