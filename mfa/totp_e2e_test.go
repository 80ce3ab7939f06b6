package mfa_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/testenv"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"
)

// faultyStore wraps a totp.MemoryStore and fails the operation named by
// fail.
type faultyStore struct {
	*totp.MemoryStore
	mu   sync.Mutex
	fail string
}

var errDown = errors.New("store down: connection refused")

func (s *faultyStore) failing(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail == op {
		return errDown
	}
	return nil
}

func (s *faultyStore) setFail(op string) { s.mu.Lock(); s.fail = op; s.mu.Unlock() }

func (s *faultyStore) Get(ctx context.Context, id string) (totp.Record, bool, error) {
	if err := s.failing("Get"); err != nil {
		return totp.Record{}, false, err
	}
	return s.MemoryStore.Get(ctx, id)
}

func (s *faultyStore) Attempt(ctx context.Context, id string, at time.Time, l totp.Limit) (bool, error) {
	if err := s.failing("Attempt"); err != nil {
		return false, err
	}
	return s.MemoryStore.Attempt(ctx, id, at, l)
}

func (s *faultyStore) Accept(ctx context.Context, id string, step int64) (bool, error) {
	if err := s.failing("Accept"); err != nil {
		return false, err
	}
	return s.MemoryStore.Accept(ctx, id, step)
}

func (s *faultyStore) UseRecoveryCode(ctx context.Context, id, h string) (bool, error) {
	if err := s.failing("UseRecoveryCode"); err != nil {
		return false, err
	}
	return s.MemoryStore.UseRecoveryCode(ctx, id, h)
}

func (s *faultyStore) Ping(context.Context) error { return s.failing("Ping") }

// totpSite is a site whose gate uses the TOTP verifier, asking only
// enrolled users; alice is enrolled, bob is not.
type totpSite struct {
	*site
	v        *totp.Verifier
	store    *faultyStore
	secret   string
	recovery []string
}

