package totp_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"github.com/bulwark-go/bulwark/internal/testenv"
	"image/png"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/seclogtest"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"
)

// TestRFC6238Vectors checks the verifier against the test vectors of RFC
// 6238 appendix B (8 digits, 30 s, T0 = 0), for the three hashes: the code
// of the listed time is accepted at that time, and a code one digit off is
// not.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[otp.Algorithm]string{
		otp.AlgorithmSHA1:   "12345678901234567890",
		otp.AlgorithmSHA256: "12345678901234567890123456789012",
		otp.AlgorithmSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix  int64
		codes map[otp.Algorithm]string
	}{
		{59, map[otp.Algorithm]string{otp.AlgorithmSHA1: "94287082", otp.AlgorithmSHA256: "46119246", otp.AlgorithmSHA512: "90693936"}},
		{1111111109, map[otp.Algorithm]string{otp.AlgorithmSHA1: "07081804", otp.AlgorithmSHA256: "68084774", otp.AlgorithmSHA512: "25091201"}},
		{1111111111, map[otp.Algorithm]string{otp.AlgorithmSHA1: "14050471", otp.AlgorithmSHA256: "67062674", otp.AlgorithmSHA512: "99943326"}},
		{1234567890, map[otp.Algorithm]string{otp.AlgorithmSHA1: "89005924", otp.AlgorithmSHA256: "91819424", otp.AlgorithmSHA512: "93441116"}},
		{2000000000, map[otp.Algorithm]string{otp.AlgorithmSHA1: "69279037", otp.AlgorithmSHA256: "90698825", otp.AlgorithmSHA512: "38618901"}},
		{20000000000, map[otp.Algorithm]string{otp.AlgorithmSHA1: "65353130", otp.AlgorithmSHA256: "77737706", otp.AlgorithmSHA512: "47863826"}},
	}
	for alg, seed := range seeds {
		secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(seed))
		for _, vec := range vectors {
			now := time.Unix(vec.unix, 0)
			code := vec.codes[alg]
			wrong := code[:7] + string('0'+(code[7]-'0'+1)%10)
			for _, c := range []struct {
				code string
				want error
			}{{wrong, mfa.ErrInvalid}, {code, nil}} {
				store := totp.NewMemoryStore()
				v, err := totp.New(totp.Config{Store: store, Issuer: "RFC", Digits: 8, Algorithm: alg, StrictClock: true, Now: func() time.Time { return now }, Logger: nopLog(t)})
				if err != nil {
					t.Fatal(err)
				}
				if err := store.Enroll(context.Background(), "u", secret, now); err != nil {
					t.Fatal(err)
				}
				err = v.Confirm(nil, "u", c.code)
				if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
					t.Errorf("%v at %d, code %s: Confirm = %v, want %v", alg, vec.unix, c.code, err, c.want)
				}
			}
		}
	}
}

func nopLog(t testing.TB) *seclog.Logger {
	l, _ := seclogtest.New(t)
	return l
}

// clock is the suite's test clock.
type clock = testenv.Clock

// env is a verifier on a memory store with a fake clock and alice enrolled
// and confirmed.
type env struct {
	t      *testing.T
	v      *totp.Verifier
	store  totp.Store
	clock  *clock
	secret string
}

