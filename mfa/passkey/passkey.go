package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/httpjson"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
)

// Method is the second factor's method name, in session state and events.
const Method = "passkey"

// Defaults of [Config].
const (
	// DefaultChallengeTTL bounds a registration or passwordless login
	// ceremony, from its begin to its finish.
	DefaultChallengeTTL = 5 * time.Minute
	// DefaultRecentLogin is how recent a login must be to register a
	// passkey, when no step-up guard says the second factor is recent.
	DefaultRecentLogin = 15 * time.Minute
	// MaxBodyBytes bounds the JSON a finish handler reads; a larger body is
	// refused with 413. A passkey's credential is a few kilobytes at most.
	MaxBodyBytes = 64 << 10
	// Field is the form field [Verifier.Complete] reads the assertion from
	// when the challenge page posts a form.
	Field = "passkey_credential"
	// SessionKey holds the registration or passwordless login ceremony
	// under way in the user's scs session.
	SessionKey = "bulwark.passkey.ceremony"
)

// Config configures [Passkeys]. RPID, RPDisplayName, RPOrigins, Store and
// Sessions are required; the zero value of every other field is the
// secure default.
type Config struct {
	// RPID is the relying party id: the site's registrable domain
	// ("example.com"), or "localhost" in development. No scheme, no port,
	// no IP address (WebAuthn refuses IPs). Passkeys are bound to it for
	// their whole life: changing it orphans them.
	RPID string
	// RPDisplayName is the site's name as authenticators show it
	// ("Example Corp").
	RPDisplayName string
	// RPOrigins lists the exact origins the pages that call WebAuthn are
	// served from: scheme, host and any non-default port, no path
	// ("https://example.com", "http://localhost:8080"). Each host must be
	// RPID or a subdomain of it; http is allowed for localhost only.
	RPOrigins []string
	// Store keeps user handles and passkeys. Required: &MemoryStore{} for
	// one process, mfa/passkey/sqlstore for SQLite or PostgreSQL.
	Store Store
	// Identity is the identity.Sessions login: ceremonies are kept in, and
	// bound to, its scs session, and the passwordless login logs users in
	// through it. Required.
	Identity *identity.Sessions
	// Lookup returns the user with the given id, (nil, nil) when there is
	// none: the passwordless login needs it to log the passkey's owner in
	// (give the same func as identity.SessionsConfig.Lookup). Nil disables
	// the passwordless login: BeginLogin and FinishLogin answer 404.
	Lookup func(ctx context.Context, id string) (identity.User, error)
	// RecentLogin is how long after logging in a user may register a
	// passkey (default 15 minutes): adding a way in to an account needs a
	// recent proof that its owner is here, not just a session left open
	// (OWASP ASVS V6.4). Later, the user logs in again. A site that also
	// wants a recent second factor wraps the BeginRegistration route in
	// the gate's step-up guard (mfa.Middleware.RequireRecent): both then
	// hold. Must not be negative.
	RecentLogin time.Duration
	// ChallengeTTL bounds a registration or passwordless login ceremony
	// (default 5 minutes). The second factor's challenge is bounded by the
	// gate's own mfa.Config.ChallengeTTL.
	ChallengeTTL time.Duration
	// NextHosts lists the hosts an absolute https "next" of the
	// passwordless login may point at (identity.SafeNext); empty means
	// same-site paths only.
	NextHosts []string
	// DefaultNext is where the passwordless login sends the user when no
	// acceptable "next" was given (default "/").
	DefaultNext string
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now.
	Now func() time.Time
}

// Passkeys registers passkeys and checks them, as a second factor of the
// mfa gate ([Passkeys.Verifier]) and, when Config.Lookup is set, as a
// passwordless first factor. Its handlers are JSON endpoints for the
// page's script ([Passkeys.ServeScript]). It is safe for concurrent use.
type Passkeys struct {
	wa          *webauthn.WebAuthn
	rpID        string
	rpIDHash    [32]byte
	origins     map[string]bool
	store       Store
	sessions    *identity.Sessions
	sm          *scs.SessionManager
	lookup      func(context.Context, string) (identity.User, error)
	recent      time.Duration
	ttl         time.Duration
	nextHosts   []string
	defaultNext string
	log         *seclog.Logger
	now         func() time.Time
	verifier    *Verifier
}

