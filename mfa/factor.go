package mfa

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/check"
)

// An EnrollmentChecker is a [Verifier] that can tell whether a user has
// its factor without beginning a challenge (totp.Verifier can: it looks
// for a confirmed secret). The gate asks it to list the methods a user may
// switch to ([Start].Alternatives) and to skip a factor the user does not
// have. A verifier without it (Duo: only Duo knows its users) is a
// "maybe": it is offered, and its Begin says ErrNotEnrolled when the user
// has no such factor.
type EnrollmentChecker interface {
	// Enrolled reports whether userID has this factor. An error means it
	// could not tell: the gate then treats the factor as a "maybe" and
	// lets its Begin decide (which fails as an outage when the store is
	// down, so the fail mode applies).
	Enrolled(ctx context.Context, userID string) (bool, error)
}

// AnyEnrolled returns a function for [Config.Required] that asks for the
// second factor from a user who is enrolled in any of verifiers (in the
// sense of [EnrollmentChecker]), so a user with TOTP, a passkey or both is
// asked and a user with neither is not.
//
// It fails closed: when one of verifiers cannot tell (it has no Enrolled
// method, as a Duo verifier, or it is nil), every user is asked, as with a
// nil Required; when a check fails and no other said yes, the error is
// returned (the gate answers 503). Give Required your own function when
// some of your factors cannot tell and you know who has them.
func AnyEnrolled(verifiers ...Verifier) func(ctx context.Context, u identity.User) (bool, error) {
	checks := make([]EnrollmentChecker, 0, len(verifiers))
	for _, v := range verifiers {
		c, ok := v.(EnrollmentChecker)
		if !ok || check.Nil(v) {
			return func(context.Context, identity.User) (bool, error) { return true, nil }
		}
		checks = append(checks, c)
	}
	return func(ctx context.Context, u identity.User) (bool, error) {
		var errs []error
		for _, c := range checks {
			ok, err := c.Enrolled(ctx, u.ID())
			switch {
			case err != nil:
				errs = append(errs, err)
			case ok:
				return true, nil
			}
		}
		return false, errors.Join(errs...)
	}
}

// factor is one verifier of Config.Verifiers with what the gate keeps for
// it: its method, its enrolment check when it has one, and its provider's
// health, cached for HealthTTL (one factor's outage never refuses another
// factor's users).
type factor struct {
	v        Verifier
	method   string
	enrolled EnrollmentChecker // nil: the verifier cannot tell

	hmu      sync.Mutex
	hChecked bool
	hAt      time.Time
	hErr     error
	hCheck   *healthCheck // the check under way, nil when none is
}

// healthCheck is one call of Verifier.Health, shared by the challenges
// that begin while it runs.
type healthCheck struct {
	ctx  context.Context // its own: the first request's values, HealthTimeout
	at   time.Time       // when it began
	done chan struct{}   // closed when err is set
	err  error
}

// newFactors checks Config.Verifiers and returns their factors, in order.
func newFactors(verifiers []Verifier) ([]*factor, error) {
	if len(verifiers) == 0 {
		return nil, errors.New("mfa: Config.Verifiers is empty: give at least one verifier, such as []mfa.Verifier{v} with v from totp.New(totp.Config{Store: …})")
	}
	fs := make([]*factor, 0, len(verifiers))
	for i, v := range verifiers {
		if check.Nil(v) {
			return nil, fmt.Errorf("mfa: Config.Verifiers[%d] is nil: remove it, or construct the verifier before mfa.New", i)
		}
		method := v.Method()
		if !methodRE.MatchString(method) {
			return nil, fmt.Errorf("mfa: Config.Verifiers[%d].Method() = %q: a verifier's method must be 1 to 32 of [a-z0-9_-]", i, method)
		}
		if method == MethodLogin {
			return nil, fmt.Errorf("mfa: Config.Verifiers[%d].Method() = %q: that name is the gate's, for a multi-factor login (MethodLogin): name the verifier after its factor", i, method)
		}
		for j, f := range fs {
			if f.method == method {
				return nil, fmt.Errorf("mfa: Config.Verifiers[%d] and Config.Verifiers[%d] both have method %q: give each factor once (the session records a challenge by its method)", j, i, method)
			}
		}
		f := &factor{v: v, method: method}
		f.enrolled, _ = v.(EnrollmentChecker)
		fs = append(fs, f)
	}
	return fs, nil
}

