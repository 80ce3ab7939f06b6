package throttle_test

import (
	"context"
	"errors"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/throttle"
)

// clock is the suite's test clock.
type clock = testenv.Clock

// env is a throttle on a memory store with a fake clock and a recorded
// security log.
type env struct {
	t     *testing.T
	th    *throttle.Throttle
	clock *clock
	log   *seclogtest.Recorder
	store *throttle.MemoryStore
}

func newEnv(t *testing.T, mod func(*throttle.Config)) *env {
	t.Helper()
	sec, rec := seclogtest.New(t)
	e := &env{t: t, clock: testenv.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)), log: rec, store: throttle.NewMemoryStore(0)}
	cfg := throttle.Config{Store: e.store, Logger: sec, Now: e.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	th, err := throttle.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.th = th
	return e
}

// req is a login POST from remote (an address, with or without a port).
func req(remote string, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = remote
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// check asks the throttle and fails the test on a store error.
func (e *env) check(r *http.Request, account string) throttle.Attempt {
	e.t.Helper()
	a, err := e.th.Check(r, account)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// fail makes n attempts of account from r's client, all allowed (and so
// counted), and fails the test otherwise.
func (e *env) fail(r *http.Request, account string, n int) {
	e.t.Helper()
	for i := range n {
		if a := e.check(r, account); !a.Allowed {
			e.t.Fatalf("attempt %d of %q from %s refused (retry after %v)", i+1, account, r.RemoteAddr, a.RetryAfter)
		}
	}
}

func TestRuleWait(t *testing.T) {
	r := throttle.Rule{Free: 3, Base: time.Second, Max: 10 * time.Second}
	for _, c := range []struct {
		n    int64
		want time.Duration
	}{
		{0, 0}, {2, 0}, {3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second},
		{6, 8 * time.Second}, {7, 10 * time.Second}, {100, 10 * time.Second}, {1 << 40, 10 * time.Second},
	} {
		if got := r.Wait(c.n); got != c.want {
			t.Errorf("Wait(%d) = %v, want %v", c.n, got, c.want)
		}
	}
	exact := throttle.Rule{Free: 1, Base: time.Second, Max: 4 * time.Second}
	if got := exact.Wait(3); got != 4*time.Second {
		t.Errorf("Wait reaching Max exactly: %v, want 4s", got)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  throttle.Config
		want string
	}{
		{"scope with upper case", throttle.Config{Scope: "Login"}, "Scope"},
		{"scope with underscore", throttle.Config{Scope: "my_login"}, "Scope"},
		{"scope too long", throttle.Config{Scope: strings.Repeat("a", 33)}, "Scope"},
		{"negative free", throttle.Config{Pair: throttle.Rule{Free: -1}}, "Config.Pair"},
		{"negative base", throttle.Config{Client: throttle.Rule{Base: -1}}, "Config.Client"},
		{"negative max", throttle.Config{Account: throttle.Rule{Max: -1}}, "Config.Account"},
		{"negative forget", throttle.Config{Account: throttle.Rule{Forget: -1}}, "Config.Account"},
		{"max below base", throttle.Config{Pair: throttle.Rule{Base: time.Minute, Max: time.Second}}, "Max 1s is shorter than Base"},
		{"max over a month", throttle.Config{Pair: throttle.Rule{Max: 32 * 24 * time.Hour}}, "permanent lockout"},
		{"forget below max", throttle.Config{Pair: throttle.Rule{Max: time.Hour, Forget: time.Minute}}, "Forget 1m0s is shorter than Max"},
		{"forget over a month", throttle.Config{Pair: throttle.Rule{Forget: 32 * 24 * time.Hour}}, "Forget"},
		{"ipv6 prefix too short", throttle.Config{IPv6Prefix: 47}, "IPv6Prefix"},
		{"ipv6 prefix too long", throttle.Config{IPv6Prefix: 129}, "IPv6Prefix"},
		{"short device key", throttle.Config{Device: throttle.Device{Key: make([]byte, 31)}}, "Device.Key"},
		{"cookie name", throttle.Config{Device: throttle.Device{CookieName: "a b"}}, "CookieName"},
		{"cookie name with ;", throttle.Config{Device: throttle.Device{CookieName: "a;b"}}, "CookieName"},
		{"short max age", throttle.Config{Device: throttle.Device{MaxAge: time.Hour - 1}}, "MaxAge"},
		{"relative path", throttle.Config{Device: throttle.Device{Path: "login"}}, "Path"},
		{"path with ;", throttle.Config{Device: throttle.Device{Path: "/a;b"}}, "Path"},
		{"path with a control character", throttle.Config{Device: throttle.Device{Path: "/a\nb"}}, "Path"},
		{"path with DEL", throttle.Config{Device: throttle.Device{Path: "/a\x7f"}}, "Path"},
	} {
		_, err := throttle.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name string
		cfg  throttle.Config
	}{
		{"zero", throttle.Config{}},
		{"bounds", throttle.Config{Scope: "a", IPv6Prefix: 48, Pair: throttle.Rule{Base: time.Second, Max: time.Second, Forget: time.Second}}},
		{"bounds 128", throttle.Config{Scope: strings.Repeat("a", 32), IPv6Prefix: 128, Pair: throttle.Rule{Max: 31 * 24 * time.Hour, Forget: 31 * 24 * time.Hour}}},
		{"device", throttle.Config{Device: throttle.Device{Key: make([]byte, 32), CookieName: "Dev-1_x", MaxAge: time.Hour, Path: "/login"}}},
		{"device off with a bad key", throttle.Config{Device: throttle.Device{Disabled: true, Key: []byte("short")}}},
	} {
		if _, err := throttle.New(c.cfg); err != nil {
			t.Errorf("%s: New = %v", c.name, err)
		}
	}
}

// TestDefaultsAreSecure: the zero Config throttles as documented: 5 free
// attempts per pair, then 1s, 2s, 4s …
func TestDefaultsAreSecure(t *testing.T) {
	e := newEnv(t, nil)
	r := req("192.0.2.1:1")
	e.fail(r, "alice", 5)
	a := e.check(r, "alice")
	if a.Allowed || a.RetryAfter != time.Second {
		t.Fatalf("sixth attempt: %+v, want refused for 1s", a)
	}
	e.clock.Add(time.Second)
	e.fail(r, "alice", 1)
	if a := e.check(r, "alice"); a.Allowed || a.RetryAfter != 2*time.Second {
		t.Fatalf("after the seventh: %+v, want 2s", a)
	}
	// The defaults themselves.
	for _, c := range []struct {
		name string
		r    throttle.Rule
		want throttle.Rule
	}{
		{"pair", throttle.DefaultPair, throttle.Rule{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}},
		{"client", throttle.DefaultClient, throttle.Rule{Free: 100, Base: time.Second, Max: time.Hour, Forget: time.Hour}},
		{"account", throttle.DefaultAccount, throttle.Rule{Free: 100, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour}},
	} {
		if c.r != c.want {
			t.Errorf("default %s rule %+v, want %+v", c.name, c.r, c.want)
		}
	}
}

// TestZeroFieldsTakeDefaults: a rule with some fields set takes the
// default's value for the others (and a Forget no shorter than its Max).
func TestZeroFieldsTakeDefaults(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 2} })
	r := req("192.0.2.1:1")
	e.fail(r, "alice", 2)
	if a := e.check(r, "alice"); a.Allowed || a.RetryAfter != time.Second {
		t.Fatalf("third attempt: %+v, want 1s (the default Base)", a)
	}
	// Max: 15 minutes by default; a Max longer than the default Forget
	// makes Forget as long.
	e = newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 1, Base: 48 * time.Hour} })
	e.fail(r, "alice", 1)
	e.clock.Add(47 * time.Hour)
	if a := e.check(r, "alice"); a.Allowed {
		t.Fatalf("Base 48h: allowed after 47h (forgotten after the default 24h?)")
	}
	e = newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 1, Base: time.Minute} })
	e.fail(r, "alice", 1)
	for range 20 {
		e.clock.Add(15 * time.Minute)
		e.fail(r, "alice", 1) // the wait never exceeds the default Max
	}
}