// newTOTPSite builds the site; more change the gate's configuration after
// the TOTP verifier and its Required are set.
func newTOTPSite(t *testing.T, more ...func(*mfa.Config)) *totpSite {
	t.Helper()
	ts := &totpSite{store: &faultyStore{MemoryStore: totp.NewMemoryStore()}}
	var st *site
	now := func() time.Time { return st.clock.Now() }
	v, err := totp.New(totp.Config{Store: ts.store, Issuer: "Bulwark", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ts.v = v
	st = newSite(t, v, func(c *mfa.Config) {
		c.Required = v.Required
		for _, f := range more {
			f(c)
		}
	})
	ts.site = st
	key, err := v.Enroll(context.Background(), "alice", "alice@bulwark.test")
	if err != nil {
		t.Fatal(err)
	}
	ts.secret = key.Secret()
	st.clock.Add(-30 * time.Second)
	if err := v.Confirm(nil, "alice", ts.code()); err != nil {
		t.Fatal(err)
	}
	st.clock.Add(30 * time.Second)
	if ts.recovery, err = v.NewRecoveryCodes(nil, "alice"); err != nil {
		t.Fatal(err)
	}
	return ts
}

func (ts *totpSite) code() string {
	c, err := ptotp.GenerateCodeCustom(ts.secret, ts.clock.Now(), ptotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		ts.t.Fatal(err)
	}
	return c
}

func codeForm(c string) string { return url.Values{"code": {c}}.Encode() }

// TestTOTPEndToEnd: alice (enrolled) is challenged and passes with a code
// computed by the test; the same code is refused after she logs in again;
// bob (not enrolled) is not asked.
func TestTOTPEndToEnd(t *testing.T) {
	ts := newTOTPSite(t)
	ts.login("bob")
	expect(t, "bob, not enrolled", ts.do("GET", "/account", ""), 200, "")

	ts.login("alice")
	expect(t, "alice", ts.do("GET", "/account", ""), 303, "/mfa")
	expect(t, "form", ts.do("GET", "/mfa", ""), 200, "")
	wrong := "000000"
	if wrong == ts.code() {
		wrong = "111111"
	}
	expect(t, "wrong code", ts.do("POST", "/mfa", codeForm(wrong)), 403, "")
	code := ts.code()
	expect(t, "right code", ts.do("POST", "/mfa", codeForm(code)), 303, "/account")
	hasEvent(t, ts.names(), "mfa.failure", "mfa.success")
	expect(t, "free", ts.do("GET", "/account", ""), 200, "")

	expect(t, "logout", ts.do("POST", "/logout", ""), 200, "")
	ts.login("alice")
	ts.do("GET", "/mfa", "")
	expect(t, "replayed code", ts.do("POST", "/mfa", codeForm(code)), 403, "")
	hasEvent(t, ts.names(), "mfa.replay")
	ts.clock.Add(30 * time.Second)
	expect(t, "next code", ts.do("POST", "/mfa", codeForm(ts.code())), 303, "/")

	// A recovery code, once.
	ts.do("POST", "/logout", "")
	ts.login("alice")
	ts.do("GET", "/mfa", "")
	expect(t, "recovery code", ts.do("POST", "/mfa", codeForm(ts.recovery[0])), 303, "/")
	ts.do("POST", "/logout", "")
	ts.login("alice")
	ts.do("GET", "/mfa", "")
	expect(t, "recovery code again", ts.do("POST", "/mfa", codeForm(ts.recovery[0])), 403, "")
}

// TestTOTPBruteForce: 1000 wrong codes lock the user; the right code is
// then refused too, and the lock is an event.
func TestTOTPBruteForce(t *testing.T) {
	ts := newTOTPSite(t)
	ts.login("alice")
	ts.do("GET", "/mfa", "")
	right := ts.code()
	n := 0
	for i := range 1000 {
		c := strconv.Itoa(100000 + i)
		if c == right {
			continue
		}
		if w := ts.do("POST", "/mfa", codeForm(c)); w.Code != 403 {
			t.Fatalf("code %s: %d", c, w.Code)
		}
		n++
	}
	expect(t, "right code after brute force", ts.do("POST", "/mfa", codeForm(right)), 403, "")
	names := ts.names()
	failures, locks := 0, 0
	for _, name := range names {
		switch name {
		case "mfa.failure":
			failures++
		case "mfa.locked":
			locks++
		}
	}
	if failures != totp.DefaultMaxAttempts || locks != n+1-totp.DefaultMaxAttempts {
		t.Errorf("%d failures and %d locks; want %d and %d", failures, locks, totp.DefaultMaxAttempts, n+1-totp.DefaultMaxAttempts)
	}
	expect(t, "still refused", ts.do("GET", "/account", ""), 303, "/mfa")
}

// TestStoreFailsAtEveryCall: whichever store call fails, the request is
// answered 503 with an event, and the user does not pass. (Attempts are
// counted by the throttle, whose store failing is an error that is no
// refusal: totp's TestThrottleStoreError.)
func TestStoreFailsAtEveryCall(t *testing.T) {
	for _, c := range []struct {
		op      string
		begin   bool   // GET /mfa before the failure
		method  string // the request that meets the failure
		target  string
		body    func(ts *totpSite) string
		event   string
		failing bool // the failure is still on for the final check
	}{
		{"Get", false, "GET", "/account", nil, "mfa.store_error", true},
		{"Get", false, "GET", "/mfa", nil, "mfa.unavailable", true},
		{"Get", true, "POST", "/mfa", func(ts *totpSite) string { return codeForm(ts.code()) }, "mfa.unavailable", false},
		{"Ping", false, "GET", "/mfa", nil, "mfa.unavailable", false},
		{"Accept", true, "POST", "/mfa", func(ts *totpSite) string { return codeForm(ts.code()) }, "mfa.unavailable", false},
		{"UseRecoveryCode", true, "POST", "/mfa", func(ts *totpSite) string { return codeForm(ts.recovery[0]) }, "mfa.unavailable", false},
	} {
		t.Run(c.op+" "+c.method+" "+c.target, func(t *testing.T) {
			ts := newTOTPSite(t)
			ts.login("alice")
			if c.begin {
				expect(t, "begin", ts.do("GET", "/mfa", ""), 200, "")
			}
			ts.names()
			ts.store.setFail(c.op)
			body := ""
			if c.body != nil {
				body = c.body(ts)
			}
			w := ts.do(c.method, c.target, body)
			expect(t, c.op, w, 503, "")
			hasEvent(t, ts.names(), c.event)
			if !c.failing {
				ts.store.setFail("")
			}
			if w := ts.do("GET", "/account", "", "Accept", "application/json"); w.Code != 403 && w.Code != 503 {
				t.Fatalf("after a %s failure, /account: %d", c.op, w.Code)
			}
		})
	}
}

// TestOpenRedirectCorpus: a return path from the shared open-redirect
// corpus, given to SetNext at login, is followed after the second factor
// exactly when SafeNext accepts it (the safe rows, less those the suite is
// stricter on); any other gives the default landing page.
func TestOpenRedirectCorpus(t *testing.T) {
	for _, c := range testenv.OpenRedirectCases(t) {
		next := c.Next
		st := newSite(t, &fakeVerifier{}, func(c *mfa.Config) { c.NextHosts = []string{"bulwark.test"} })
		w := st.do("POST", "/login?"+url.Values{"u": {"alice"}, "next": {next}}.Encode(), "")
		if refused := strings.Contains(w.Body.String(), "next refused"); refused == c.Accepted() {
			t.Errorf("%q (safe=%v): SetNext accepted = %v", next, c.Safe, !refused)
		}
		loc := st.verify().Header().Get("Location")
		want := "/"
		if c.Accepted() {
			want = next
		}
		if loc != want {
			t.Errorf("%q (safe=%v): Location %q, want %q", next, c.Safe, loc, want)
		}
		for i := 0; i < len(loc); i++ {
			if loc[i] < 0x20 || loc[i] == 0x7f {
				t.Errorf("%q: control character in Location %q", next, loc)
			}
		}
		if strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) || strings.HasPrefix(loc, `\`) {
			t.Errorf("%q: Location %q leaves the site", next, loc)
		}
		if u, err := url.Parse("https://bulwark.test/mfa"); err == nil {
			if ref, err := u.Parse(loc); err != nil || ref.Host != "bulwark.test" || ref.Scheme != "https" {
				t.Errorf("%q: Location %q resolves to %v (%v)", next, loc, ref, err)
			}
		}
	}
}

// TestReturnPathFromRequest: the return path kept by a refused navigation
// is the escaped request URI, never a decoded form.
func TestReturnPathFromRequest(t *testing.T) {
	for target, want := range map[string]string{
		"/%2F%2Fevil.example":           "/%2F%2Fevil.example",
		`/\evil.example`:                "/%5Cevil.example",
		"/a%26next%3D%2F%2Fx":           "/a%26next%3D%2F%2Fx",
		"/search?q=//evil":              "/search?q=//evil",
		"/mfa/../account":               "/", // a dot segment: a later step would rewrite it
		"/a/%2e%2e/account":             "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		st := newSite(t, &fakeVerifier{}, nil)
		st.login("alice")
		st.do("GET", target, "")
		if loc := st.verify().Header().Get("Location"); loc != want {
			t.Errorf("%.40q: Location %q, want %q", target, loc, want)
		}
	}
}
