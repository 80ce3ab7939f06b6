package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"go.uber.org/zap"
)

// The ceremonies, as the "ceremony" field of events names them.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
	ceremonyMFA      = "mfa"
)

// BeginRegistration is the JSON handler (POST) that starts registering a
// passkey for the logged-in user: it answers the
// PublicKeyCredentialCreationOptions ({"publicKey": …}) for
// navigator.credentials.create, and keeps the ceremony's challenge in the
// user's session, single-use and bound to the login, for ChallengeTTL.
// The options ask for a discoverable credential (resident key required),
// user verification preferred, no attestation, and exclude the user's
// passkeys (one authenticator is registered once).
//
// It answers 403 {"error":"login_not_recent"} when the login is older
// than Config.RecentLogin: the page asks the user to log in again. A request without a
// logged-in session gets 403 {"error":"not_logged_in"}.
func (p *Passkeys) BeginRegistration(w http.ResponseWriter, r *http.Request) {
	if rf := checkPost(w, r); rf != nil {
		writeRefusal(w, r, rf)
		return
	}
	u, err := p.sessionUser(r)
	if p.answerErr(w, r, ceremonyRegister, err) {
		return
	}
	if at := p.sessions.LoginTime(r.Context()); at.IsZero() || p.now().Sub(at) > p.recent {
		p.answerErr(w, r, ceremonyRegister, &refusal{reason: "login_not_recent", status: http.StatusForbidden})
		return
	}
	ctx := r.Context()
	wu, err := p.user(ctx, u, true)
	if p.answerErr(w, r, ceremonyRegister, err) {
		return
	}
	exclude := make([]protocol.CredentialDescriptor, len(wu.creds))
	for i := range wu.creds {
		exclude[i] = wu.creds[i].Descriptor()
	}
	creation, _, err := p.wa.BeginRegistration(wu,
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(registrationSelection),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if p.answerErr(w, r, ceremonyRegister, err) {
		return
	}
	p.sm.Put(ctx, SessionKey, ceremony{kind: ceremonyRegister, challenge: creation.Response.Challenge,
		began: p.now(), user: u.ID(), loginAt: p.sm.GetInt64(ctx, identity.SessionLoginKey)}.encode())
	writeJSON(w, r, creation)
}

var knownTransports = map[protocol.AuthenticatorTransport]bool{
	protocol.USB: true, protocol.NFC: true, protocol.BLE: true, protocol.SmartCard: true, protocol.Hybrid: true, protocol.Internal: true,
}

// registrationSelection: a passkey (discoverable), on any authenticator,
// user verification preferred. A passkey registered without UV still
// serves as a second factor; the passwordless login asks for UV at each
// login (its options say "required" and the assertion's UV flag is
// checked), so such a passkey cannot log in alone.
var registrationSelection = protocol.AuthenticatorSelection{
	ResidentKey:        protocol.ResidentKeyRequirementRequired,
	RequireResidentKey: protocol.ResidentKeyRequired(),
	UserVerification:   protocol.VerificationPreferred,
}

// registration is the body FinishRegistration reads.
type registration struct {
	// Name is what the user calls the passkey ("laptop"); optional.
	Name string `json:"name"`
	// Credential is the PublicKeyCredential, as its toJSON() writes it.
	Credential json.RawMessage `json:"credential"`
}

// FinishRegistration is the JSON handler (POST, Content-Type
// application/json) that stores the passkey the browser created:
// {"name": "laptop", "credential": <PublicKeyCredential.toJSON()>}. It
// takes the session's registration ceremony (single use: a refused finish
// needs a new begin), verifies the attestation (challenge, origin, RP ID,
// user presence, algorithm) and stores the credential. It answers 200
// {"id": …, "name": …}; a refusal is 400 {"error":"passkey_refused"}
// (the passkey.refused event says why), 413 for a body over
// MaxBodyBytes, 415 for a body that is not JSON, 403 without a logged-in
// session.
func (p *Passkeys) FinishRegistration(w http.ResponseWriter, r *http.Request) {
	body, rf := readBody(w, r)
	if rf != nil {
		p.answerErr(w, r, ceremonyRegister, rf)
		return
	}
	u, err := p.sessionUser(r)
	if p.answerErr(w, r, ceremonyRegister, err) {
		return
	}
	ctx := r.Context()
	c, reason := p.takeCeremony(ctx, ceremonyRegister, u.ID())
	if reason != "" {
		p.answerErr(w, r, ceremonyRegister, refuse(reason, nil))
		return
	}
	var req registration
	if err := json.Unmarshal(body, &req); err != nil || len(req.Credential) == 0 {
		p.answerErr(w, r, ceremonyRegister, refuse("malformed", err))
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.Credential)
	if err != nil {
		p.answerErr(w, r, ceremonyRegister, refuse("malformed", err))
		return
	}
	if rf := p.checkClient(parsed.Response.CollectedClientData, c.challenge, parsed.Response.AttestationObject.AuthData.RPIDHash); rf != nil {
		p.answerErr(w, r, ceremonyRegister, rf)
		return
	}
	wu, err := p.user(ctx, u, false)
	if p.answerErr(w, r, ceremonyRegister, err) {
		return
	}
	cred, err := p.wa.CreateCredential(wu, webauthn.SessionData{
		Challenge:        base64.RawURLEncoding.EncodeToString(c.challenge),
		RelyingPartyID:   p.rpID,
		UserID:           wu.handle,
		UserVerification: registrationSelection.UserVerification,
		CredParams:       webauthn.CredentialParametersDefault(),
	}, parsed)
	if err != nil {
		p.answerErr(w, r, ceremonyRegister, classify(err))
		return
	}
	stored := Credential{
		ID: cred.ID, UserID: u.ID(), PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		Name: cleanName(req.Name), CreatedAt: Stamp(p.now()),
	}
	for _, t := range cred.Transport {
		// The browser's list, kept to the transports WebAuthn defines:
		// it is handed back in allowCredentials, and stored as one text.
		if knownTransports[t] && len(stored.Transports) < len(knownTransports) && !slices.Contains(stored.Transports, string(t)) {
			stored.Transports = append(stored.Transports, string(t))
		}
	}
	switch err := p.store.Add(ctx, stored); {
	case errors.Is(err, ErrDuplicate):
		p.answerErr(w, r, ceremonyRegister, refuse("duplicate", nil))
		return
	case p.answerErr(w, r, ceremonyRegister, err):
		return
	}
	id := base64.RawURLEncoding.EncodeToString(stored.ID)
	p.log.Log(r, seclog.PasskeyRegistered, zap.String("credential", id), zap.String("aaguid", aaguid(stored.AAGUID)),
		zap.Bool("user_verified", stored.UserVerified), zap.Bool("backup_eligible", stored.BackupEligible))
	writeJSON(w, r, map[string]string{"id": id, "name": stored.Name})
}

// BeginLogin is the JSON handler (POST) that starts a passwordless login:
// it answers the PublicKeyCredentialRequestOptions ({"publicKey": …})
// for navigator.credentials.get with no allowCredentials (the
// authenticator offers the site's passkeys: a discoverable login) and
// user verification required, and keeps the challenge in the session,
// single-use, for ChallengeTTL. It answers 404 when Config.Lookup is nil.
func (p *Passkeys) BeginLogin(w http.ResponseWriter, r *http.Request) {
	if p.lookup == nil {
		http.NotFound(w, r)
		return
	}
	if rf := checkPost(w, r); rf != nil {
		writeRefusal(w, r, rf)
		return
	}
	ctx := r.Context()
	if p.answerErr(w, r, ceremonyLogin, p.loaded(ctx)) {
		return
	}
	ch, err := newChallenge()
	if p.answerErr(w, r, ceremonyLogin, err) {
		return
	}
	assertion, _, err := p.wa.BeginDiscoverableLogin(webauthn.WithChallenge(ch), webauthn.WithUserVerification(protocol.VerificationRequired))
	if p.answerErr(w, r, ceremonyLogin, err) {
		return
	}
	p.sm.Put(ctx, SessionKey, ceremony{kind: ceremonyLogin, challenge: ch, began: p.now(),
		loginAt: p.sm.GetInt64(ctx, identity.SessionLoginKey)}.encode())
	writeJSON(w, r, assertion)
}

// FinishLogin is the JSON handler (POST, Content-Type application/json)
// that ends a passwordless login: its body is the PublicKeyCredential of
// navigator.credentials.get, as toJSON() writes it. It takes the
// session's login ceremony (single use), finds the passkey by its id,
// checks that the user handle is its owner's, that the owner is an active
// user, the assertion (challenge, origin, RP ID, signature, user
// presence and verification, backup flags) and the signature counter,
// writes the use back atomically, then logs the owner in through
// Config.Identity with the methods "hwk" and "mfa" (a passkey with user
// verification is both factors: the mfa gate does not ask again), which
// renews the session token. It answers 200 {"next": …}, the query's
// "next" when identity.SafeNext accepts it, else Config.DefaultNext;
// refusals as FinishRegistration's, and 404 when Config.Lookup is nil.
func (p *Passkeys) FinishLogin(w http.ResponseWriter, r *http.Request) {
	if p.lookup == nil {
		http.NotFound(w, r)
		return
	}
	body, rf := readBody(w, r)
	if rf != nil {
		p.answerErr(w, r, ceremonyLogin, rf)
		return
	}
	ctx := r.Context()
	if p.answerErr(w, r, ceremonyLogin, p.loaded(ctx)) {
		return
	}
	c, reason := p.takeCeremony(ctx, ceremonyLogin, "")
	if reason != "" {
		p.answerErr(w, r, ceremonyLogin, refuse(reason, nil))
		return
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		p.answerErr(w, r, ceremonyLogin, refuse("malformed", err))
		return
	}
	stored, u, err := p.owner(ctx, parsed)
	if p.answerErr(w, r, ceremonyLogin, err) {
		return
	}
	wu := &waUser{id: u.ID(), name: identity.Username(u), display: u.DisplayName(), creds: []webauthn.Credential{toWebAuthn(stored)}}
	wu.handle = parsed.Response.UserHandle // checked against the owner's by p.owner
	sd := webauthn.SessionData{
		Challenge:        base64.RawURLEncoding.EncodeToString(c.challenge),
		RelyingPartyID:   p.rpID,
		UserVerification: protocol.VerificationRequired,
	}
	if err := p.assert(ctx, parsed, c.challenge, stored, sd, wu, true); p.answerErr(w, r, ceremonyLogin, err) {
		return
	}
	if err := p.sessions.Login(r, u, identity.MethodHardwareKey, identity.MethodMFA); p.answerErr(w, r, ceremonyLogin, err) {
		return
	}
	next := r.URL.Query().Get("next")
	if next == "" || !identity.SafeNext(next, p.nextHosts, false) {
		next = p.defaultNext
	}
	p.log.Log(r, seclog.PasskeyLogin, seclog.String("login_user", u.ID()), zap.String("credential", base64.RawURLEncoding.EncodeToString(stored.ID)))
	writeJSON(w, r, map[string]string{"next": next})
}

// owner finds the stored passkey of a passwordless assertion and its
// owner: the assertion must carry the owner's user handle, and the owner
// must be an active user.
func (p *Passkeys) owner(ctx context.Context, parsed *protocol.ParsedCredentialAssertionData) (Credential, identity.User, error) {
	stored, found, err := p.store.Get(ctx, parsed.RawID)
	switch {
	case err != nil:
		return Credential{}, nil, err
	case !found:
		return Credential{}, nil, refuse("unknown_credential", nil)
	case len(parsed.Response.UserHandle) == 0:
		return Credential{}, nil, refuse("no_user_handle", nil)
	}
	handle, found, err := p.store.Handle(ctx, stored.UserID)
	switch {
	case err != nil:
		return Credential{}, nil, err
	case !found || !bytes.Equal(handle, parsed.Response.UserHandle):
		return Credential{}, nil, refuse("wrong_user", nil)
	}
	u, err := p.lookup(ctx, stored.UserID)
	switch {
	case err != nil:
		return Credential{}, nil, err
	case u == nil || !u.Active() || u.ID() != stored.UserID:
		return Credential{}, nil, refuse("inactive_user", nil)
	}
	return stored, u, nil
}

// assert verifies an assertion of the stored credential with the
// library, then applies the counter policy and writes the use back.
// requireUV is the ceremony's own demand (passwordless).
func (p *Passkeys) assert(ctx context.Context, parsed *protocol.ParsedCredentialAssertionData, challenge []byte, stored Credential, sd webauthn.SessionData, user webauthn.User, requireUV bool) error {
	if stored.CloneWarning {
		return refuse("clone_suspected", nil)
	}
	if rf := p.checkClient(parsed.Response.CollectedClientData, challenge, parsed.Response.AuthenticatorData.RPIDHash); rf != nil {
		return rf
	}
	if requireUV && !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return refuse("uv_missing", nil)
	}
	var (
		cred *webauthn.Credential
		err  error
	)
	if len(sd.UserID) == 0 {
		_, cred, err = p.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return user, nil }, sd, parsed)
	} else {
		cred, err = p.wa.ValidateLogin(user, sd, parsed)
	}
	if err != nil {
		return classify(err)
	}
	if cred.Authenticator.CloneWarning {
		return &cloneSuspected{cred: stored, got: parsed.Response.AuthenticatorData.Counter}
	}
	ok, err := p.store.Use(ctx, stored.ID, stored.SignCount, Use{
		Challenge: challenge, SignCount: cred.Authenticator.SignCount,
		UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified(), BackupState: cred.Flags.BackupState, At: p.now(),
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return refuse("replayed", nil)
	}
	return nil
}

