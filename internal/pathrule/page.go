package pathrule

import (
	"errors"
	"net/url"
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