// New returns the passkeys of cfg, or an error naming the field that is
// wrong and what to write.
func New(cfg Config) (*Passkeys, error) {
	if err := checkRPID(cfg.RPID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.RPDisplayName) == "" {
		return nil, errors.New(`passkey: Config.RPDisplayName is empty: write the site's name as authenticators should show it ("Example Corp")`)
	}
	if len(cfg.RPOrigins) == 0 {
		return nil, fmt.Errorf("passkey: Config.RPOrigins is empty: list the exact origins of the pages, such as %q", "https://"+cfg.RPID)
	}
	origins := make(map[string]bool, len(cfg.RPOrigins))
	for _, o := range cfg.RPOrigins {
		if err := checkOrigin(o, cfg.RPID); err != nil {
			return nil, err
		}
		origins[o] = true
	}
	if cfg.Store == nil {
		return nil, errors.New("passkey: Config.Store is nil: give &passkey.MemoryStore{} or an SQL store from mfa/passkey/sqlstore")
	}
	if cfg.Identity == nil {
		return nil, errors.New("passkey: Config.Identity is nil: give the *identity.Sessions the site logs users in with")
	}
	if cfg.RecentLogin < 0 || cfg.ChallengeTTL < 0 {
		return nil, errors.New("passkey: Config.RecentLogin and ChallengeTTL must not be negative (0 means the default)")
	}
	if cfg.DefaultNext != "" && !identity.SafeNext(cfg.DefaultNext, cfg.NextHosts, false) {
		return nil, fmt.Errorf("passkey: Config.DefaultNext %q: write a path on this site, such as \"/\"", cfg.DefaultNext)
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     append([]string(nil), cfg.RPOrigins...),
		// "none": passkeys from any authenticator; nothing to verify
		// against a metadata service (sites that need it are not the
		// suite's audience yet).
		AttestationPreference: protocol.PreferNoAttestation,
		// Expiry is ours (ChallengeTTL, on Config.Now); the library's
		// would read the wall clock.
		Timeouts: webauthn.TimeoutsConfig{},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: Config: %w", err)
	}
	p := &Passkeys{
		wa: wa, rpID: cfg.RPID, rpIDHash: sha256.Sum256([]byte(cfg.RPID)), origins: origins,
		store: cfg.Store, sessions: cfg.Identity, sm: cfg.Identity.Manager(), lookup: cfg.Lookup,
		recent: cfg.RecentLogin, ttl: cfg.ChallengeTTL,
		nextHosts: cfg.NextHosts, defaultNext: cfg.DefaultNext, log: cfg.Logger, now: cfg.Now,
	}
	if p.recent == 0 {
		p.recent = DefaultRecentLogin
	}
	if p.ttl == 0 {
		p.ttl = DefaultChallengeTTL
	}
	if p.defaultNext == "" {
		p.defaultNext = "/"
	}
	if p.log == nil {
		p.log = seclog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.verifier = &Verifier{p: p}
	return p, nil
}

// checkRPID judges Config.RPID: a host name, not an origin, a URL or an
// IP address.
func checkRPID(id string) error {
	const what = `write the site's registrable domain, such as "example.com", or "localhost" in development`
	switch {
	case id == "":
		return fmt.Errorf("passkey: Config.RPID is empty: %s", what)
	case strings.Contains(id, "://") || strings.ContainsAny(id, "/:?#@ "):
		return fmt.Errorf("passkey: Config.RPID %q is not a host name (no scheme, port or path): %s", id, what)
	case net.ParseIP(strings.Trim(id, "[]")) != nil:
		return fmt.Errorf("passkey: Config.RPID %q is an IP address, which WebAuthn refuses: %s, and serve the pages on it", id, what)
	case strings.ToLower(id) != id:
		return fmt.Errorf("passkey: Config.RPID %q: write it in lower case", id)
	}
	if err := protocol.ValidateRPID(id); err != nil {
		return fmt.Errorf("passkey: Config.RPID %q: %v: %s", id, err, what)
	}
	return nil
}

// checkOrigin judges one of Config.RPOrigins against the RP ID.
func checkOrigin(o, rpID string) error {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "/") {
		return fmt.Errorf("passkey: Config.RPOrigins: %q is not an origin: write scheme://host[:port] with no path or trailing slash, such as %q", o, "https://"+rpID)
	}
	host := u.Hostname()
	if host != strings.ToLower(host) || o != strings.ToLower(u.Scheme)+"://"+u.Host {
		return fmt.Errorf("passkey: Config.RPOrigins: %q: write the origin in lower case, as browsers send it", o)
	}
	if net.ParseIP(host) != nil {
		return fmt.Errorf("passkey: Config.RPOrigins: %q is an IP address, which WebAuthn refuses: serve the pages on a host name (%q in development)", o, "http://localhost"+portOf(u))
	}
	if host != rpID && !strings.HasSuffix(host, "."+rpID) {
		return fmt.Errorf("passkey: Config.RPOrigins: the host of %q is not Config.RPID %q nor a subdomain of it: passkeys of RP ID %q work on that domain and its subdomains only", o, rpID, rpID)
	}
	if u.Scheme == "http" && host != "localhost" {
		return fmt.Errorf("passkey: Config.RPOrigins: %q: browsers allow WebAuthn on http for localhost only: write %q", o, "https://"+u.Host)
	}
	if p := u.Port(); p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
		return fmt.Errorf("passkey: Config.RPOrigins: %q: browsers omit the default port: write %q", o, u.Scheme+"://"+host)
	}
	return nil
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return ":" + p
	}
	return ""
}

