package passkey_test

import (
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/internal/webauthntest"
)

// serverCPU adds up the process CPU time of the server's parts of a
// benchmark (the authenticator's signature, which the user's device
// makes, is left out) and reports it as cpu-ns/op.
type serverCPU struct {
	b     *testing.B
	total time.Duration
	at    time.Duration
}

func (c *serverCPU) start() { c.at = testenv.ProcessCPU(); c.b.StartTimer() }
func (c *serverCPU) stop()  { c.b.StopTimer(); c.total += testenv.ProcessCPU() - c.at }
func (c *serverCPU) report() {
	if c.total > 0 {
		c.b.ReportMetric(float64(c.total)/float64(c.b.N), "cpu-ns/op")
	}
}

// BenchmarkPasswordlessLogin measures the server side of one passwordless
// login: the begin handler and the finish handler (parse, checks,
// signature, counter write-back, identity login with a token renewal,
// events), with the memory store and scs's memory store. See
// docs/performance.md.
func BenchmarkPasswordlessLogin(b *testing.B) {
	st := newSite(b, nil, nil)
	a, _ := st.withPasskey()
	cpu := &serverCPU{b: b}
	b.ReportAllocs()
	b.StopTimer()
	for range b.N { // not b.Loop: the timer stops for the client's parts
		c := st.browser()
		cpu.start()
		opts := c.do("POST", "/login/passkey/begin", nil).Body.Bytes()
		cpu.stop()
		as, err := a.Assert(opts, webauthntest.Assertion{Origin: origin})
		if err != nil {
			b.Fatal(err)
		}
		st.events.Take()
		cpu.start()
		w := c.do("POST", "/login/passkey/finish", as)
		cpu.stop()
		if w.Code != 200 {
			b.Fatalf("finish: %d %s", w.Code, w.Body)
		}
	}
	cpu.report()
}

// BenchmarkSecondFactor measures the server side of the passkey as a
// second factor: the gate's Begin (the options) and Complete (the posted
// form).
func BenchmarkSecondFactor(b *testing.B) {
	st := newSite(b, nil, nil)
	a, _ := st.withPasskey()
	cpu := &serverCPU{b: b}
	b.ReportAllocs()
	b.StopTimer()
	for range b.N { // not b.Loop: the timer stops for the client's parts
		c := st.browser()
		c.login("alice")
		st.clock.Add(1) // a new login time per iteration: no verdict carries over
		cpu.start()
		opts := c.mfaOptions()
		cpu.stop()
		as, err := a.Assert(opts, webauthntest.Assertion{Origin: origin})
		if err != nil {
			b.Fatal(err)
		}
		st.events.Take()
		cpu.start()
		w := c.postMFA(as)
		cpu.stop()
		if w.Code != 303 {
			b.Fatalf("POST /mfa: %d %s", w.Code, w.Body)
		}
	}
	cpu.report()
}
