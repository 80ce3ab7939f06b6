package mfa

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// StepUp guards sensitive routes (changing a password or an e-mail
// address, payments, admin actions): it asks for the second factor again
// when the session's last one is older than its maximum age (OWASP ASVS
// V7.5 re-authentication). Make one with [Middleware.RequireRecent] and
// wrap the sensitive handlers with its Handler, inside the gate.
type StepUp struct {
	m      *Middleware
	maxAge time.Duration
}

// RequireRecent returns a step-up guard that lets a request through only
// when its session passed the second factor less than maxAge ago. A
// fail-open bypass never counts, nor does a user who needs no second
// factor: step-up routes fail closed. maxAge must be positive.
func (m *Middleware) RequireRecent(maxAge time.Duration) (*StepUp, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("mfa: RequireRecent(%v): write a positive maximum age, such as 5*time.Minute", maxAge)
	}
	return &StepUp{m: m, maxAge: maxAge}, nil
}

// Check judges r: Pass when the session's user passed the second factor
// less than the maximum age ago, Challenge (reason "step-up") otherwise.
// An error wrapping identity.ErrSessionNotLoaded (Outcome Unavailable)
// means the manager's LoadAndSave did not run before the guard.
func (s *StepUp) Check(r *http.Request) (Decision, error) {
	u := identity.FromRequest(r)
	if u == nil {
		return Decision{Outcome: Challenge, Reason: "step-up"}, nil
	}
	ctx := r.Context()
	b, err := s.m.session(ctx, u.ID())
	switch {
	case errors.Is(err, ErrNoSession):
		return Decision{Outcome: Challenge, Reason: "no-session"}, nil
	case err != nil:
		return Decision{Outcome: Unavailable}, err
	}
	v := readVerdict(s.m.sm, ctx, b)
	if v.state == Verified && fresh(v.at, s.m.now(), s.maxAge) {
		return Decision{Outcome: Pass, State: Verified}, nil
	}
	return Decision{Outcome: Challenge, State: v.state, Reason: "step-up"}, nil
}

// Handler returns next behind the step-up guard. A refused navigation is
// sent to the challenge, its path kept as the return path.
func (s *StepUp) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.Check(r)
		switch {
		case err != nil:
			s.m.core.Fail(w, r, err, seclog.MFAStoreError, seclog.String("error", err.Error()))
		case d.Outcome == Pass:
			next.ServeHTTP(w, r)
		default:
			s.m.refuse(w, r, d.Reason)
		}
	})
}