func TestClient(t *testing.T) {
	for _, c := range []struct {
		remote string
		v6     int
		want   string
	}{
		{"192.0.2.7:1234", 0, "192.0.2.7/32"},
		{"192.0.2.7", 0, "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:1234", 0, "192.0.2.7/32"}, // IPv4-mapped: unwrapped
		{"[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1", 0, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::1]:1", 0, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:0:0:0:1]:1", 0, "2001:db8:1:2::/64"}, // another spelling
		{"[fe80::1%eth0]:1", 0, "fe80::/64"},                 // zone dropped
		{"[2001:db8:1:2ff::1]:1", 56, "2001:db8:1:200::/56"},
		{"[2001:db8:1:2::1]:1", 128, "2001:db8:1:2::1/128"},
		{"[2001:db8:1:2::1]:1", 48, "2001:db8:1::/48"},
		{"not an address", 0, "invalid Prefix"},
	} {
		e := newEnv(t, func(cfg *throttle.Config) { cfg.IPv6Prefix = c.v6 })
		if got := e.th.Client(req(c.remote)).String(); got != c.want {
			t.Errorf("Client(%s) with /%d = %s, want %s", c.remote, c.v6, got, c.want)
		}
	}
	e := newEnv(t, nil)
	if p := e.th.Client(nil); p.IsValid() {
		t.Errorf("Client(nil) = %v, want the zero Prefix", p)
	}
}