func newEnv(t *testing.T, mod func(*totp.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: testenv.NewClock(time.Date(2026, 11, 23, 9, 0, 10, 0, time.UTC))}
	if e.store == nil {
		e.store = totp.NewMemoryStore()
	}
	cfg := totp.Config{Store: e.store, Issuer: "Bulwark", Now: e.clock.Now, Logger: nopLog(t)}
	if mod != nil {
		mod(&cfg)
	}
	e.store = cfg.Store
	var err error
	if e.v, err = totp.New(cfg); err != nil {
		t.Fatal(err)
	}
	key, err := e.v.Enroll(context.Background(), "alice", "alice@bulwark.test")
	if err != nil {
		t.Fatal(err)
	}
	e.secret = key.Secret()
	// Confirm one step earlier, so that the current step's code is still
	// unused.
	e.clock.Add(-30 * time.Second)
	if err := e.v.Confirm(nil, "alice", e.code(0)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	return e
}

// code returns the code of the current step plus steps.
func (e *env) code(steps int) string {
	e.t.Helper()
	c, err := ptotp.GenerateCodeCustom(e.secret, e.clock.Now().Add(time.Duration(steps)*30*time.Second), ptotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// complete posts code as the form field "code" and returns Complete's error
// and the factor it recorded.
func (e *env) complete(user, body string) error {
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.v.Complete(r, user, "state")
}

func form(code string) string { return url.Values{"code": {code}}.Encode() }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v, want nil", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func TestComplete(t *testing.T) {
	for _, c := range []struct {
		name  string
		steps []int   // codes sent in order, as step offsets; 99 means a wrong code
		want  []error // one per code
	}{
		{"current", []int{0}, []error{nil}},
		{"current twice: replay", []int{0, 0}, []error{nil, mfa.ErrReplay}},
		{"previous step after current: replay", []int{0, -1}, []error{nil, mfa.ErrReplay}},
		{"the confirming code: replay", []int{-1}, []error{mfa.ErrReplay}},
		{"next step (clock ahead)", []int{1}, []error{nil}},
		{"next step then current: replay", []int{1, 0}, []error{nil, mfa.ErrReplay}},
		{"two steps old: expired", []int{-2}, []error{mfa.ErrInvalid}},
		{"two steps ahead", []int{2}, []error{mfa.ErrInvalid}},
		{"wrong", []int{99}, []error{mfa.ErrInvalid}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			for i, s := range c.steps {
				code := "000000"
				if s != 99 {
					code = e.code(s)
				} else if code == e.code(0) || code == e.code(1) {
					code = "111111"
				}
				wantErr(t, c.name, e.complete("alice", form(code)), c.want[i])
			}
		})
	}
}

func TestCompleteMalformed(t *testing.T) {
	e := newEnv(t, func(c *totp.Config) { c.MaxAttempts = 100 })
	good := e.code(0)
	for _, body := range []string{
		"", form(""), form(good[:5]), form(good + "0"), form("abcdef"), form("１２３４５６"), form("١٢٣٤٥٦"),
		form(good + "\x00"), form(strings.Repeat("1", 100)), "code=" + strings.Repeat("1", 10000),
		"other=" + good,
	} {
		wantErr(t, "body "+body[:min(len(body), 40)], e.complete("alice", body), mfa.ErrInvalid)
	}
	// The code in the query string is not read.
	r := httptest.NewRequest("POST", "/mfa?code="+good, nil)
	wantErr(t, "code in the query", e.v.Complete(r, "alice", "s"), mfa.ErrInvalid)
	// Spaces and dashes are allowed.
	wantErr(t, "spaced code", e.complete("alice", form(good[:3]+" "+good[3:])), nil)
}

func TestStrictClock(t *testing.T) {
	e := newEnv(t, func(c *totp.Config) { c.StrictClock = true })
	wantErr(t, "next step", e.complete("alice", form(e.code(1))), mfa.ErrInvalid)
	wantErr(t, "current", e.complete("alice", form(e.code(0))), nil)
}

func TestNotEnrolled(t *testing.T) {
	e := newEnv(t, nil)
	wantErr(t, "unknown user", e.complete("bob", form(e.code(0))), mfa.ErrNotEnrolled)
	if _, err := e.v.Begin(context.Background(), "bob", "s"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("Begin(bob) = %v", err)
	}
	// An enrolment that is not confirmed does not count.
	if _, err := e.v.Enroll(context.Background(), "carol", "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.v.Begin(context.Background(), "carol", "s"); !errors.Is(err, mfa.ErrNotEnrolled) {
		t.Errorf("Begin(unconfirmed carol) = %v", err)
	}
	wantErr(t, "unconfirmed", e.complete("carol", form("123456")), mfa.ErrNotEnrolled)
	if ok, err := e.v.Enrolled(context.Background(), "carol"); ok || err != nil {
		t.Errorf("Enrolled(carol) = %v, %v", ok, err)
	}
	if ok, err := e.v.Enrolled(context.Background(), "alice"); !ok || err != nil {
		t.Errorf("Enrolled(alice) = %v, %v", ok, err)
	}
	if prompt, err := e.v.Begin(context.Background(), "alice", "s"); prompt.Redirect != "" || prompt.Options != nil || err != nil {
		t.Errorf("Begin(alice) = %+v, %v, want the zero Prompt (the code form)", prompt, err)
	}
}

// TestAttemptLimit: from one client, brute force is stopped after
// MaxAttempts, even with the right code; each later attempt waits, twice
// as long as the one before, up to LockWindow; a success clears the count.
func TestAttemptLimit(t *testing.T) {
	e := newEnv(t, func(c *totp.Config) { c.MaxAttempts = 5; c.LockWindow = 15 * time.Minute })
	wrong := "000000"
	if wrong == e.code(0) || wrong == e.code(1) || wrong == e.code(-1) {
		wrong = "111111"
	}
	for range 5 {
		wantErr(t, "wrong code", e.complete("alice", form(wrong)), mfa.ErrInvalid)
	}
	err := e.complete("alice", form(e.code(0)))
	wantErr(t, "right code when locked", err, mfa.ErrLocked)
	if d, ok := throttle.RetryAfter(err); !ok || d != time.Second {
		t.Errorf("RetryAfter(%v) = %v, %v; want 1s", err, d, ok)
	}
	for range 1000 {
		if err := e.complete("alice", form(wrong)); !errors.Is(err, mfa.ErrLocked) {
			t.Fatalf("brute force: %v, want ErrLocked", err)
		}
	}
	// The waits: 1s, 2s, 4s … (the refused attempts above counted nothing).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		e.clock.Add(wait - time.Millisecond)
		wantErr(t, "just before the wait's end", e.complete("alice", form(wrong)), mfa.ErrLocked)
		e.clock.Add(time.Millisecond)
		if i < 2 {
			wantErr(t, "after the wait", e.complete("alice", form(wrong)), mfa.ErrInvalid)
		}
	}
	wantErr(t, "right code after the wait", e.complete("alice", form(e.code(0))), nil)
	// A success clears the counter.
	e.clock.Add(30 * time.Second)
	for range 4 {
		wantErr(t, "wrong code", e.complete("alice", form(wrong)), mfa.ErrInvalid)
	}
	wantErr(t, "fifth attempt", e.complete("alice", form(e.code(0))), nil)
}

