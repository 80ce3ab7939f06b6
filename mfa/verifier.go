package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// A Verifier checks one kind of second factor (TOTP codes, a push through
// an identity provider, a security key). The gate owns the session: it
// makes a one-time state per challenge, keeps it in the session and hands
// it to the verifier, so a verifier keeps no per-session data of its own.
// Implementations are safe for concurrent use.
type Verifier interface {
	// Method names the factor in security events and session state
	// ("totp", "duo"): 1 to 32 of [a-z0-9_-].
	Method() string
	// Begin starts a challenge for userID, whose one-time state is state
	// (for a provider that redirects, the OAuth "state"; for a passkey,
	// what the WebAuthn challenge is made of). It returns what the
	// challenge page must do: send the user to Prompt.Redirect, hand
	// Prompt.Options to its script, or, for a zero Prompt, show its own
	// form (TOTP). It returns an error wrapping [ErrNotEnrolled] for a
	// user who has no such factor, or another error when the provider or
	// its store cannot answer.
	Begin(ctx context.Context, userID, state string) (Prompt, error)
	// Complete checks the user's answer carried by r (a form field, the
	// provider's callback) against state, the challenge's one-time state.
	// It returns nil when the user passed, an error wrapping
	// [ErrInvalid], [ErrReplay], [ErrLocked], [ErrNotEnrolled] or
	// [ErrState] when the answer is refused, or any other error when the
	// verifier cannot tell (the gate then answers 503, whatever the fail
	// mode: an outage never passes a challenge that was begun).
	Complete(r *http.Request, userID, state string) error
	// Health reports whether the provider can answer now (nil) or not.
	// The gate calls it when a challenge begins, at most once per
	// [Config.HealthTTL], never per request.
	Health(ctx context.Context) error
}

// A Prompt is what a [Verifier] asks of the challenge page to begin a
// challenge. The zero Prompt means: show your own form.
type Prompt struct {
	// Redirect, if set, is the provider's page to send the user to (Duo's
	// Universal Prompt), with identity.Redirect.
	Redirect string
	// Options, if set, is JSON for a ceremony the page's script runs in
	// the browser (a passkey's PublicKeyCredentialRequestOptions). It is
	// made for this challenge and this user only: write it into the page
	// or answer it to the page's script, never cache it.
	Options json.RawMessage
}

// MethodLogin is the method of a session's second factor when the login
// itself checked several factors (identity.MethodMFA, as a passkey login
// with user verification records it): the gate asks for nothing more, and
// a step-up route counts the login time as the time of the last factor.
const MethodLogin = "login"

// The answers a [Verifier] refuses, to be wrapped by its errors.
var (
	// ErrInvalid: the answer is wrong, expired or malformed.
	ErrInvalid = errors.New("mfa: invalid second-factor answer")
	// ErrReplay: a one-time answer that was already accepted was
	// presented again (RFC 6238 §5.2).
	ErrReplay = errors.New("mfa: second-factor answer already used")
	// ErrLocked: too many failed attempts; the answer was not checked.
	ErrLocked = errors.New("mfa: too many failed attempts")
	// ErrNotEnrolled: the user has no second factor of this kind.
	ErrNotEnrolled = errors.New("mfa: user not enrolled")
	// ErrState: no challenge of this session matches (missing, expired,
	// forged or replayed state).
	ErrState = errors.New("mfa: no matching challenge in this session")
)

// Errors of the gate's own methods.
var (
	// ErrUnavailable: the provider or a store could not answer and the gate
	// failed closed. Answer 503.
	ErrUnavailable = errors.New("mfa: second factor unavailable")
	// ErrNoSession: the request has no logged-in user, or its user is not
	// the one logged in to its scs session (a bearer or basic request).
	ErrNoSession = errors.New("mfa: no logged-in session")
	// ErrUnknownMethod: [Middleware.BeginMethod] was asked for a method
	// no verifier of Config.Verifiers has (a tampered or stale link).
	ErrUnknownMethod = errors.New("mfa: no verifier of that method")
)

// FailMode says what the gate does when the provider cannot answer as a
// challenge begins. Only [Closed] and [Open] exist; [New] refuses any
// other value, so that a typo never fails open (django-duo-universal-auth's
// example treats any mode but "CLOSED" as open).
type FailMode uint8

const (
	// Closed, the default, refuses the challenge with 503: nobody gets in
	// without a second factor while the provider is down.
	Closed FailMode = iota
	// Open lets the user in without a second factor for
	// [Config.BypassFor], logging [seclog.MFABypassed] at Warn each time.
	// Step-up routes ([Middleware.RequireRecent]) never accept a bypass.
	Open
)

// String returns "closed" or "open" (or "FailMode(N)" for an invalid one).
func (f FailMode) String() string {
	switch f {
	case Closed:
		return "closed"
	case Open:
		return "open"
	}
	return fmt.Sprintf("FailMode(%d)", uint8(f))
}

// ParseFailMode reads a fail mode from configuration text: exactly
// "closed" or "open", in any case. Anything else, "" and "opn" included,
// is an error.
func ParseFailMode(s string) (FailMode, error) {
	switch {
	case strings.EqualFold(s, "closed"):
		return Closed, nil
	case strings.EqualFold(s, "open"):
		return Open, nil
	}
	return Closed, fmt.Errorf("mfa: fail mode %q: write \"closed\" (the default: refuse while the provider is down) or \"open\"", s)
}