// cloneSuspected is a signature counter that did not grow: got, not
// above the stored credential's.
type cloneSuspected struct {
	cred Credential
	got  uint32
}

func (e *cloneSuspected) Error() string {
	return "passkey: the signature counter did not grow: the passkey may have been cloned"
}

// flagClone records a suspected clone: the credential is flagged (refused
// from then on) and an Error event logged.
func (p *Passkeys) flagClone(r *http.Request, e *cloneSuspected) error {
	if err := p.store.FlagClone(r.Context(), e.cred.ID); err != nil {
		return err
	}
	p.log.Log(r, seclog.PasskeyCloneSuspected, seclog.String("owner", e.cred.UserID),
		zap.String("credential", base64.RawURLEncoding.EncodeToString(e.cred.ID)),
		zap.Uint32("stored_count", e.cred.SignCount), zap.Uint32("sign_count", e.got))
	return nil
}

// checkClient checks what the library would, first, so that the refusal
// says which: the origin (exact, with its port), the challenge (an
// assertion of another ceremony: replayed or stale), the RP ID hash.
func (p *Passkeys) checkClient(cd protocol.CollectedClientData, challenge, rpIDHash []byte) *refusal {
	if !p.origins[cd.Origin] {
		return refuse("wrong_origin", errors.New("origin "+strings.ToValidUTF8(cd.Origin, "?")))
	}
	got, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(cd.Challenge, "="))
	if err != nil || !bytes.Equal(got, challenge) {
		return refuse("wrong_challenge", nil)
	}
	if !bytes.Equal(rpIDHash, p.rpIDHash[:]) {
		return refuse("wrong_rp", nil)
	}
	return nil
}