// TestAttemptLimitLongest: the wait never exceeds LockWindow.
func TestAttemptLimitLongest(t *testing.T) {
	e := newEnv(t, func(c *totp.Config) { c.MaxAttempts = 1; c.LockWindow = 3 * time.Second })
	wantErr(t, "first", e.complete("alice", form("000001")), mfa.ErrInvalid)
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second} {
		e.clock.Add(wait - time.Millisecond)
		wantErr(t, "before the wait's end", e.complete("alice", form("000001")), mfa.ErrLocked)
		e.clock.Add(time.Millisecond)
		wantErr(t, "after the wait", e.complete("alice", form("000001")), mfa.ErrInvalid)
	}
}

func TestRecoveryCodes(t *testing.T) {
	e := newEnv(t, nil)
	codes, err := e.v.NewRecoveryCodes(nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != totp.DefaultRecoveryCodes {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || seen[c] {
			t.Fatalf("code %q (length or duplicate)", c)
		}
		seen[c] = true
	}
	rec, _, _ := e.store.Get(context.Background(), "alice")
	if rec.RecoveryCodes != len(codes) {
		t.Fatalf("store holds %d codes", rec.RecoveryCodes)
	}
	// Typed in lower case without dashes: accepted once.
	typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))
	r := httptest.NewRequest("POST", "/mfa", strings.NewReader(form(typed)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	wantErr(t, "recovery code", e.v.Complete(r, "alice", "s"), nil)
	wantErr(t, "recovery code again", e.complete("alice", form(codes[0])), mfa.ErrInvalid)
	wantErr(t, "another code", e.complete("alice", form(codes[1])), nil)
	wantErr(t, "a made-up code", e.complete("alice", form("AAAA-BBBB-CCCC-DDDD")), mfa.ErrInvalid)
	// A new set replaces the old one.
	if _, err := e.v.NewRecoveryCodes(nil, "alice"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "old set", e.complete("alice", form(codes[2])), mfa.ErrInvalid)
	if _, err := e.v.NewRecoveryCodes(nil, "nobody"); !errors.Is(err, totp.ErrNoRecord) {
		t.Errorf("NewRecoveryCodes(nobody) = %v", err)
	}
}

func TestEnroll(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.v.Enroll(ctx, "alice", "alice"); !errors.Is(err, totp.ErrAlreadyEnrolled) {
		t.Fatalf("Enroll over a confirmed secret = %v, want ErrAlreadyEnrolled", err)
	}
	key, err := e.v.Enroll(ctx, "bob", "bob@bulwark.test")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(key.URI())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Bulwark:bob@bulwark.test" || q.Get("secret") != key.Secret() ||
		q.Get("issuer") != "Bulwark" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI %s", key.URI())
	}
	if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret()); err != nil || len(raw) != 20 {
		t.Errorf("secret %q: %d bytes, %v", key.Secret(), len(raw), err)
	}
	img, err := key.PNG(256)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := png.Decode(bytes.NewReader(img)); err != nil || p.Bounds().Dx() != 256 {
		t.Fatalf("PNG: %v", err)
	}
	// Confirm: a wrong code, then the right one; then the secret counts.
	wantErr(t, "wrong confirm", e.v.Confirm(nil, "bob", "000000x"), mfa.ErrInvalid)
	c, _ := ptotp.GenerateCode(key.Secret(), e.clock.Now())
	wantErr(t, "confirm", e.v.Confirm(nil, "bob", c), nil)
	wantErr(t, "confirm again", e.v.Confirm(nil, "bob", c), totp.ErrAlreadyEnrolled)
	wantErr(t, "the confirming code cannot log in", e.complete("bob", form(c)), mfa.ErrReplay)
	if err := e.v.Disable(nil, "bob"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.v.Enrolled(ctx, "bob"); ok {
		t.Error("still enrolled after Disable")
	}
	wantErr(t, "confirm unknown", e.v.Confirm(nil, "nobody", c), mfa.ErrNotEnrolled)
	if _, err := e.v.Enroll(ctx, "bob", " "); err == nil {
		t.Error("Enroll with an empty account = nil")
	}
}