// Verifier returns the second factor of the mfa gate: give it in
// mfa.Config.Verifiers (after TOTP, for a user who may use either).
func (p *Passkeys) Verifier() *Verifier { return p.verifier }

// --- the ceremony kept in the session ---

// ceremony is the registration or passwordless login under way, as kept
// in the scs session under SessionKey: a plain string (no gob, nothing
// the client can shape), bound to the session's user and login time.
type ceremony struct {
	kind      string // "register" or "login"
	challenge []byte
	began     time.Time
	user      string // the user id (registration), "" for a login
	loginAt   int64  // identity.SessionLoginKey at begin (registration)
}

func (c ceremony) encode() string {
	return strings.Join([]string{"1", c.kind, base64.RawURLEncoding.EncodeToString(c.challenge),
		strconv.FormatInt(c.began.UnixNano(), 10), strconv.FormatInt(c.loginAt, 10), url.QueryEscape(c.user)}, "|")
}

func decodeCeremony(s string) (ceremony, bool) {
	f := strings.SplitN(s, "|", 6)
	if len(f) != 6 || f[0] != "1" {
		return ceremony{}, false
	}
	ch, err1 := base64.RawURLEncoding.DecodeString(f[2])
	began, err2 := strconv.ParseInt(f[3], 10, 64)
	loginAt, err3 := strconv.ParseInt(f[4], 10, 64)
	user, err4 := url.QueryUnescape(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil || len(ch) < protocol.MinimumChallengeLength {
		return ceremony{}, false
	}
	return ceremony{kind: f[1], challenge: ch, began: time.Unix(0, began).UTC(), user: user, loginAt: loginAt}, true
}

// takeCeremony reads and forgets the session's ceremony (single use: a
// finish that fails needs a new begin), and judges it: the right kind,
// still fresh, for the same user and login. The reason is "" when the
// ceremony is good.
func (p *Passkeys) takeCeremony(ctx context.Context, kind, user string) (ceremony, string) {
	raw := p.sm.PopString(ctx, SessionKey)
	if raw == "" {
		return ceremony{}, "no_ceremony"
	}
	c, ok := decodeCeremony(raw)
	switch {
	case !ok || c.kind != kind:
		return ceremony{}, "no_ceremony"
	case c.user != user || c.loginAt != p.sm.GetInt64(ctx, identity.SessionLoginKey):
		return ceremony{}, "wrong_session"
	case p.now().Sub(c.began) > p.ttl || p.now().Before(c.began.Add(-time.Minute)):
		return ceremony{}, "expired"
	}
	return c, ""
}

// newChallenge returns 32 random bytes.
func newChallenge() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// --- the webauthn.User of a site's user ---

type waUser struct {
	id, name, display string
	handle            []byte
	creds             []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// toWebAuthn is the library's view of a stored credential.
func toWebAuthn(c Credential) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: c.ID, PublicKey: c.PublicKey, AttestationType: c.AttestationType, Transport: ts,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: c.UserVerified, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount, CloneWarning: c.CloneWarning},
	}
}