// TestIPv6RotationWithin64: a guesser who changes address within its /64
// for every attempt is one client.
func TestIPv6RotationWithin64(t *testing.T) {
	e := newEnv(t, nil)
	base := netip.MustParseAddr("2001:db8:5:6::")
	for i := range 5 {
		a := base.As16()
		a[15], a[10] = byte(i+1), byte(i*37)
		e.fail(req(netip.AddrPortFrom(netip.AddrFrom16(a), 443).String()), "alice", 1)
	}
	if a := e.check(req("[2001:db8:5:6:ffff::9]:1"), "alice"); a.Allowed {
		t.Fatal("the sixth attempt from another address of the same /64 was allowed")
	}
	if a := e.check(req("[2001:db8:5:7::1]:1"), "alice"); !a.Allowed {
		t.Fatal("the next /64 was refused")
	}
}

// TestSpoofedXForwardedFor: with no trusted proxy (the default), a client
// that writes a new X-Forwarded-For for every attempt is still one client;
// behind a trusted proxy, the proxy's entry names the client.
func TestSpoofedXForwardedFor(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 5 {
		r := req("198.51.100.9:1")
		r.Header.Set("X-Forwarded-For", netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String())
		e.fail(r, "alice", 1)
	}
	r := req("198.51.100.9:1")
	r.Header.Set("X-Forwarded-For", "10.9.9.9")
	if a := e.check(r, "alice"); a.Allowed {
		t.Fatal("a spoofed X-Forwarded-For gave a fresh budget")
	}

	sec, _ := seclog.New(seclog.Config{TrustedProxies: []string{"10.0.0.0/8"}})
	th, err := throttle.New(throttle.Config{Logger: sec})
	if err != nil {
		t.Fatal(err)
	}
	r = req("10.0.0.2:1")
	r.Header.Add("X-Forwarded-For", "203.0.113.5, 192.0.2.44")
	if got := th.Client(r).String(); got != "192.0.2.44/32" {
		t.Errorf("behind a trusted proxy: client %s, want the proxy's entry 192.0.2.44/32", got)
	}
}

