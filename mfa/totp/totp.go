// Package totp is the built-in second factor of the mfa gate: time-based
// one-time passwords (RFC 6238), as authenticator apps compute them, on
// github.com/pquerna/otp, with what that library leaves to its users:
//
//   - a replay guard: the last accepted time step is stored per user and a
//     code of that step or an earlier one is refused (RFC 6238 §5.2: "the
//     verifier MUST NOT accept the second attempt of the same OTP"),
//     atomically, so two concurrent requests never both pass with one code;
//   - throttling through package throttle, the same rule as the login's:
//     every attempt counts until one succeeds, per (user, client), with an
//     exponential back-off after [Config.MaxAttempts], a ceiling per client
//     and a cap per user across untrusted clients, so that someone who
//     guesses codes from elsewhere slows themselves, not the user;
//   - enrolment that is confirmed by a first code before it counts, with an
//     otpauth:// URI and a QR code PNG;
//   - recovery codes, 80 random bits each, stored as SHA-256 hashes and
//     usable once.
//
// A [Verifier] is an mfa.Verifier; its [Verifier.Required] fits
// mfa.Config.Required for sites where only enrolled users are asked.
package totp

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/throttle"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	"go.uber.org/zap"
)

// Method is the verifier's method name, in session state and events.
const Method = "totp"

// Defaults of [Config].
const (
	DefaultDigits        = 6
	DefaultPeriod        = 30 * time.Second
	DefaultMaxAttempts   = 5
	DefaultLockWindow    = 15 * time.Minute
	DefaultRecoveryCodes = 10
	DefaultField         = "code"
)

// maxFormBytes bounds the body Complete reads.
const maxFormBytes = 4 << 10