func TestNewErrors(t *testing.T) {
	store := totp.NewMemoryStore()
	for _, c := range []struct {
		name string
		cfg  totp.Config
		want string
	}{
		{"no store", totp.Config{Issuer: "x"}, "Config.Store"},
		{"no issuer", totp.Config{Store: store}, "Config.Issuer"},
		{"issuer with colon", totp.Config{Store: store, Issuer: "a:b"}, "Config.Issuer"},
		{"7 digits", totp.Config{Store: store, Issuer: "x", Digits: 7}, "Config.Digits"},
		{"period 1.5s", totp.Config{Store: store, Issuer: "x", Period: 1500 * time.Millisecond}, "Config.Period"},
		{"negative period", totp.Config{Store: store, Issuer: "x", Period: -time.Second}, "Config.Period"},
		{"algorithm", totp.Config{Store: store, Issuer: "x", Algorithm: otp.AlgorithmMD5}, "Config.Algorithm"},
		{"negative attempts", totp.Config{Store: store, Issuer: "x", MaxAttempts: -1}, "MaxAttempts"},
	} {
		if _, err := totp.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

// failing is a store whose every call fails after the first n calls.
type failing struct {
	totp.Store
	fail string
}

var errDown = errors.New("store down")

func (f *failing) Get(ctx context.Context, id string) (totp.Record, bool, error) {
	if f.fail == "Get" {
		return totp.Record{}, false, errDown
	}
	return f.Store.Get(ctx, id)
}
func (f *failing) Attempt(ctx context.Context, id string, at time.Time, l totp.Limit) (bool, error) {
	if f.fail == "Attempt" {
		return false, errDown
	}
	return f.Store.Attempt(ctx, id, at, l)
}
func (f *failing) Accept(ctx context.Context, id string, step int64) (bool, error) {
	if f.fail == "Accept" {
		return false, errDown
	}
	return f.Store.Accept(ctx, id, step)
}
func (f *failing) UseRecoveryCode(ctx context.Context, id, h string) (bool, error) {
	if f.fail == "UseRecoveryCode" {
		return false, errDown
	}
	return f.Store.UseRecoveryCode(ctx, id, h)
}
func (f *failing) Ping(context.Context) error {
	if f.fail == "Ping" {
		return errDown
	}
	return nil
}

// TestStoreErrors: a store error at any call of Complete is an error that
// is none of the refusals (the gate answers 503), never a pass.
func TestStoreErrors(t *testing.T) {
	for _, op := range []string{"Get", "Accept", "UseRecoveryCode", "Ping"} {
		t.Run(op, func(t *testing.T) {
			f := &failing{Store: totp.NewMemoryStore()}
			e := newEnv(t, func(c *totp.Config) { c.Store = f })
			codes, err := e.v.NewRecoveryCodes(nil, "alice")
			if err != nil {
				t.Fatal(err)
			}
			f.fail = op
			if op == "Ping" {
				if err := e.v.Health(context.Background()); !errors.Is(err, errDown) {
					t.Fatalf("Health = %v", err)
				}
				return
			}
			code := e.code(0)
			if op == "UseRecoveryCode" {
				code = codes[0]
			}
			err = e.complete("alice", form(code))
			if !errors.Is(err, errDown) {
				t.Fatalf("Complete = %v, want the store's error", err)
			}
			for _, refusal := range []error{mfa.ErrInvalid, mfa.ErrReplay, mfa.ErrLocked, mfa.ErrNotEnrolled, mfa.ErrState} {
				if errors.Is(err, refusal) {
					t.Fatalf("a store error reads as %v", refusal)
				}
			}
		})
	}
	e := newEnv(t, nil)
	if err := e.v.Health(context.Background()); err != nil {
		t.Errorf("memory store Health = %v", err)
	}
}

// TestConcurrentReplay: the same code sent by many requests at once
// passes once.
func TestConcurrentReplay(t *testing.T) {
	e := newEnv(t, func(c *totp.Config) { c.MaxAttempts = 100 })
	code := e.code(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed, replays := 0, 0
	for range 30 {
		wg.Go(func() {
			err := e.complete("alice", form(code))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				passed++
			case errors.Is(err, mfa.ErrReplay):
				replays++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if passed != 1 || replays != 29 {
		t.Errorf("%d passed, %d replays; want 1 and 29", passed, replays)
	}
}