// classify turns the library's refusal into ours.
func classify(err error) *refusal {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Type == protocol.ErrAssertionSignature.Type:
			return refuse("bad_signature", err)
		case strings.Contains(pe.Details, "User verification"), strings.Contains(pe.DevInfo, "User verification"):
			return refuse("uv_missing", err)
		case strings.Contains(pe.Details, "Backup Eligible"):
			return refuse("backup_eligibility_changed", err)
		}
	}
	return refuse("invalid", err)
}

// user returns the webauthn.User of u: its handle (made on first use when
// create is set) and its passkeys.
func (p *Passkeys) user(ctx context.Context, u identity.User, create bool) (*waUser, error) {
	handle, found, err := p.store.Handle(ctx, u.ID())
	if err != nil {
		return nil, err
	}
	if !found {
		if !create {
			return nil, refuse("no_handle", nil)
		}
		h := make([]byte, HandleLen)
		if _, err := rand.Read(h); err != nil {
			return nil, err
		}
		if handle, err = p.store.CreateHandle(ctx, u.ID(), h); err != nil {
			return nil, err
		}
	}
	stored, err := p.store.List(ctx, u.ID())
	if err != nil {
		return nil, err
	}
	wu := &waUser{id: u.ID(), name: identity.Username(u), display: u.DisplayName(), handle: handle, creds: make([]webauthn.Credential, len(stored))}
	for i, c := range stored {
		wu.creds[i] = toWebAuthn(c)
	}
	return wu, nil
}

