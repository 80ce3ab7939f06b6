package referrer_test

import (
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark/referrer"
)

// FuzzNew: whatever the tokens, New either refuses them or builds a value
// made only of known, distinct tokens, with the preferred policy last; it
// never panics.
func FuzzNew(f *testing.F) {
	f.Add("same-origin", "", "")
	f.Add("strict-origin-when-cross-origin", "no-referrer", "")
	f.Add("no-referer", "origin", "origin")
	f.Add("unsafe-url", "Same-Origin", "x\r\ny")
	f.Add("", "no-referrer", "")
	f.Add("origin, same-origin", "", "")
	f.Fuzz(func(t *testing.T, policy, fb1, fb2 string) {
		var fallbacks []referrer.Policy
		for _, s := range []string{fb1, fb2} {
			if s != "" {
				fallbacks = append(fallbacks, referrer.Policy(s))
			}
		}
		m, err := referrer.New(referrer.Config{Policy: referrer.Policy(policy), Fallbacks: fallbacks})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "referrer: ") {
				t.Errorf("error %q does not name the package", err)
			}
			return
		}
		tokens := strings.Split(m.Value(), ", ")
		if len(tokens) != len(fallbacks)+1 {
			t.Fatalf("Value() = %q from %q %q", m.Value(), policy, fallbacks)
		}
		seen := map[string]bool{}
		for _, tok := range tokens {
			if !referrer.Policy(tok).Valid() || seen[tok] {
				t.Errorf("Value() = %q: token %q unknown or repeated", m.Value(), tok)
			}
			seen[tok] = true
		}
		want := policy
		if want == "" {
			want = "same-origin"
		}
		if tokens[len(tokens)-1] != want {
			t.Errorf("Value() = %q: preferred %q is not last", m.Value(), want)
		}
	})
}
