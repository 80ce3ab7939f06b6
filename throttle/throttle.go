// Package throttle slows online password guessing at the credential check:
// the login handler and the second-factor check. It is a library that the
// handler calls, as it calls identity, not a middleware on every request.
//
// Before it verifies a password (or a one-time code), the handler asks
// [Throttle.Check] with the account name that was typed. The attempt is
// counted at once, before the hash, so that a flood of parallel guesses
// cannot all pass before the first failure is recorded, and a refused
// attempt costs no hash:
//
//	a, err := th.Check(r, username)
//	if err != nil { // the store cannot answer: fail closed
//		identity.Unavailable(w, r, nil)
//		return
//	}
//	if !a.Allowed {
//		th.Refuse(w, r, a) // 429 with Retry-After
//		return
//	}
//	user, ok := verify(username, password) // one hash, a dummy for unknown users
//	if !ok {
//		// wrong: the attempt stays counted
//		return
//	}
//	th.Succeeded(r, a)               // forgets this account's attempts from this client
//	th.TrustDevice(w, r, username)   // once the login is complete (second factor included)
//
// Three counters judge an attempt (see [Config]): the account from this
// client (exponential back-off), the client across accounts (a ceiling
// against password spraying), and the account across clients (NIST SP
// 800-63B's cap on an account's failed attempts). A browser that completed
// a login before carries a signed device cookie (OWASP's "device cookies"):
// its attempts are judged by its own counter only, so strangers who guess
// an account's password, from anywhere, slow themselves and not its owner.
//
// The client is the address seclog decides (its trusted proxies: the one
// trust setting of the suite), IPv4 as is, IPv6 grouped by /64. The account
// counters key on the name typed, whether the account exists or not, so the
// throttle answers alike for both.
package throttle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/internal/httpjson"
	"github.com/bulwark-go/bulwark/seclog"
)

// A Rule says how a counter slows attempts: the first Free attempts pass
// at once; after that each attempt waits Base after the previous one, the
// wait doubling with each attempt up to Max. A counter is forgotten Forget
// after its last attempt.
//
// A zero field takes the default rule's value for that counter
// ([DefaultPair], [DefaultClient], [DefaultAccount]); negative values are
// an error.
type Rule struct {
	// Free is how many attempts pass without waiting: enough for a user
	// who mistypes, too few for a guesser.
	Free int
	// Base is the first wait, after the Free attempts.
	Base time.Duration
	// Max caps the doubling wait, at most a month: a longer lockout would
	// let anyone lock a user out for good.
	Max time.Duration
	// Forget is how long after its last attempt a counter is dropped; at
	// least Max, so a counter outlives its longest wait.
	Forget time.Duration
}