// --- answers ---

// refusal is a refused ceremony: its reason (the passkey.refused event's)
// and the HTTP status of the JSON handlers.
type refusal struct {
	reason string
	status int
	err    error // the library's detail, logged
}

func (e *refusal) Error() string {
	if e.err != nil {
		return "passkey: refused (" + e.reason + "): " + e.err.Error()
	}
	return "passkey: refused (" + e.reason + ")"
}

func (e *refusal) Unwrap() error { return e.err }

func refuse(reason string, err error) *refusal {
	return &refusal{reason: reason, status: http.StatusBadRequest, err: err}
}

// logRefusal logs the passkey.refused event of a ceremony.
func (p *Passkeys) logRefusal(r *http.Request, ceremony string, rf *refusal) {
	fields := []zap.Field{zap.String("ceremony", ceremony), zap.String("reason", rf.reason)}
	if rf.err != nil {
		fields = append(fields, seclog.String("error", rf.err.Error()))
	}
	p.log.Log(r, seclog.PasskeyRefused, fields...)
}

// writeRefusal answers a JSON handler's refusal: its status, and a body
// that does not say why (the event does).
func writeRefusal(w http.ResponseWriter, r *http.Request, rf *refusal) {
	switch rf.status {
	case http.StatusRequestEntityTooLarge:
		httpjson.Write(w, r, rf.status, `{"error":"too_large"}`)
	case http.StatusUnsupportedMediaType:
		httpjson.Write(w, r, rf.status, `{"error":"json_required"}`)
	case http.StatusForbidden:
		httpjson.Write(w, r, rf.status, `{"error":"`+rf.reason+`"}`)
	default:
		httpjson.Write(w, r, rf.status, `{"error":"passkey_refused"}`)
	}
}

// fail answers 503 when the store cannot answer, and a session the
// manager's LoadAndSave did not load as every gate of the suite does
// (sessionctx.Refuse: 500 and seclog.SessionNotLoaded with the fix).
func (p *Passkeys) fail(w http.ResponseWriter, r *http.Request, ceremony string, err error) {
	if errors.Is(err, identity.ErrSessionNotLoaded) {
		sessionctx.Refuse(w, r, p.log, err)
		return
	}
	p.log.Log(r, seclog.PasskeyStoreError, zap.String("ceremony", ceremony), seclog.String("error", err.Error()))
	httpjson.Write(w, r, http.StatusServiceUnavailable, `{"error":"unavailable"}`)
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the library's option types always marshal
		httpjson.Write(w, r, http.StatusInternalServerError, `{"error":"internal"}`)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpjson.Write(w, r, http.StatusOK, string(b))
}

// readBody reads a finish handler's JSON body: POST, Content-Type
// application/json (a cross-site form cannot send it without a CORS
// preflight), at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *refusal) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &refusal{reason: "method", status: http.StatusMethodNotAllowed}
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		return nil, &refusal{reason: "not_json", status: http.StatusUnsupportedMediaType}
	}
	return readLimited(w, r)
}

// readLimited reads r's body, at most MaxBodyBytes: more is refused
// ("oversize", 413).
func readLimited(w http.ResponseWriter, r *http.Request) ([]byte, *refusal) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &refusal{reason: "oversize", status: http.StatusRequestEntityTooLarge}
	case err != nil:
		return nil, refuse("malformed", err)
	}
	return buf.Bytes(), nil
}

// checkPost refuses a begin request that is not a POST: a ceremony
// changes the session, and a GET could be triggered cross-site.
func checkPost(w http.ResponseWriter, r *http.Request) *refusal {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return &refusal{reason: "method", status: http.StatusMethodNotAllowed}
	}
	return nil
}

// sessionUser returns the logged-in user of r's scs session, or a
// refusal (403) for a request without one.
func (p *Passkeys) sessionUser(r *http.Request) (identity.User, error) {
	ctx := r.Context()
	if err := sessionctx.Check(ctx, p.sm, "passkey"); err != nil {
		return nil, err
	}
	u := identity.FromRequest(r)
	if u == nil || p.sm.GetString(ctx, identity.SessionUserKey) != u.ID() {
		return nil, &refusal{reason: "not_logged_in", status: http.StatusForbidden}
	}
	return u, nil
}