// factor returns the factor of method, nil when no verifier has it.
func (m *Middleware) factor(method string) *factor {
	for _, f := range m.factors {
		if f.method == method {
			return f
		}
	}
	return nil
}

// usable returns the factors userID may use, in order of preference: those
// whose EnrollmentChecker says yes or cannot tell (an error), and those
// without one.
func (m *Middleware) usable(ctx context.Context, userID string) []*factor {
	fs := make([]*factor, 0, len(m.factors))
	for _, f := range m.factors {
		if f.enrolled != nil {
			if ok, err := f.enrolled.Enrolled(ctx, userID); err == nil && !ok {
				continue
			}
		}
		fs = append(fs, f)
	}
	return fs
}

// methods returns the methods of fs but skip, in order.
func methods(fs []*factor, skip *factor) []string {
	var out []string
	for _, f := range fs {
		if f != skip {
			out = append(out, f.method)
		}
	}
	return out
}

// downFactor is a factor that could not begin a challenge, and why.
type downFactor struct {
	f   *factor
	err error
}

// outages is the factors that could not begin a challenge, in the order
// they were tried.
type outages []downFactor

// Error returns "method: error" for each, joined by "; ".
func (o outages) Error() string {
	parts := make([]string, len(o))
	for i, d := range o {
		parts[i] = d.f.method + ": " + d.err.Error()
	}
	return strings.Join(parts, "; ")
}

// health returns the health of f's provider, asking it at most once per
// HealthTTL. The check runs on a context of its own: the values of the
// request that starts it (request id, log fields), not its cancellation,
// bounded by HealthTimeout; so what is cached is the provider's answer
// alone, never a client's leaving. Concurrent callers share the check
// under way; a caller whose request ends first returns its context's
// error at once and leaves the check to finish for the others.
func (m *Middleware) health(ctx context.Context, f *factor) error {
	f.hmu.Lock()
	now := m.now()
	if f.hChecked && fresh(f.hAt, now, m.healthTTL) {
		err := f.hErr
		f.hmu.Unlock()
		return err
	}
	c := f.hCheck
	if c == nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.healthTO)
		c = &healthCheck{ctx: hctx, at: now, done: make(chan struct{})}
		f.hCheck = c
		go f.check(c, cancel)
	}
	f.hmu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		select {
		case <-c.done: // it answered as its time ran out
			return c.err
		default: // a verifier that ignores its context's deadline
			err := fmt.Errorf("mfa: the health check did not answer within HealthTimeout (%v): %w", m.healthTO, c.ctx.Err())
			f.answer(c, err)
			return err
		}
	}
}

// answer caches err as the answer of c, unless another answer of c was
// cached already: the next check begins HealthTTL after c began, even if c
// never returns.
func (f *factor) answer(c *healthCheck, err error) {
	f.hmu.Lock()
	if f.hCheck == c {
		f.hErr, f.hAt, f.hChecked, f.hCheck = err, c.at, true, nil
	}
	f.hmu.Unlock()
}

// check runs the health check c and caches its answer. A panic of the
// verifier is an answer too (the provider is not healthy), not the end of
// the process.
func (f *factor) check(c *healthCheck, cancel context.CancelFunc) {
	defer cancel()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("mfa: the verifier's Health panicked: %v", p)
			}
		}()
		return f.v.Health(c.ctx)
	}()
	c.err = err
	f.answer(c, err)
	close(c.done)
}
