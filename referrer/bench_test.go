package referrer_test

import (
	"net/http"
	"testing"

	"github.com/bulwark-go/bulwark/internal/testenv"

	"github.com/bulwark-go/bulwark/internal/headerbench"
	"github.com/bulwark-go/bulwark/referrer"
)

func run(b *testing.B, h http.Handler) {
	r, _ := http.NewRequest(http.MethodGet, "/page", nil)
	headerbench.Run(b, h, r)
}

// BenchmarkBare: the application handler alone, no header.
func BenchmarkBare(b *testing.B) { run(b, headerbench.Bare) }

// BenchmarkIdeal: the handler sets the header itself, from a prebuilt value.
func BenchmarkIdeal(b *testing.B) {
	run(b, headerbench.Ideal(referrer.Header, []string{"same-origin"}))
}

// BenchmarkMiddleware: the zero Config (same-origin) around the bare handler.
func BenchmarkMiddleware(b *testing.B) {
	run(b, testenv.Must(referrer.New(referrer.Config{})).Handler(headerbench.Bare))
}

// BenchmarkFallbacks: a policy with two fallbacks (the value is prebuilt, so
// it costs the same).
func BenchmarkFallbacks(b *testing.B) {
	m := testenv.Must(referrer.New(referrer.Config{
		Policy:    referrer.StrictOriginWhenCrossOrigin,
		Fallbacks: []referrer.Policy{referrer.NoReferrer, referrer.SameOrigin},
	}))

	run(b, m.Handler(headerbench.Bare))
}

// BenchmarkOff: the header turned off (a delete from the header map).
func BenchmarkOff(b *testing.B) {
	run(b, testenv.Must(referrer.New(referrer.Config{Off: true})).Handler(headerbench.Bare))
}

// BenchmarkRatio is the middleware against the ideal, interleaved in one
// loop (headerbench.Ratio): "x-ideal-referrer" is the ratio.
func BenchmarkRatio(b *testing.B) {
	r, _ := http.NewRequest(http.MethodGet, "/page", nil)
	headerbench.Ratio(b, r, headerbench.Ideal(referrer.Header, []string{"same-origin"}), []string{"referrer"},
		testenv.Must(referrer.New(referrer.Config{})).Handler(headerbench.Bare))
}