// Wait returns how long after the last of n counted attempts the next one
// may be made.
func (r Rule) Wait(n int64) time.Duration {
	if n < int64(r.Free) {
		return 0
	}
	d := r.Base
	for i := int64(r.Free); i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// Default rules of [Config].
var (
	// DefaultPair: the account from one client (or one trusted device):
	// 5 free attempts, then 1s, 2s, 4s … up to 15 minutes; forgotten after
	// a day.
	DefaultPair = Rule{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: 24 * time.Hour}
	// DefaultClient: one client across accounts (spraying): 100 free
	// attempts, then 1s doubling up to an hour; forgotten after an hour
	// without attempts.
	DefaultClient = Rule{Free: 100, Base: time.Second, Max: time.Hour, Forget: time.Hour}
	// DefaultAccount: the account across the clients it does not trust:
	// 100 free attempts (NIST SP 800-63B's cap), then one minute doubling up
	// to an hour; forgotten after a day.
	DefaultAccount = Rule{Free: 100, Base: time.Minute, Max: time.Hour, Forget: 24 * time.Hour}
)

// DefaultIPv6Prefix is how IPv6 clients are grouped: a /64 is one
// subscriber's network (SLAAC hands each host 2^64 addresses).
const DefaultIPv6Prefix = 64

// DefaultScope is the scope of a [Config] that names none.
const DefaultScope = "login"

// Config configures a [Throttle]. The zero value is the secure default:
// the rules above, a memory store, device cookies signed with a key made at
// start, fail closed.
type Config struct {
	// Store keeps the counters; nil means NewMemoryStore(0). Give a shared
	// store (throttle/redisstore, throttle/sqlstore) to a site with more
	// than one instance, or each instance counts alone.
	Store Store
	// Logger is the security logger; its trusted proxies decide the client
	// address. Nil means seclog.Default(), which trusts no proxy.
	Logger *seclog.Logger
	// Scope names what is checked, in keys and events: "login" (default),
	// "totp"… Throttles of different scopes count apart on one store.
	// Lower-case letters, digits and '-'.
	Scope string
	// Pair, Client and Account are the rules of the three counters (zero
	// fields take the default's value): the account from one client,
	// the client across accounts, the account across untrusted clients.
	Pair, Client, Account Rule
	// IPv6Prefix is how many leading bits of an IPv6 address make one
	// client (48 to 128; default 64).
	IPv6Prefix int
	// Normalize returns the account name as the application's lookup reads
	// it, so that spellings of one account share its counters. Nil means
	// trimmed of spaces and lower-cased: spellings that a case-insensitive
	// lookup would join are never counted apart (joining names the lookup
	// tells apart only makes the throttle stricter).
	Normalize func(string) string
	// Device configures the device cookies.
	Device Device
	// FailOpen lets attempts through when the store cannot answer. The
	// default refuses them (Check returns an error wrapping ErrUnavailable).
	// Either way a throttle.store_error event is logged.
	FailOpen bool
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// A Throttle judges credential checks. It is safe for concurrent use.
type Throttle struct {
	store     Store
	log       *seclog.Logger
	scope     string
	rules     [3]Rule // by kind
	v6        int
	normalize func(string) string
	dev       devices
	failOpen  bool
	now       func() time.Time
}

// The kinds of counter, in the order Check passes them to the store.
const (
	pairKind = iota
	clientKind
	accountKind
)

var kindNames = [3]string{"pair", "client", "account"}

var scopeRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// New returns the Throttle for cfg, or an error naming the field that is
// wrong.
func New(cfg Config) (*Throttle, error) {
	t := &Throttle{store: cfg.Store, log: cfg.Logger, scope: cfg.Scope, v6: cfg.IPv6Prefix,
		normalize: cfg.Normalize, failOpen: cfg.FailOpen, now: cfg.Now}
	if t.scope == "" {
		t.scope = DefaultScope
	}
	if !scopeRE.MatchString(t.scope) {
		return nil, fmt.Errorf("throttle: Config.Scope %q: write up to 32 lower-case letters, digits and '-', such as \"login\"", cfg.Scope)
	}
	for i, r := range []struct {
		name     string
		given    Rule
		fallback Rule
	}{{"Pair", cfg.Pair, DefaultPair}, {"Client", cfg.Client, DefaultClient}, {"Account", cfg.Account, DefaultAccount}} {
		rule, err := r.given.withDefaults(r.fallback)
		if err != nil {
			return nil, fmt.Errorf("throttle: Config.%s: %w", r.name, err)
		}
		t.rules[i] = rule
	}
	switch {
	case t.v6 == 0:
		t.v6 = DefaultIPv6Prefix
	case t.v6 < 48 || t.v6 > 128:
		return nil, fmt.Errorf("throttle: Config.IPv6Prefix %d: write 48 to 128 (64, the default, is one subscriber's network)", cfg.IPv6Prefix)
	}
	dev, err := newDevices(cfg.Device)
	if err != nil {
		return nil, err
	}
	t.dev = dev
	if t.store == nil {
		t.store = NewMemoryStore(0)
	}
	if t.log == nil {
		t.log = seclog.Default()
	}
	if t.normalize == nil {
		t.normalize = defaultNormalize
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// maxWait bounds Rule.Max and Forget: a month.
const maxWait = 31 * 24 * time.Hour

func (r Rule) withDefaults(def Rule) (Rule, error) {
	if r.Free < 0 || r.Base < 0 || r.Max < 0 || r.Forget < 0 {
		return r, errors.New("Free, Base, Max and Forget must not be negative (0 means the default)")
	}
	if r.Free == 0 {
		r.Free = def.Free
	}
	if r.Base == 0 {
		r.Base = def.Base
	}
	if r.Max == 0 {
		r.Max = max(def.Max, r.Base)
	}
	if r.Forget == 0 {
		r.Forget = max(def.Forget, r.Max)
	}
	switch {
	case r.Max < r.Base:
		return r, fmt.Errorf("Max %v is shorter than Base %v: write a Max of at least Base", r.Max, r.Base)
	case r.Max > maxWait:
		return r, fmt.Errorf("Max %v: write at most %v (a permanent lockout is a denial of service; use Reset to unlock by hand)", r.Max, maxWait)
	case r.Forget < r.Max:
		return r, fmt.Errorf("Forget %v is shorter than Max %v: a counter must outlive its longest wait", r.Forget, r.Max)
	case r.Forget > maxWait:
		return r, fmt.Errorf("Forget %v: write at most %v", r.Forget, maxWait)
	}
	return r, nil
}

func defaultNormalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ErrUnavailable is wrapped by the error of [Throttle.Check] when the store
// cannot answer and the throttle fails closed: answer 503.
var ErrUnavailable = errors.New("throttle: the store cannot answer")

// ErrThrottled is wrapped by [Attempt.Err]: the attempt was refused
// unchecked; [RetryAfter] reads how long to wait.
var ErrThrottled = errors.New("throttle: too many attempts")

// An Attempt is what [Throttle.Check] decided about one attempt.
type Attempt struct {
	// Allowed is true when the credential may be checked: the attempt was
	// counted.
	Allowed bool
	// RetryAfter is, when not Allowed, how long until an attempt may be
	// made (at least a second).
	RetryAfter time.Duration
	// Device is true when the client showed a valid device cookie for the
	// account: it was judged by its own counter alone.
	Device bool

	pair string // the (account, client) key to forget on success
}

// Err returns nil for an allowed attempt, else an error wrapping
// [ErrThrottled] that carries RetryAfter (see [RetryAfter]), for a verifier
// that answers with errors.
func (a Attempt) Err() error {
	if a.Allowed {
		return nil
	}
	return &throttledError{a.RetryAfter}
}

type throttledError struct{ retry time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("%v: retry after %v", ErrThrottled, e.retry)
}
func (e *throttledError) Unwrap() error { return ErrThrottled }

// RetryAfter returns the wait carried by an error of [Attempt.Err] (also
// when wrapped), and whether err is one.
func RetryAfter(err error) (time.Duration, bool) {
	var te *throttledError
	if errors.As(err, &te) {
		return te.retry, true
	}
	return 0, false
}

// Check judges an attempt of account from r's client, before the
// credential is verified, and counts it when it is allowed: every attempt
// counts until one succeeds ([Throttle.Succeeded]). A refused attempt is
// not counted and logs throttle.refused. The error, wrapping
// [ErrUnavailable], is the store's when it cannot answer (the attempt is
// not allowed; with FailOpen there is no error and the attempt is
// allowed). r may be nil outside a request: the client is then unknown.
func (t *Throttle) Check(r *http.Request, account string) (Attempt, error) {
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	now := t.now()
	acct := hashKey(t.normalize(account))
	client := hashKey(t.Client(r).String())
	counters := make([]Counter, 1, 3)
	a := Attempt{}
	if nonce, ok := t.dev.read(r, t.log, t.scope, acct, now); ok {
		a.Device = true
		counters[0] = Counter{Key: t.scope + ":p:" + acct + ":d" + nonce, Rule: t.rules[pairKind]}
	} else {
		counters[0] = Counter{Key: t.scope + ":p:" + acct + ":" + client, Rule: t.rules[pairKind]}
		counters = append(counters, Counter{Key: t.scope + ":c:" + client, Rule: t.rules[clientKind]})
		if t.normalize(account) != "" {
			// An empty name has no account-wide counter: it would be one
			// key shared by every client (django-axes #261).
			counters = append(counters, Counter{Key: t.scope + ":a:" + acct, Rule: t.rules[accountKind]})
		}
	}
	a.pair = counters[0].Key
	v, err := t.store.Take(ctx, now, counters)
	if err != nil {
		t.log.Log(r, seclog.ThrottleStoreError, zap.String("scope", t.scope), seclog.String("error", err.Error()), zap.Bool("fail_open", t.failOpen))
		if t.failOpen {
			a.Allowed = true
			return a, nil
		}
		return a, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !v.OK {
		a.RetryAfter = retryAfter(v.RetryAt.Sub(now))
		t.log.Log(r, seclog.ThrottleRefused, zap.String("scope", t.scope), zap.String("counter", kindNames[v.Refused]),
			zap.Int64("retry_after", int64(a.RetryAfter/time.Second)), zap.Bool("device", a.Device))
		return a, nil
	}
	a.Allowed = true
	for i, n := range v.Failures {
		if n == int64(t.rules[i].Free) {
			t.log.Log(r, seclog.ThrottleBackoff, zap.String("scope", t.scope), zap.String("counter", kindNames[i]),
				seclog.String("target_user", account), zap.Int64("failures", n), zap.Bool("device", a.Device))
		}
	}
	return a, nil
}

// retryAfter rounds a wait up to whole seconds, at least one.
func retryAfter(d time.Duration) time.Duration {
	return max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}

// Succeeded records that the credential of an allowed attempt was right:
// the attempts of that account from that client (or device) are forgotten,
// and no other counter: a success never wipes the client's budget across
// accounts nor the account's across clients (Symfony #65859). A store error
// is logged and returned; the login may go on.
func (t *Throttle) Succeeded(r *http.Request, a Attempt) error {
	if a.pair == "" {
		return nil
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if err := t.store.Delete(ctx, a.pair); err != nil {
		t.log.Log(r, seclog.ThrottleStoreError, zap.String("scope", t.scope), seclog.String("error", err.Error()), zap.Bool("fail_open", t.failOpen))
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Reset forgets the account's attempts, from every client and device, for
// an administrator who unlocks it by hand; it logs throttle.reset. r, the
// administrator's request, may be nil.
func (t *Throttle) Reset(r *http.Request, account string) error {
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	acct := hashKey(t.normalize(account))
	err := t.store.DeletePrefix(ctx, t.scope+":p:"+acct+":")
	if err == nil {
		err = t.store.Delete(ctx, t.scope+":a:"+acct)
	}
	if err != nil {
		t.log.Log(r, seclog.ThrottleStoreError, zap.String("scope", t.scope), seclog.String("error", err.Error()), zap.Bool("fail_open", t.failOpen))
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	t.log.Log(r, seclog.ThrottleReset, zap.String("scope", t.scope), seclog.String("target_user", account))
	return nil
}

// Refuse answers a refused attempt: 429 Too Many Requests, Retry-After in
// seconds, Cache-Control: no-store and the JSON body
// {"error":"too_many_attempts"}. An application that shows its form again
// instead sets Retry-After from [Attempt.RetryAfter] itself (the message
// should say "too many attempts, try again later", never "locked").
func (t *Throttle) Refuse(w http.ResponseWriter, r *http.Request, a Attempt) {
	h := w.Header()
	h.Set("Retry-After", RetryAfterHeader(a.RetryAfter))
	h.Set("Cache-Control", "no-store")
	httpjson.Write(w, r, http.StatusTooManyRequests, `{"error":"too_many_attempts"}`)
}

// RetryAfterHeader returns d as the value of a Retry-After header: whole
// seconds, rounded up, at least 1.
func RetryAfterHeader(d time.Duration) string {
	return strconv.FormatInt(int64(retryAfter(d)/time.Second), 10)
}

// Client returns the client an attempt of r is counted for: the address
// seclog decides (trusted proxies), unmapped from IPv4-in-IPv6, without a
// zone, IPv6 masked to Config.IPv6Prefix bits. The zero Prefix for a nil
// request or one without an address.
func (t *Throttle) Client(r *http.Request) netip.Prefix {
	if r == nil {
		return netip.Prefix{}
	}
	a := t.log.ClientIP(r).WithZone("").Unmap()
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = t.v6
	}
	p, _ := a.Prefix(bits)
	return p
}

// hashKey is how names and clients appear in keys: 128 bits of SHA-256,
// in hex, so keys are bounded, carry no separator, and tell nothing.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// randomKey returns n random bytes.
func randomKey(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}