// Config configures the TOTP verifier. Store and Issuer are required; the
// zero value of every other field is the default that authenticator apps
// expect (6 digits, 30 seconds, SHA-1) with the strict settings below.
type Config struct {
	// Store keeps the secrets. Required: NewMemoryStore() for one process,
	// mfa/totp/sqlstore for SQLite or PostgreSQL.
	Store Store
	// Issuer names the site in authenticator apps ("Example Corp").
	// Required; no ':' (the otpauth:// label separator).
	Issuer string
	// Digits is 6 (default) or 8.
	Digits int
	// Period is the time step, in whole seconds (default 30s).
	Period time.Duration
	// Algorithm is the HMAC hash; the zero value is SHA-1, the only one
	// every authenticator app supports.
	Algorithm otp.Algorithm
	// StrictClock accepts codes of the current time step only. The
	// default also accepts the previous and the next step (clock drift,
	// a code typed as it changes), as RFC 6238 §5.2 recommends.
	StrictClock bool
	// MaxAttempts is how many attempts without success a user has from
	// one client before each attempt waits, 1s, 2s, 4s … (default 5).
	MaxAttempts int
	// LockWindow is the longest of these waits (default 15 minutes).
	LockWindow time.Duration
	// Throttle judges every attempt (Complete and Confirm) per (user,
	// client), before the code is checked; its Scope keeps its counters
	// apart from the login's. Nil means a throttle on a memory store
	// (scope "totp", the rules of throttle.Config but for the pair rule,
	// made of MaxAttempts and LockWindow, and no device cookies). Give one
	// built on a shared store for a site with several instances, and with
	// the login throttle's Device key so that the browser of a user who
	// completed a login before keeps its own budget; then leave MaxAttempts
	// and LockWindow zero and set its Pair rule.
	Throttle *throttle.Throttle
	// RecoveryCodes is how many codes NewRecoveryCodes issues (default 10).
	RecoveryCodes int
	// Field is the form field Complete reads the code from (default
	// "code"); a recovery code may be typed in the same field.
	Field string
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Verifier is the TOTP [mfa.Verifier]. It is safe for concurrent use.
type Verifier struct {
	store    Store
	issuer   string
	digits   otp.Digits
	period   int64
	alg      otp.Algorithm
	skew     int64
	th       *throttle.Throttle
	nCodes   int
	field    string
	log      *seclog.Logger
	now      func() time.Time
	hashOpts hotp.ValidateOpts
}

var (
	_ mfa.Verifier          = (*Verifier)(nil)
	_ mfa.EnrollmentChecker = (*Verifier)(nil) // so the gate can skip it for a user without a secret
)

// New returns the verifier for cfg, or an error naming the field that is
// wrong.
func New(cfg Config) (*Verifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("totp: Config.Store is nil: give totp.NewMemoryStore() or an SQL store from mfa/totp/sqlstore")
	}
	if strings.TrimSpace(cfg.Issuer) == "" || strings.Contains(cfg.Issuer, ":") {
		return nil, fmt.Errorf("totp: Config.Issuer %q: write the site's name as authenticator apps should show it, without ':'", cfg.Issuer)
	}
	v := &Verifier{store: cfg.Store, issuer: cfg.Issuer, alg: cfg.Algorithm, log: cfg.Logger, now: cfg.Now, field: cfg.Field}
	switch cfg.Digits {
	case 0, 6:
		v.digits = otp.DigitsSix
	case 8:
		v.digits = otp.DigitsEight
	default:
		return nil, fmt.Errorf("totp: Config.Digits %d: write 6 (the default) or 8", cfg.Digits)
	}
	period := orDefault(cfg.Period, DefaultPeriod)
	if period < time.Second || period%time.Second != 0 {
		return nil, fmt.Errorf("totp: Config.Period %v: write whole seconds, such as 30*time.Second (the default)", cfg.Period)
	}
	v.period = int64(period / time.Second)
	switch cfg.Algorithm {
	case otp.AlgorithmSHA1, otp.AlgorithmSHA256, otp.AlgorithmSHA512:
	default:
		return nil, fmt.Errorf("totp: Config.Algorithm %v: write otp.AlgorithmSHA1 (the default), otp.AlgorithmSHA256 or otp.AlgorithmSHA512", cfg.Algorithm)
	}
	if !cfg.StrictClock {
		v.skew = 1
	}
	if cfg.MaxAttempts < 0 || cfg.LockWindow < 0 || cfg.RecoveryCodes < 0 {
		return nil, errors.New("totp: Config.MaxAttempts, LockWindow and RecoveryCodes must not be negative (0 means the default)")
	}
	v.th = cfg.Throttle
	if v.th != nil && (cfg.MaxAttempts != 0 || cfg.LockWindow != 0) {
		return nil, errors.New("totp: Config.MaxAttempts and LockWindow are for the default throttle: with Config.Throttle, set its Pair rule instead")
	}
	v.nCodes = cfg.RecoveryCodes
	if v.nCodes == 0 {
		v.nCodes = DefaultRecoveryCodes
	}
	if v.field == "" {
		v.field = DefaultField
	}
	if v.log == nil {
		v.log = seclog.Default()
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.th == nil {
		pair := throttle.DefaultPair
		pair.Free = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
		pair.Max = orDefault(cfg.LockWindow, DefaultLockWindow)
		pair.Forget = max(pair.Forget, pair.Max)
		th, err := throttle.New(throttle.Config{Scope: Method, Pair: pair, Logger: v.log, Now: v.now, Device: throttle.Device{Disabled: true}})
		if err != nil {
			return nil, fmt.Errorf("totp: Config.MaxAttempts or LockWindow: %w", err)
		}
		v.th = th
	}
	v.hashOpts = hotp.ValidateOpts{Digits: v.digits, Algorithm: v.alg}
	return v, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Method implements [mfa.Verifier]: "totp".
func (v *Verifier) Method() string { return Method }

// Begin implements [mfa.Verifier]: it checks that the user has a
// confirmed secret, and asks for the application's code form (the zero
// Prompt).
func (v *Verifier) Begin(ctx context.Context, userID, _ string) (mfa.Prompt, error) {
	rec, found, err := v.store.Get(ctx, userID)
	if err != nil {
		return mfa.Prompt{}, err
	}
	if !found || !rec.Confirmed {
		return mfa.Prompt{}, fmt.Errorf("totp: %w", mfa.ErrNotEnrolled)
	}
	return mfa.Prompt{}, nil
}

// Complete implements [mfa.Verifier]: it reads the code from the POSTed
// form field (never the query string: codes do not belong in URLs or
// access logs), counts the attempt, and accepts a TOTP code of an allowed
// step after the last accepted one, or an unused recovery code.
func (v *Verifier) Complete(r *http.Request, userID, _ string) error {
	if r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	}
	input := r.PostFormValue(v.field)
	ctx := r.Context()
	rec, found, err := v.store.Get(ctx, userID)
	if err != nil {
		return err
	}
	if !found || !rec.Confirmed {
		return fmt.Errorf("totp: %w", mfa.ErrNotEnrolled)
	}
	a, err := v.attempt(r, userID)
	if err != nil {
		return err
	}
	now := v.now()
	code, isCode := normalizeCode(input, v.digits.Length())
	if isCode {
		step, matched, replay := v.match(rec.Secret, code, now, rec.LastStep)
		switch {
		case replay:
			return fmt.Errorf("totp: %w", mfa.ErrReplay)
		case !matched:
			return fmt.Errorf("totp: %w: wrong or expired code", mfa.ErrInvalid)
		}
		accepted, err := v.store.Accept(ctx, userID, step)
		if err != nil {
			return err
		}
		if !accepted {
			// Another request took this step first (or a later one).
			return fmt.Errorf("totp: %w", mfa.ErrReplay)
		}
		v.th.Succeeded(r, a) // a store error is logged; the code was right
		mfa.SetFactor(r, "code")
		return nil
	}
	rc, isRecovery := normalizeRecovery(input)
	if !isRecovery {
		return fmt.Errorf("totp: %w: malformed code", mfa.ErrInvalid)
	}
	used, err := v.store.UseRecoveryCode(ctx, userID, hashCode(rc))
	if err != nil {
		return err
	}
	if !used {
		return fmt.Errorf("totp: %w: unknown or used recovery code", mfa.ErrInvalid)
	}
	v.th.Succeeded(r, a)
	mfa.SetFactor(r, "recovery_code")
	return nil
}

// attempt asks the throttle about an attempt of userID from r's client
// (r may be nil), which counts it; it returns an error wrapping
// mfa.ErrLocked and the throttle's wait (throttle.RetryAfter reads it)
// when the attempt must wait, or the throttle's store error.
func (v *Verifier) attempt(r *http.Request, userID string) (throttle.Attempt, error) {
	a, err := v.th.Check(r, userID)
	if err != nil {
		return a, err
	}
	if !a.Allowed {
		return a, fmt.Errorf("totp: %w: %w", mfa.ErrLocked, a.Err())
	}
	return a, nil
}

// match checks code against the steps around now, latest first. It
// returns the matching step after last; or replay when the code matches
// only steps at or before last.
func (v *Verifier) match(secret, code string, now time.Time, last int64) (step int64, matched, replay bool) {
	cur := stepAt(now, v.period)
	for s := cur + v.skew; s >= cur-v.skew; s-- {
		if s < 0 {
			break
		}
		ok, err := hotp.ValidateCustom(code, uint64(s), secret, v.hashOpts)
		if err != nil || !ok {
			continue
		}
		if s > last {
			return s, true, false
		}
		replay = true
	}
	return 0, false, replay
}

// stepAt is the RFC 6238 time step of t: floor(Unix time / period).
func stepAt(t time.Time, period int64) int64 {
	u := t.Unix()
	if u < 0 {
		return -1
	}
	return u / period
}

// normalizeCode returns the digits of input with spaces and '-' removed,
// and whether they are exactly n ASCII digits.
func normalizeCode(input string, n int) (string, bool) {
	if len(input) > 64 {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
		case '0' <= c && c <= '9':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == n
}

// Recovery codes are 16 characters of the RFC 4648 base32 alphabet (80
// random bits), shown as four groups of four.
const recoveryLen = 16

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// normalizeRecovery returns input upper-cased without spaces and '-', and
// whether it has the form of a recovery code.
func normalizeRecovery(input string) (string, bool) {
	if len(input) > 64 {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(input); i++ {
		c := input[i]
		switch {
		case c == ' ' || c == '-' || c == '\t':
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == recoveryLen
}

// hashCode is how a recovery code is stored: the hex SHA-256 of its
// normalized form. The codes carry 80 random bits, so a fast hash is
// enough: no dictionary to try.
func hashCode(normalized string) string {
	sum := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(sum[:])
}

// Health implements [mfa.Verifier]: the store's Ping when it has one
// (the SQL store does), else nil.
func (v *Verifier) Health(ctx context.Context) error {
	if p, ok := v.store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Enrolled reports whether userID has a confirmed TOTP secret.
func (v *Verifier) Enrolled(ctx context.Context, userID string) (bool, error) {
	rec, found, err := v.store.Get(ctx, userID)
	if err != nil {
		return false, err
	}
	return found && rec.Confirmed, nil
}

// Required reports whether u must pass the second factor: whether they
// are enrolled. Give it to mfa.Config.Required when only enrolled users
// are asked (leave Required nil to ask everyone).
func (v *Verifier) Required(ctx context.Context, u identity.User) (bool, error) {
	return v.Enrolled(ctx, u.ID())
}

// Key is a new TOTP secret, as [Verifier.Enroll] returns it, to show to
// the user once.
type Key struct {
	key *otp.Key
}

// Secret returns the secret, base32 without padding, for manual entry.
func (k *Key) Secret() string { return k.key.Secret() }

// URI returns the otpauth:// URI that authenticator apps read.
func (k *Key) URI() string { return k.key.URL() }

// PNG returns the URI as a QR code PNG of size×size pixels (at least 128).
func (k *Key) PNG(size int) ([]byte, error) {
	if size < 128 {
		size = 128
	}
	img, err := k.key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// ErrAlreadyEnrolled is returned by Enroll for a user whose secret is
// confirmed: Disable it first (after a step-up), so that a stolen session
// cannot quietly replace the victim's factor.
var ErrAlreadyEnrolled = errors.New("totp: the user already has a confirmed secret")

// Enroll makes a new secret (20 random bytes) for userID, shown in apps as
// account on Issuer, and stores it unconfirmed: it does not count until
// [Verifier.Confirm] sees a code made with it. Calling it again before
// confirming replaces the secret.
func (v *Verifier) Enroll(ctx context.Context, userID, account string) (*Key, error) {
	if strings.TrimSpace(account) == "" {
		return nil, errors.New("totp: Enroll: empty account name")
	}
	rec, found, err := v.store.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	if found && rec.Confirmed {
		return nil, ErrAlreadyEnrolled
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: v.issuer, AccountName: account, Period: uint(v.period),
		SecretSize: 20, Digits: v.digits, Algorithm: v.alg, Rand: rand.Reader,
	})
	if err != nil {
		return nil, fmt.Errorf("totp: Enroll: %w", err)
	}
	if err := v.store.Enroll(ctx, userID, k.Secret(), v.now()); err != nil {
		return nil, err
	}
	return &Key{key: k}, nil
}

// Confirm checks a first code made with the secret from Enroll and, when
// it is right, makes the secret count (and the code's step used: it cannot
// pass a challenge afterwards). The attempt limit applies. r may be nil
// outside a request; it names the request in the security event.
func (v *Verifier) Confirm(r *http.Request, userID, code string) error {
	ctx := reqContext(r)
	rec, found, err := v.store.Get(ctx, userID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("totp: Confirm: %w", mfa.ErrNotEnrolled)
	}
	if rec.Confirmed {
		return ErrAlreadyEnrolled
	}
	a, err := v.attempt(r, userID)
	if err != nil {
		return err
	}
	now := v.now()
	c, isCode := normalizeCode(code, v.digits.Length())
	if !isCode {
		return fmt.Errorf("totp: Confirm: %w: malformed code", mfa.ErrInvalid)
	}
	step, matched, _ := v.match(rec.Secret, c, now, rec.LastStep)
	if !matched {
		return fmt.Errorf("totp: Confirm: %w: wrong or expired code", mfa.ErrInvalid)
	}
	done, err := v.store.Confirm(ctx, userID, rec.Secret, step)
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("totp: Confirm: %w: the secret changed or the code was used", mfa.ErrInvalid)
	}
	v.th.Succeeded(r, a)
	v.log.Log(r, seclog.MFAEnrolled, zap.String("mfa_method", Method), seclog.String("target_user", userID))
	return nil
}

// NewRecoveryCodes issues Config.RecoveryCodes new recovery codes for
// userID, replacing the old ones, and returns them, to show once: only
// their hashes are stored. The user must be enrolled. r may be nil.
func (v *Verifier) NewRecoveryCodes(r *http.Request, userID string) ([]string, error) {
	ctx := reqContext(r)
	codes := make([]string, v.nCodes)
	hashes := make([]string, v.nCodes)
	for i := range codes {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		c := b32.EncodeToString(b[:]) // 16 characters
		hashes[i] = hashCode(c)
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
	}
	if err := v.store.SetRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, err
	}
	v.log.Log(r, seclog.MFARecoveryCodes, zap.String("mfa_method", Method), seclog.String("target_user", userID), zap.Int("count", len(codes)))
	return codes, nil
}

// Disable removes userID's secret and recovery codes. Ask for a recent
// second factor first (mfa.Middleware.RequireRecent). r may be nil.
func (v *Verifier) Disable(r *http.Request, userID string) error {
	if err := v.store.Delete(reqContext(r), userID); err != nil {
		return err
	}
	v.log.Log(r, seclog.MFADisabled, zap.String("mfa_method", Method), seclog.String("target_user", userID))
	return nil
}

func reqContext(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}