// TestEmptyUsernameLocksNoOne: attempts without a name are counted per
// client, never on one key shared by everyone (django-axes #261).
func TestEmptyUsernameLocksNoOne(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Account = throttle.Rule{Free: 3} })
	for i := range 50 {
		e.fail(req(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String()), "", 2)
	}
	if a := e.check(req("192.0.2.1"), ""); !a.Allowed {
		t.Fatal("an empty name from a new client was refused after others' empty names")
	}
	if a := e.check(req("192.0.2.1"), "  "); !a.Allowed {
		t.Fatal("a blank name from a new client was refused")
	}
	// Names are counted account-wide: the same number of attempts for one
	// name from many clients meets the account's counter.
	for i := range 3 {
		e.fail(req(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()), "alice", 1)
	}
	if a := e.check(req("192.0.2.2"), "alice"); a.Allowed {
		t.Fatal("the account's counter did not count attempts from several clients")
	}
}

// TestUnknownAndKnownAlike: the throttle never asks whether an account
// exists: any name is counted and refused the same way.
func TestUnknownAndKnownAlike(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"alice", "no-such-user"} {
		r := req("192.0.2.9")
		e.fail(r, name, 5)
		if a := e.check(r, name); a.Allowed || a.RetryAfter != time.Second {
			t.Errorf("%s: %+v, want refused for 1s", name, a)
		}
	}
}

// TestNormalize: spellings the lookup joins share counters.
func TestNormalize(t *testing.T) {
	e := newEnv(t, nil)
	r := req("192.0.2.9")
	for _, name := range []string{"alice", "Alice", " ALICE", "alice\t", "aLiCe"} {
		e.fail(r, name, 1)
	}
	if a := e.check(r, "alice"); a.Allowed {
		t.Fatal("five spellings of alice were counted apart")
	}
	e = newEnv(t, func(c *throttle.Config) { c.Normalize = func(s string) string { return s } })
	e.fail(r, "alice", 5)
	if a := e.check(r, "Alice"); !a.Allowed {
		t.Fatal("a case-sensitive Normalize joined Alice and alice")
	}
}

// TestSuccessResetsPairOnly: a success forgets the account's attempts from
// that client, not the client's attempts across accounts, nor the
// account's across clients (Symfony #65859).
func TestSuccessResetsPairOnly(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) {
		c.Client = throttle.Rule{Free: 8}
		c.Account = throttle.Rule{Free: 8}
		c.Device.Disabled = true
	})
	attacker, other := req("203.0.113.1"), req("198.51.100.1")
	e.fail(attacker, "victim", 4)
	e.fail(attacker, "mallory", 3)
	a := e.check(attacker, "mallory") // the attacker's own account: a success
	if !a.Allowed {
		t.Fatal("mallory refused")
	}
	if err := e.th.Succeeded(attacker, a); err != nil {
		t.Fatal(err)
	}
	// mallory's pair is forgotten: five free attempts again…
	// …but the client has used 8 of its 8: it waits, for every account.
	if a := e.check(attacker, "someone-else"); a.Allowed {
		t.Fatal("a success wiped the client's budget across accounts")
	}
	e.clock.Add(time.Second)
	e.fail(attacker, "mallory", 1)
	// The victim's account counter kept the attacker's 4 attempts.
	e.fail(other, "victim", 4)
	if a := e.check(other, "victim"); a.Allowed {
		t.Fatal("the account counter lost attempts")
	}
	// A zero Attempt (never allowed) forgets nothing and is no error.
	if err := e.th.Succeeded(attacker, throttle.Attempt{}); err != nil {
		t.Fatal(err)
	}
}