// answerErr answers err, if any, and reports whether it did: a refusal
// is logged (passkey.refused) and answered with its status; a suspected
// clone flags the credential; any other error is an outage (503), or 500
// for a session that was not loaded.
func (p *Passkeys) answerErr(w http.ResponseWriter, r *http.Request, ceremony string, err error) bool {
	if err == nil {
		return false
	}
	var cs *cloneSuspected
	if errors.As(err, &cs) {
		if ferr := p.flagClone(r, cs); ferr != nil {
			p.fail(w, r, ceremony, ferr)
			return true
		}
		err = refuse("clone_suspected", err)
	}
	var rf *refusal
	if errors.As(err, &rf) {
		if rf.status != http.StatusMethodNotAllowed {
			p.logRefusal(r, ceremony, rf)
		}
		writeRefusal(w, r, rf)
		return true
	}
	p.fail(w, r, ceremony, err)
	return true
}

// loaded returns an error wrapping identity.ErrSessionNotLoaded when the
// manager's LoadAndSave did not run before.
func (p *Passkeys) loaded(ctx context.Context) error {
	return sessionctx.Check(ctx, p.sm, "passkey")
}

// cleanName trims a passkey's name and cuts it to MaxNameLen bytes at a
// character boundary; "" becomes "passkey".
func cleanName(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, ""))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	for len(s) > MaxNameLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if s == "" {
		return "passkey"
	}
	return s
}

// aaguid formats an AAGUID as a UUID, "" when absent.
func aaguid(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
