package bulwark_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/sessionexpiry"
)

// TestPatternMistakesInEveryList: every path list of the suite refuses, at
// construction, the pattern mistakes that ServeMux accepts ("static/" is a
// host pattern, "/static/*" has a literal "*", a regexp with a leading "/"
// never matches), with an error that names the package, its own field and
// index, and what to write. The rule lives once, in pathrule's compiler;
// this table checks that each list goes through it and names its field.
func TestPatternMistakesInEveryList(t *testing.T) {
	sm := scs.New()
	verifier := testenv.Must(totp.New(totp.Config{Store: totp.NewMemoryStore(), Issuer: "bulwark"}))
	store := passwordexpiry.NewMemoryStore()
	lists := []struct {
		name    string
		regexps bool // the list takes regular expressions
		build   func(list []string) error
	}{
		{"loginrequired: Exempt", false, func(l []string) error {
			_, err := loginrequired.New(loginrequired.Config{Exempt: l})
			return err
		}},
		{"loginrequired: ExemptRegexps", true, func(l []string) error {
			_, err := loginrequired.New(loginrequired.Config{ExemptRegexps: l})
			return err
		}},
		{"mfa: Exempt", false, func(l []string) error {
			_, err := mfa.New(mfa.Config{Sessions: sm, Verifiers: []mfa.Verifier{verifier}, Exempt: l})
			return err
		}},
		{"passwordexpiry: Exempt", false, func(l []string) error {
			_, err := passwordexpiry.New(passwordexpiry.Config{Store: store, Exempt: l})
			return err
		}},
		{"passwordexpiry: ExemptRegexps", true, func(l []string) error {
			_, err := passwordexpiry.New(passwordexpiry.Config{Store: store, ExemptRegexps: l})
			return err
		}},
		{"sessionexpiry: Config.Passive", false, func(l []string) error {
			_, err := sessionexpiry.New(sessionexpiry.Config{Sessions: sm, Passive: l})
			return err
		}},
		{"clearsite: Paths", false, func(l []string) error {
			_, err := clearsite.New(clearsite.Config{Paths: l})
			return err
		}},
		{"identity: ResponderConfig.APIPatterns", false, func(l []string) error {
			_, err := identity.NewResponder(identity.ResponderConfig{APIPatterns: l})
			return err
		}},
		{"nocache: Exempt", false, func(l []string) error {
			_, err := nocache.New(nocache.Config{Exempt: l})
			return err
		}},
		{"nocache: ExemptRegexps", true, func(l []string) error {
			_, err := nocache.New(nocache.Config{ExemptRegexps: l})
			return err
		}},
		{"nocache: Confidential", false, func(l []string) error {
			_, err := nocache.New(nocache.Config{Confidential: l})
			return err
		}},
		{"nocache: ConfidentialRegexps", true, func(l []string) error {
			_, err := nocache.New(nocache.Config{ConfidentialRegexps: l})
			return err
		}},
	}
	mistakes := []struct {
		rule, says, fix string
	}{
		{"static/", `"static" is read as a host`, "/static/"},
		{"api/", `"api" is read as a host`, "/api/"},
		{"/static/*", `"*" is a literal character`, "/static/"},
		{"localhost:8080/", "no port", "localhost/"},
		{"get /health", "case-sensitive", "GET /health"},
		{"/search?q=go", "never the query", "/search"},
	}
	regexpMistakes := []struct {
		rule, says, fix string
	}{
		{"^/static/", `without its leading "/"`, "^static/"},
	}
	for _, l := range lists {
		cases := mistakes
		if l.regexps {
			cases = regexpMistakes
		}
		ok := "/ok"
		if l.regexps {
			ok = "ok$"
		}
		for _, c := range cases {
			err := l.build([]string{ok, c.rule})
			if err == nil {
				t.Errorf("%s %q: accepted; want an error", l.name, c.rule)
				continue
			}
			want := l.name + `[1] "` + strings.ReplaceAll(c.rule, `"`, `\"`) + `": `
			if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, c.says) || !strings.HasSuffix(msg, `: write "`+c.fix+`"`) {
				t.Errorf("%s %q: error\n\t%s\nwant it to start %q, say %q and end %q", l.name, c.rule, msg, want, c.says, `: write "`+c.fix+`"`)
			}
			var pe *pathrule.Error
			if !errors.As(err, &pe) || pe.Index != 1 || pe.Fix != c.fix {
				t.Errorf("%s %q: error %v is not a *pathrule.Error at index 1 with Fix %q", l.name, c.rule, err, c.fix)
			}
		}
	}
}