// TestSuccessForgetsPair: after a success the pair has its free attempts
// again.
func TestSuccessForgetsPair(t *testing.T) {
	e := newEnv(t, nil)
	r := req("192.0.2.1")
	e.fail(r, "alice", 4)
	a := e.check(r, "alice")
	if err := e.th.Succeeded(r, a); err != nil {
		t.Fatal(err)
	}
	e.fail(r, "alice", 5)
	if a := e.check(r, "alice"); a.Allowed {
		t.Fatal("a sixth attempt after the success's five was allowed")
	}
	if err := e.th.Succeeded(nil, a); err != nil { // outside a request
		t.Fatal(err)
	}
}

// TestParallelAttempts: 100 attempts at once from one client: exactly the
// free ones pass (run with -race).
func TestParallelAttempts(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 100 {
		wg.Go(func() {
			a, err := e.th.Check(req("192.0.2.1:5"), "admin")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if a.Allowed {
				allowed++
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d of 100 parallel attempts allowed, want 5", allowed)
	}
}

// TestClientCeiling: one client spraying many accounts meets its ceiling.
func TestClientCeiling(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Client = throttle.Rule{Free: 10, Base: time.Minute} })
	r := req("203.0.113.50")
	for i := range 10 {
		e.fail(r, "user"+string(rune('a'+i)), 1)
	}
	a := e.check(r, "zed")
	if a.Allowed || a.RetryAfter != time.Minute {
		t.Fatalf("eleventh account from one client: %+v, want refused for 1m", a)
	}
	if a := e.check(req("203.0.113.51"), "zed"); !a.Allowed {
		t.Fatal("another client was refused")
	}
	names := e.log.Take()
	var refused *seclogtest.Event
	for i := range names {
		if names[i].Name == "throttle.refused" {
			refused = &names[i]
		}
	}
	if refused == nil || refused.Fields["counter"] != "client" || refused.Fields["retry_after"] != int64(60) || refused.Fields["scope"] != "login" || refused.Fields["device"] != false {
		t.Fatalf("refused event %+v", refused)
	}
}

// TestForgotten: a counter is forgotten Forget after its last attempt.
func TestForgotten(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 1, Base: time.Hour, Forget: 2 * time.Hour} })
	r := req("192.0.2.1")
	e.fail(r, "alice", 1)
	e.clock.Add(time.Hour - time.Second)
	if a := e.check(r, "alice"); a.Allowed || a.RetryAfter != time.Second {
		t.Fatalf("within the hour: %+v", a)
	}
	e.clock.Add(time.Second)
	e.fail(r, "alice", 1)
	e.clock.Add(2 * time.Hour)
	e.fail(r, "alice", 1) // forgotten: a fresh count
}

func TestRetryAfterHeader(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"}, {-time.Second, "1"}, {time.Millisecond, "1"}, {time.Second, "1"},
		{time.Second + time.Nanosecond, "2"}, {90 * time.Second, "90"}, {time.Hour - time.Millisecond, "3600"},
	} {
		if got := throttle.RetryAfterHeader(c.d); got != c.want {
			t.Errorf("RetryAfterHeader(%v) = %s, want %s", c.d, got, c.want)
		}
	}
}

func TestRefuse(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 1, Base: 90 * time.Second} })
	r := req("192.0.2.1")
	e.fail(r, "alice", 1)
	e.clock.Add(500 * time.Millisecond)
	a := e.check(r, "alice")
	if a.RetryAfter != 90*time.Second {
		t.Fatalf("RetryAfter %v, want 90s (89.5s rounded up)", a.RetryAfter)
	}
	for _, method := range []string{"POST", "HEAD"} {
		w := httptest.NewRecorder()
		e.th.Refuse(w, httptest.NewRequest(method, "/login", nil), a)
		h := w.Header()
		if w.Code != 429 || h.Get("Retry-After") != "90" || h.Get("Cache-Control") != "no-store" ||
			h.Get("Content-Type") != "application/json" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %v", method, w.Code, h)
		}
		want := `{"error":"too_many_attempts"}` + "\n"
		if method == "HEAD" {
			want = ""
		}
		if w.Body.String() != want {
			t.Errorf("%s: body %q, want %q", method, w.Body.String(), want)
		}
	}
	w := httptest.NewRecorder()
	e.th.Refuse(w, nil, a)
	if w.Code != 429 || w.Body.Len() == 0 {
		t.Errorf("Refuse with a nil request: %d %q", w.Code, w.Body.String())
	}
}

