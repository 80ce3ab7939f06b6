package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/assistant"
)

// A filter is what a request chose to see: its query parameters, checked.
type filter struct {
	Window    time.Duration // ?since=
	windowSet bool          // ?since= was given
	// Directive, Disposition, Origin and Browser are ?directive=,
	// ?disposition=, ?origin= and ?browser=; "" keeps every group.
	Directive, Disposition, Origin, Browser string
	// Muted is ?muted=1: muted groups are listed too.
	Muted bool
}

var (
	directiveRE = regexp.MustCompile(`^[a-z][a-z-]{0,63}$`)
	browserRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 ._-]{0,31}$`)
)

// parseFilter checks the filter parameters of v; an error says which
// parameter is wrong and what to write.
func (h *Handler) parseFilter(v url.Values) (filter, error) {
	f := filter{Window: h.window}
	if s := v.Get("since"); v.Has("since") {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Minute || d > maxWindow {
			return f, errors.New("since: write a duration from 1m to 9600h, such as 1h, 24h or 168h")
		}
		f.Window, f.windowSet = d, true
	}
	f.Directive, f.Disposition, f.Origin, f.Browser = v.Get("directive"), v.Get("disposition"), v.Get("origin"), v.Get("browser")
	switch {
	case f.Directive != "" && !directiveRE.MatchString(f.Directive):
		return f, errors.New("directive: write an effective directive such as script-src-elem, or leave it empty")
	case f.Disposition != "" && f.Disposition != "enforce" && f.Disposition != "report" && f.Disposition != "unknown":
		return f, errors.New("disposition: write enforce, report or unknown, or leave it empty")
	case f.Origin != "" && !printable(f.Origin, 512):
		return f, errors.New("origin: write a document origin such as https://app.example.com, or leave it empty")
	case f.Browser != "" && !browserRE.MatchString(f.Browser):
		return f, errors.New("browser: write a browser family such as Chrome, Firefox or Safari, or leave it empty")
	}
	switch v.Get("muted") {
	case "":
	case "1", "on", "true":
		f.Muted = true
	default:
		return f, errors.New("muted: write 1 to list muted groups too, or leave it out")
	}
	return f, nil
}

// printable reports whether s is valid UTF-8 of at most n bytes without
// control or space characters.
func printable(s string, n int) bool {
	return len(s) <= n && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) })
}

// query returns the store query of f at now, without a limit.
func (f filter) query(now time.Time) cspreport.GroupQuery {
	return cspreport.GroupQuery{Since: now.Add(-f.Window), Muted: f.Muted, Directive: f.Directive,
		Disposition: f.Disposition, DocumentOrigin: f.Origin, Browser: f.Browser}
}

// values returns f as query parameters, the defaults left out.
func (f filter) values() url.Values {
	v := url.Values{}
	if f.windowSet {
		v.Set("since", duration(f.Window))
	}
	for _, p := range [][2]string{{"directive", f.Directive}, {"disposition", f.Disposition}, {"origin", f.Origin}, {"browser", f.Browser}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	if f.Muted {
		v.Set("muted", "1")
	}
	return v
}

// link returns a link to this page with f's parameters, changed by kv
// (name, value pairs; an empty value removes the parameter): "?…".
func (f filter) link(kv ...string) string {
	v := f.values()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return "?" + v.Encode()
}

// Link is link, for the templates.
func (f filter) Link(kv ...string) string { return f.link(kv...) }

// Hidden returns f's parameters as the hidden fields of a form.
func (f filter) Hidden() map[string]string {
	m := map[string]string{}
	for k, vs := range f.values() {
		m[k] = vs[0]
	}
	return m
}

// Since is ?since= as the window select shows it.
func (f filter) Since() string { return duration(f.Window) }

// WindowLabel is the window in words: "24 hours", "7 days".
func (f filter) WindowLabel() string { return words(f.Window) }

// Windows are the choices of the window select, with f's own when it is
// not one of them.
func (f filter) Windows() [][2]string {
	out := [][2]string{}
	found := false
	for _, d := range []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour, 168 * time.Hour, 720 * time.Hour} {
		out = append(out, [2]string{duration(d), words(d)})
		found = found || d == f.Window
	}
	if !found {
		out = append(out, [2]string{duration(f.Window), words(f.Window)})
	}
	return out
}

// duration writes d as ?since= does: "24h", "90m".
func duration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// words writes d for people: "1 hour", "7 days", "90 minutes".
func words(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	}
	return d.String()
}

// common is what every page shows: the navigation and the filters.
type common struct {
	Title           string
	AppURL, AppName string
	Stylesheet      string
	F               filter
}

func (h *Handler) common(f filter, title string) common {
	return common{Title: title, AppURL: h.appURL, AppName: h.appName, Stylesheet: h.stylesheetHREF, F: f}
}

// listPage is the dashboard's main page.
type listPage struct {
	common
	*Summary
	Chart *chart
	// Directives, Origins and Browsers are the values of the listed
	// groups, offered by the filters.
	Directives, Origins, Browsers []string
	// Advice is the policy assistant's for AdviceOrigin; AdviceNote
	// says why there is none.
	Advice       *assistant.Origin
	AdviceOrigin string
	AdviceNote   string
}

// groupPage is a group's page.
type groupPage struct {
	common
	Group   cspreport.Group
	Chart   *chart
	Details []groupDetail
}
