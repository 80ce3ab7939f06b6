package passkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Verifier is the passkey second factor of the mfa gate (method
// "passkey"); get it from [Passkeys.Verifier]. It keeps no per-session
// data: the WebAuthn challenge is derived from the gate's one-time state,
// which the gate keeps in the session, bound to the user and the login,
// and forgets when the user passes. It is safe for concurrent use.
type Verifier struct {
	p *Passkeys
}

var _ mfa.Verifier = (*Verifier)(nil)

// Method implements [mfa.Verifier]: "passkey".
func (v *Verifier) Method() string { return Method }

// challengeOf derives the WebAuthn challenge of a gate's state: a hash,
// so that the state itself never reaches the page.
func challengeOf(state string) []byte {
	h := sha256.Sum256([]byte("bulwark/mfa/passkey\x00" + state))
	return h[:]
}

// Begin implements [mfa.Verifier]: it returns, as Prompt.Options, the
// PublicKeyCredentialRequestOptions ({"publicKey": …}) for
// navigator.credentials.get: the challenge derived from state, the user's
// passkeys as allowCredentials, user verification preferred (the
// password was the first factor; the passkey is the second). A user
// without a usable passkey gets an error wrapping [mfa.ErrNotEnrolled].
func (v *Verifier) Begin(ctx context.Context, userID, state string) (mfa.Prompt, error) {
	wu, err := v.user(ctx, userID)
	if err != nil {
		return mfa.Prompt{}, err
	}
	assertion, _, err := v.p.wa.BeginLogin(wu, webauthn.WithChallenge(challengeOf(state)), webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return mfa.Prompt{}, err
	}
	b, err := json.Marshal(assertion)
	if err != nil {
		return mfa.Prompt{}, err
	}
	return mfa.Prompt{Options: b}, nil
}

// user returns the webauthn.User of userID with its passkeys that are not
// flagged as cloned; an error wrapping mfa.ErrNotEnrolled when none is
// left.
func (v *Verifier) user(ctx context.Context, userID string) (*waUser, error) {
	handle, found, err := v.p.store.Handle(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("passkey: %w", mfa.ErrNotEnrolled)
	}
	stored, err := v.p.store.List(ctx, userID)
	if err != nil {
		return nil, err
	}
	wu := &waUser{id: userID, name: userID, display: userID, handle: handle}
	for _, c := range stored {
		if !c.CloneWarning {
			wu.creds = append(wu.creds, toWebAuthn(c))
		}
	}
	if len(wu.creds) == 0 {
		return nil, fmt.Errorf("passkey: %w: no usable passkey", mfa.ErrNotEnrolled)
	}
	return wu, nil
}

// Complete implements [mfa.Verifier]: it reads the assertion (the
// PublicKeyCredential's toJSON()) from the form field [Field], or from
// the body when the page posts it as application/json (at most
// [MaxBodyBytes]), and accepts it when it is an assertion of one of
// userID's passkeys (another user's is refused) over the challenge of
// state, from one of the configured origins, for the RP ID, with a valid
// signature and a counter that grew (or stays 0). The use is written
// back atomically: the second of two concurrent posts of one assertion is
// refused with [mfa.ErrReplay]. Every refusal logs passkey.refused
// (ceremony "mfa") with its reason; a counter that did not grow flags the
// passkey and logs passkey.clone_suspected.
func (v *Verifier) Complete(r *http.Request, userID, state string) error {
	p := v.p
	raw, rf := readAssertion(r)
	if rf == nil {
		rf = v.complete(r, raw, userID, state)
	}
	if rf == nil {
		return nil
	}
	var cs *cloneSuspected
	if errors.As(rf, &cs) {
		if err := p.flagClone(r, cs); err != nil {
			return err
		}
		rf = refuse("clone_suspected", rf)
	}
	var ref *refusal
	if !errors.As(rf, &ref) {
		return rf // the store or the user's lookup could not answer
	}
	p.logRefusal(r, ceremonyMFA, ref)
	if ref.reason == "replayed" {
		return fmt.Errorf("passkey: %w", mfa.ErrReplay)
	}
	return fmt.Errorf("passkey: %w: %s", mfa.ErrInvalid, ref.reason)
}

func (v *Verifier) complete(r *http.Request, raw []byte, userID, state string) error {
	p := v.p
	ctx := r.Context()
	parsed, err := protocol.ParseCredentialRequestResponseBytes(raw)
	if err != nil {
		return refuse("malformed", err)
	}
	stored, found, err := p.store.Get(ctx, parsed.RawID)
	switch {
	case err != nil:
		return err
	case !found:
		return refuse("unknown_credential", nil)
	case stored.UserID != userID:
		return refuse("wrong_user", nil)
	}
	wu, err := v.user(ctx, userID)
	switch {
	case errors.Is(err, mfa.ErrNotEnrolled) && stored.CloneWarning:
		return refuse("clone_suspected", nil)
	case err != nil:
		return err
	case len(parsed.Response.UserHandle) > 0 && !bytes.Equal(parsed.Response.UserHandle, wu.handle):
		return refuse("wrong_user", nil)
	}
	ch := challengeOf(state)
	sd := webauthn.SessionData{
		Challenge:            base64.RawURLEncoding.EncodeToString(ch),
		RelyingPartyID:       p.rpID,
		UserID:               wu.handle,
		AllowedCredentialIDs: make([][]byte, len(wu.creds)),
		UserVerification:     protocol.VerificationPreferred,
	}
	for i := range wu.creds {
		sd.AllowedCredentialIDs[i] = wu.creds[i].ID
	}
	return p.assert(ctx, parsed, ch, stored, sd, wu, false)
}

// readAssertion reads the assertion a challenge page posted: the JSON
// body, or the form field [Field].
func readAssertion(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, refuse("method", nil)
	}
	if ct := r.Header.Get("Content-Type"); len(ct) >= 16 && equalFoldPrefix(ct, "application/json") {
		raw, rf := readLimited(nil, r)
		if rf != nil {
			return nil, rf
		}
		return raw, nil
	}
	if r.PostForm == nil && r.Body != nil {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	}
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, refuse("oversize", nil)
		}
		return nil, refuse("malformed", err)
	}
	v := r.PostForm.Get(Field)
	if v == "" {
		return nil, refuse("malformed", errors.New("no "+Field+" field"))
	}
	return []byte(v), nil
}

func equalFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold([]byte(s[:len(prefix)]), []byte(prefix))
}

// Health implements [mfa.Verifier]: the store's Ping when it has one
// (the SQL store does), else nil.
func (v *Verifier) Health(ctx context.Context) error {
	if pinger, ok := v.p.store.(interface{ Ping(context.Context) error }); ok {
		return pinger.Ping(ctx)
	}
	return nil
}

// Enrolled implements [mfa.EnrollmentChecker]: whether userID has a
// passkey, so that the gate offers the passkey only to its users and
// mfa.AnyEnrolled counts it. A passkey flagged as cloned still counts
// (fail closed: flagging never lowers a user to the password alone);
// Begin then says mfa.ErrNotEnrolled when no usable passkey is left, and
// the user recovers as the site decides. It returns an error when the
// store cannot answer.
func (v *Verifier) Enrolled(ctx context.Context, userID string) (bool, error) {
	stored, err := v.p.store.List(ctx, userID)
	return len(stored) > 0, err
}

// Required reports whether u has a passkey ([Verifier.Enrolled]): it fits
// mfa.Config.Required for a site where only users with a passkey are
// asked for one; with other factors, give mfa.AnyEnrolled instead.
func (v *Verifier) Required(ctx context.Context, u identity.User) (bool, error) {
	return v.Enrolled(ctx, u.ID())
}

var _ mfa.EnrollmentChecker = (*Verifier)(nil)