func TestAttemptErr(t *testing.T) {
	if err := (throttle.Attempt{Allowed: true}).Err(); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	err := (throttle.Attempt{RetryAfter: 3 * time.Second}).Err()
	if !errors.Is(err, throttle.ErrThrottled) || err.Error() != "throttle: too many attempts: retry after 3s" {
		t.Fatalf("refused: %v", err)
	}
	wrapped := errors.Join(errors.New("totp"), err)
	if d, ok := throttle.RetryAfter(wrapped); !ok || d != 3*time.Second {
		t.Fatalf("RetryAfter(wrapped) = %v, %v", d, ok)
	}
	if d, ok := throttle.RetryAfter(errors.New("other")); ok || d != 0 {
		t.Fatalf("RetryAfter(other) = %v, %v", d, ok)
	}
}

// TestBackoffEvent: the attempt that uses up a counter's free attempts is
// logged once, with the counter and the count.
func TestBackoffEvent(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Pair = throttle.Rule{Free: 2}; c.Client = throttle.Rule{Free: 3} })
	r := req("192.0.2.1")
	e.fail(r, "alice", 1)
	if n := e.log.Names(); len(n) != 0 {
		t.Fatalf("events after one attempt: %v", n)
	}
	e.fail(r, "alice", 1)
	ev := e.log.Take()
	if len(ev) != 1 || ev[0].Name != "throttle.backoff" || ev[0].Fields["counter"] != "pair" || ev[0].Fields["failures"] != int64(2) ||
		ev[0].Fields["target_user"] != "alice" || ev[0].Fields["scope"] != "login" || ev[0].Fields["device"] != false {
		t.Fatalf("events at the second attempt: %+v", ev)
	}
	e.fail(req("192.0.2.1"), "bob", 1)
	if ev := e.log.Take(); len(ev) != 1 || ev[0].Fields["counter"] != "client" {
		t.Fatalf("events at the client's third attempt: %+v", ev)
	}
	e.clock.Add(time.Hour)
	e.fail(r, "alice", 1)
	if n := e.log.Names(); len(n) != 0 {
		t.Fatalf("events past the free attempts: %v", n)
	}
}

// downStore is a throttle store that cannot answer.
type downStore struct{}

var errDown = errors.New("store down")

func (downStore) Take(context.Context, time.Time, []throttle.Counter) (throttle.Verdict, error) {
	return throttle.Verdict{}, errDown
}
func (downStore) Delete(context.Context, ...string) error    { return errDown }
func (downStore) DeletePrefix(context.Context, string) error { return errDown }

// TestStoreDown: closed by default (an error, no attempt allowed, an
// event); FailOpen lets the attempt through, logged too.
func TestStoreDown(t *testing.T) {
	for _, open := range []bool{false, true} {
		e := newEnv(t, func(c *throttle.Config) { c.Store = downStore{}; c.FailOpen = open })
		a, err := e.th.Check(req("192.0.2.1"), "alice")
		if open != a.Allowed || open != (err == nil) {
			t.Errorf("FailOpen %v: %+v, %v", open, a, err)
		}
		if !open && (!errors.Is(err, throttle.ErrUnavailable) || !strings.Contains(err.Error(), "store down")) {
			t.Errorf("closed: error %v, want ErrUnavailable with the cause", err)
		}
		ev := e.log.Take()
		if len(ev) != 1 || ev[0].Name != "throttle.store_error" || ev[0].Fields["fail_open"] != open || ev[0].Fields["error"] != "store down" {
			t.Errorf("FailOpen %v: events %+v", open, ev)
		}
		if err := e.th.Succeeded(req("192.0.2.1"), throttle.Attempt{}); err != nil {
			t.Errorf("Succeeded of a zero attempt: %v", err)
		}
		if err := e.th.Succeeded(req("192.0.2.1"), a); open && !errors.Is(err, throttle.ErrUnavailable) {
			t.Errorf("Succeeded on a down store: %v", err)
		}
		if err := e.th.Reset(nil, "alice"); !errors.Is(err, throttle.ErrUnavailable) {
			t.Errorf("Reset on a down store: %v", err)
		}
	}
}

// TestReset: an administrator's reset forgets the account's attempts from
// every client and device, not other accounts' nor the clients'.
func TestReset(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) {
		c.Account = throttle.Rule{Free: 8, Base: time.Hour}
		c.Client = throttle.Rule{Free: 12, Base: time.Hour}
	})
	a1, a2 := req("192.0.2.1"), req("192.0.2.2")
	for i := range 8 { // a2 uses 8 of its 12 on other accounts
		e.fail(a2, "user"+string(rune('a'+i)), 1)
	}
	e.fail(a1, "alice", 5)
	e.fail(a2, "alice", 3)
	e.fail(req("192.0.2.3"), "bob", 5)
	if a := e.check(req("192.0.2.4"), "alice"); a.Allowed {
		t.Fatal("alice's account counter (8 of 8) let an attempt through")
	}
	if a := e.check(a2, "zed"); !a.Allowed { // a2's 12th
		t.Fatal("a2 refused before its ceiling")
	}
	if err := e.th.Reset(httptest.NewRequest("POST", "/admin/reset", nil), "Alice"); err != nil {
		t.Fatal(err)
	}
	ev := e.log.Take()
	last := ev[len(ev)-1]
	if last.Name != "throttle.reset" || last.Fields["target_user"] != "Alice" || last.Fields["scope"] != "login" {
		t.Fatalf("events %+v", ev)
	}
	e.fail(a1, "alice", 5)               // pair forgotten
	e.fail(req("192.0.2.5"), "alice", 1) // account forgotten
	if a := e.check(req("192.0.2.3"), "bob"); a.Allowed {
		t.Fatal("Reset of alice forgot bob")
	}
	if a := e.check(a2, "alice"); a.Allowed {
		t.Fatal("Reset forgot the client's budget")
	}
}

// TestLongNames: names of any length make bounded keys.
func TestLongNames(t *testing.T) {
	e := newEnv(t, nil)
	r := req("192.0.2.1")
	long := strings.Repeat("x", 1<<16)
	e.fail(r, long, 5)
	if a := e.check(r, long); a.Allowed {
		t.Fatal("a long name was not counted")
	}
	if a := e.check(r, long+"y"); !a.Allowed {
		t.Fatal("two long names shared a counter")
	}
}

// Equivalent mutant in Rule.Wait: `d < r.Max` as `d <= r.Max` doubles a
// wait that already equals Max once more, and min(d, r.Max) brings it back
// to Max (TestRuleWait's "reaching Max exactly").

// TestRequestContext: the store is asked with the request's context (a
// client that left cancels it), and a nil request (outside one) works.
func TestRequestContext(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := req("192.0.2.1").WithContext(ctx)
	if _, err := e.th.Check(r, "alice"); !errors.Is(err, throttle.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Check on a cancelled request: %v", err)
	}
	a := e.check(nil, "alice")
	if !a.Allowed {
		t.Fatal("Check outside a request refused")
	}
	if err := e.th.Succeeded(r, a); !errors.Is(err, context.Canceled) {
		t.Errorf("Succeeded on a cancelled request: %v", err)
	}
	if err := e.th.Reset(r, "alice"); !errors.Is(err, context.Canceled) {
		t.Errorf("Reset on a cancelled request: %v", err)
	}
	if err := e.th.Reset(nil, "alice"); err != nil {
		t.Errorf("Reset outside a request: %v", err)
	}
}
