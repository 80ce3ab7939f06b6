package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/seclog"
)

// DefaultFlowTTL is how long a login flow started by [Login.Start] may wait
// for its callback when Config.FlowTTL is zero: long enough to type a
// password and answer a second factor at the provider, short enough that
// a state leaked in a log is soon worth nothing.
const DefaultFlowTTL = 10 * time.Minute

// maxFlows bounds the flows one session keeps (several tabs started a
// login); the oldest goes first, so a client cannot grow its session.
const maxFlows = 4

// flowsKey is the session key of the pending flows.
const flowsKey = "bulwark.oidc.flows"

// Config configures [New]. Issuer, ClientID, ClientSecret, RedirectURL,
// Sessions and Claims are required.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document writes it ("https://tenant.eu.auth0.com/" with its trailing
	// slash for Auth0, "https://keycloak.example/realms/main" for
	// Keycloak). Discovery fails when the document names another issuer.
	Issuer string
	// ClientID and ClientSecret are the application's credentials at the
	// provider (a confidential client: PKCE is used as well).
	ClientID, ClientSecret string
	// RedirectURL is the absolute URL of the handler that serves
	// [Login.Callback], registered at the provider exactly so.
	RedirectURL string
	// Scopes are asked for besides "openid", which is always asked;
	// nil means "profile" and "email".
	Scopes []string
	// Identity is the identity.Sessions login (a field named Sessions is
	// an scs manager across the suite): the flow is kept in the session
	// its manager loads (LoadAndSave must run before both handlers), and
	// a successful callback logs the user in with it.
	Identity *identity.Sessions
	// Claims maps the verified ID token's claims to the application's
	// user: find or create the account of (Issuer, Subject), never of the
	// e-mail alone, and decide who is staff (see [Claims.Has]). The user
	// it returns must be one that SessionsConfig.Lookup finds by its ID.
	// An error, or a nil or inactive user, refuses the login.
	Claims func(ctx context.Context, c *Claims) (identity.User, error)
	// NextHosts are the hosts, besides same-site paths, that "next" may
	// lead to ([identity.SafeNext], HTTPS only). Empty allows paths only.
	NextHosts []string
	// DefaultNext is where the user goes after login when "next" is
	// missing or refused; "" means "/". It must pass identity.SafeNext.
	DefaultNext string
	// FlowTTL is how long a started flow waits for its callback; zero
	// means [DefaultFlowTTL].
	FlowTTL time.Duration
	// HTTPClient makes the requests to the provider (discovery, keys,
	// code exchange); nil means http.DefaultClient. Give one with a
	// timeout in production.
	HTTPClient *http.Client
	// Refused writes the page of a refused login; nil writes a short
	// HTML page with the refusal's status and message, and a link to
	// start again. It is called after the event is logged and the flow
	// removed; it must not log the user in.
	Refused func(w http.ResponseWriter, r *http.Request, ref *Refusal)
	// StartURL is the path that serves [Login.Start], linked from the
	// default refusal page; "" means no link.
	StartURL string
	// PostLogoutRedirectURL is the absolute URL the provider sends the
	// browser to after [Login.Logout], registered at the provider as a
	// post-logout redirect URI. Empty sends none: the provider shows its
	// own page.
	PostLogoutRedirectURL string
	// Auth0Logout makes [Login.Logout] use Auth0's /v2/logout when the
	// discovery document has no end_session_endpoint (Auth0 advertises
	// its /oidc/logout only when the tenant enables "RP-Initiated Logout
	// End Session Endpoint Discovery"). Leave it false for other
	// providers.
	Auth0Logout bool
	// BackChannelLogout, if set, replaces how [Login.BackChannel] ends the
	// local sessions of a verified logout token: sid, when the token has
	// one, names the provider's session (end the sessions logged in
	// through it: [Claims.SessionID] at login); with subject alone, end
	// every session of the provider's user (issuer, subject), e.g.
	// through SessionsConfig.Revoke. subject is "" when the token names
	// only a sid. Nil, the default, reads every live session of the
	// session store and ends the matching ones, which needs a store that
	// can list its sessions (scs.IterableStore); give this function for a
	// store that cannot, or to end them through an index of your own,
	// cheaper than reading every session (see docs/performance.md).
	BackChannelLogout func(ctx context.Context, issuer, subject, sid string) error
	// TrustProviderMFA records a login whose ID token's amr holds "mfa"
	// (the provider checked several factors: Auth0, and Entra ID in its
	// v1.0 tokens, write it after their own second factor) as
	// multi-factor here too (identity.MethodMFA), so the mfa gate does
	// not ask its own second factor again. The default, false, records every provider login as
	// federated only (identity.MethodFederated): the application's own
	// second factor is asked whenever mfa.Config.Required says so. Set it
	// only for a provider whose second-factor policy the application
	// owns or accepts; the claim is the provider's word, signed, not
	// something the site checked. Keycloak writes "mfa" only when its AMR
	// mapper is set to; Google never does (its users are always asked
	// here).
	TrustProviderMFA bool
	// Logger is the security logger; nil means seclog.Default().
	Logger *seclog.Logger
	// Now returns the current time (tests); nil means time.Now. The ID
	// token's expiry is judged with it too.
	Now func() time.Time
}

// Login is a configured OpenID Connect login: its Start and Callback
// methods are the two handlers of the flow. It is safe for concurrent use.
type Login struct {
	issuer      string
	clientID    string
	oauth       oauth2.Config
	verifier    *gooidc.IDTokenVerifier
	sessions    *identity.Sessions
	claims      func(context.Context, *Claims) (identity.User, error)
	nextHosts   []string
	defaultNext string
	flowTTL     time.Duration
	client      *http.Client
	refused     func(http.ResponseWriter, *http.Request, *Refusal)
	startURL    string
	endSession  string // the provider's logout endpoint; "" for none
	auth0       bool   // endSession is Auth0's /v2/logout
	postLogout  string
	afterLogout string // where Logout sends the browser when the provider is not told
	backChannel func(ctx context.Context, issuer, subject, sid string) error
	trustMFA    bool       // Config.TrustProviderMFA
	seen        seenTokens // jti of the logout tokens received
	log         *seclog.Logger
	now         func() time.Time
}

// New validates cfg and discovers the provider (one request to its
// /.well-known/openid-configuration, made with ctx). The provider's keys
// are fetched at the first login, then cached.
func New(ctx context.Context, cfg Config) (*Login, error) {
	for _, f := range []struct{ name, v, hint string }{
		{"Issuer", cfg.Issuer, "the provider's issuer URL, as its discovery document writes it"},
		{"ClientID", cfg.ClientID, "the client id the provider gave the application"},
		{"ClientSecret", cfg.ClientSecret, "the client secret the provider gave the application"},
		{"RedirectURL", cfg.RedirectURL, "the absolute URL of the Callback handler, as registered at the provider"},
	} {
		if f.v == "" {
			return nil, fmt.Errorf("oidc: Config.%s is empty: write %s", f.name, f.hint)
		}
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("oidc: Config.RedirectURL %q is not an absolute URL: write the full URL of the Callback handler, such as \"https://app.example/login/oidc/callback\"", cfg.RedirectURL)
	}
	if cfg.Identity == nil {
		return nil, errors.New("oidc: Config.Identity is nil: give the *identity.Sessions whose manager's LoadAndSave runs before the handlers")
	}
	if cfg.Claims == nil {
		return nil, errors.New("oidc: Config.Claims is nil: give a func that maps the ID token's claims to the application's user")
	}
	if cfg.FlowTTL < 0 {
		return nil, fmt.Errorf("oidc: Config.FlowTTL %v is negative: write 0 for the default (%v), or a positive duration", cfg.FlowTTL, DefaultFlowTTL)
	}
	l := &Login{
		issuer: cfg.Issuer, clientID: cfg.ClientID, sessions: cfg.Identity, claims: cfg.Claims,
		nextHosts: cfg.NextHosts, defaultNext: cfg.DefaultNext, flowTTL: cfg.FlowTTL,
		client: cfg.HTTPClient, refused: cfg.Refused, backChannel: cfg.BackChannelLogout, startURL: cfg.StartURL, log: cfg.Logger, now: cfg.Now,
		trustMFA: cfg.TrustProviderMFA,
	}
	if l.defaultNext == "" {
		l.defaultNext = "/"
	}
	if !identity.SafeNext(l.defaultNext, l.nextHosts, true) {
		return nil, fmt.Errorf("oidc: Config.DefaultNext %q is not a safe redirect target (identity.SafeNext): write a path such as \"/\"", cfg.DefaultNext)
	}
	if l.startURL != "" && !identity.SafeNext(l.startURL, nil, true) {
		return nil, fmt.Errorf("oidc: Config.StartURL %q is not a same-site path: write the path of the Start handler, such as \"/login/oidc\"", cfg.StartURL)
	}
	if err := checkPostLogout(cfg.PostLogoutRedirectURL); err != nil {
		return nil, err
	}
	l.postLogout, l.afterLogout = cfg.PostLogoutRedirectURL, cfg.PostLogoutRedirectURL
	if l.afterLogout == "" {
		l.afterLogout = l.defaultNext
	}
	if l.flowTTL == 0 {
		l.flowTTL = DefaultFlowTTL
	}
	if l.client == nil {
		l.client = http.DefaultClient
	}
	if l.refused == nil {
		l.refused = l.refusalPage
	}
	if l.log == nil {
		l.log = seclog.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	provider, err := gooidc.NewProvider(gooidc.ClientContext(ctx, l.client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover the provider %q: %w", cfg.Issuer, err)
	}
	if l.endSession, l.auth0, err = endSession(provider, cfg.Issuer, cfg.Auth0Logout); err != nil {
		return nil, fmt.Errorf("oidc: the provider %q: %w", cfg.Issuer, err)
	}
	scopes := cfg.Scopes
	if scopes == nil {
		scopes = []string{"profile", "email"}
	}
	scopes = append([]string{gooidc.ScopeOpenID}, slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == gooidc.ScopeOpenID })...)
	l.oauth = oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Endpoint: provider.Endpoint(), RedirectURL: cfg.RedirectURL, Scopes: scopes,
	}
	// One verifier, hence one key set, for the life of the Login: its
	// cache is what makes N logins cost one JWKS request, and its
	// KeyRefetchInterval what keeps made-up key ids from costing more.
	var meta struct {
		JWKS string   `json:"jwks_uri"`
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKS == "" {
		return nil, fmt.Errorf("oidc: the provider %q: its discovery document has no jwks_uri", cfg.Issuer)
	}
	keys := &keySet{uri: meta.JWKS, client: l.client, now: l.now}
	l.verifier = gooidc.NewVerifier(cfg.Issuer, keys, &gooidc.Config{ClientID: cfg.ClientID, Now: l.now, SupportedSigningAlgs: supportedAlgs(meta.Algs)})
	return l, nil
}

// A flow is one login in progress, kept in the pre-login session.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"` // Unix seconds
}

// Start begins a login: it keeps a new flow in the session of r and
// redirects to the provider's authorization endpoint. The "next" query
// parameter, when identity.SafeNext accepts it, is where the user goes
// after the login; otherwise Config.DefaultNext. A request whose session
// was not loaded is answered 500 and logged (session.not_loaded).
func (l *Login) Start(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !identity.SafeNext(next, l.nextHosts, true) {
		next = l.defaultNext
	}
	f := flow{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier(), Next: next, Expires: l.now().Add(l.flowTTL).Unix()}
	flows, err := l.loadFlows(r.Context())
	if err != nil {
		sessionctx.Refuse(w, r, l.log, err)
		return
	}
	flows = l.live(flows)
	if len(flows) >= maxFlows {
		flows = flows[len(flows)-maxFlows+1:]
	}
	l.saveFlows(r.Context(), append(flows, f))
	target := l.oauth.AuthCodeURL(f.State, gooidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	w.Header().Set("Cache-Control", "no-store")
	// The target is the discovered authorization endpoint with our own
	// parameters: an application-built URL, not a request's string.
	identity.Redirect(w, r, target, http.StatusFound)
}

// Callback ends a login: see the package documentation for the checks.
// On success the session token is renewed, the user stored, and the
// browser redirected (303) to the flow's "next"; on any refusal the
// Config.Refused page is written and nobody is logged in.
func (l *Login) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	f, ref := l.takeFlow(ctx, q.Get("state"))
	if ref == nil {
		ref = l.checkResponse(q)
	}
	var c *Claims
	if ref == nil {
		c, ref = l.exchange(ctx, f, q.Get("code"))
	}
	var u identity.User
	if ref == nil {
		var err error
		u, err = l.claims(ctx, c)
		if err != nil || u == nil || !u.Active() || u.ID() == "" {
			ref = refuse(ReasonUserRefused, err)
		}
	}
	methods := l.methods(c)
	if ref == nil {
		if err := l.sessions.Login(r, u, methods...); err != nil {
			ref = &Refusal{Status: http.StatusInternalServerError, Reason: ReasonLoginFailed, Err: err}
		}
	}
	if ref != nil {
		l.refuse(w, r, ref)
		return
	}
	// Kept for the logout at the provider (id_token_hint), after Login,
	// which may clear the session.
	l.sessions.Manager().Put(ctx, idTokenKey, c.raw)
	l.putProviderSession(ctx, c)
	l.log.Log(r, seclog.OIDCLogin, zap.String("issuer", c.Issuer), seclog.String("subject", c.Subject), seclog.String("login_user", u.ID()),
		seclog.String("amr", strings.Join(c.AMR, " ")), zap.Bool("provider_mfa", slices.Contains(methods, identity.MethodMFA)))
	next := f.Next
	if !identity.SafeNext(next, l.nextHosts, true) {
		next = l.defaultNext
	}
	identity.Redirect(w, r, next, http.StatusSeeOther)
}

// methods returns how a login with claims c is recorded in the session:
// federated, and multi-factor too when the provider says so and
// Config.TrustProviderMFA believes it. Nil claims (a refused login) have
// none.
func (l *Login) methods(c *Claims) []string {
	if c == nil {
		return nil
	}
	if l.trustMFA && slices.Contains(c.AMR, identity.MethodMFA) {
		return []string{identity.MethodFederated, identity.MethodMFA}
	}
	return []string{identity.MethodFederated}
}

// checkResponse refuses an authorization response that carries an error
// or no code, or that names another issuer (RFC 9207's iss parameter,
// the mix-up defence, when the provider sends it).
func (l *Login) checkResponse(q url.Values) *Refusal {
	if e := q.Get("error"); e != "" {
		ref := &Refusal{Status: http.StatusForbidden, Reason: ReasonProviderError, ProviderError: e}
		if d := q.Get("error_description"); d != "" {
			ref.Err = errors.New(d)
		}
		return ref
	}
	if iss := q.Get("iss"); iss != "" && iss != l.issuer {
		return refuse(ReasonWrongIssuer, fmt.Errorf("the response names issuer %q", iss))
	}
	if q.Get("code") == "" {
		return &Refusal{Status: http.StatusBadRequest, Reason: ReasonBadResponse, Err: errors.New("no code in the response")}
	}
	return nil
}

// takeFlow finds the flow of state in the session of ctx and removes it,
// whatever comes next: a state is good for one callback.
func (l *Login) takeFlow(ctx context.Context, state string) (flow, *Refusal) {
	flows, err := l.loadFlows(ctx)
	if err != nil {
		return flow{}, &Refusal{Status: http.StatusInternalServerError, Reason: ReasonLoginFailed, Err: err}
	}
	i := -1
	if state != "" {
		for j := range flows {
			if subtle.ConstantTimeCompare([]byte(flows[j].State), []byte(state)) == 1 {
				i = j
			}
		}
	}
	if i < 0 {
		return flow{}, &Refusal{Status: http.StatusBadRequest, Reason: ReasonUnknownState, Err: errors.New("the state names no login this session started (unknown, replayed, or another browser's)")}
	}
	f := flows[i]
	l.saveFlows(ctx, slices.Delete(flows, i, i+1))
	if l.now().Unix() >= f.Expires {
		return flow{}, &Refusal{Status: http.StatusBadRequest, Reason: ReasonFlowExpired, Err: errors.New("the login took longer than FlowTTL")}
	}
	return f, nil
}

// exchange trades the code for tokens with the flow's PKCE verifier and
// verifies the ID token.
func (l *Login) exchange(ctx context.Context, f flow, code string) (*Claims, *Refusal) {
	tok, err := l.oauth.Exchange(gooidc.ClientContext(ctx, l.client), code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, refuse(ReasonExchangeFailed, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refuse(ReasonBadToken, errors.New("the token response has no id_token"))
	}
	idt, err := l.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, l.classify(raw, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return nil, refuse(ReasonWrongNonce, errors.New("the ID token's nonce is not the one this login sent"))
	}
	c := &Claims{Issuer: idt.Issuer, Subject: idt.Subject, token: idt, raw: raw}
	if err := idt.Claims(c); err != nil {
		return nil, refuse(ReasonBadToken, err)
	}
	// go-oidc checks that aud contains the client id, not azp (OIDC Core
	// 3.1.3.7 items 4 and 5).
	if c.AuthorizedParty != "" && c.AuthorizedParty != l.clientID || len(idt.Audience) > 1 && c.AuthorizedParty == "" {
		return nil, refuse(ReasonWrongAudience, fmt.Errorf("azp %q is not the client id", c.AuthorizedParty))
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, refuse(ReasonBadToken, err)
		}
	}
	return c, nil
}

// classify names why go-oidc refused raw. The decision is go-oidc's; the
// unverified payload is read only to tell the auditor which check failed.
func (l *Login) classify(raw string, err error) *Refusal {
	if _, ok := errors.AsType[*gooidc.TokenExpiredError](err); ok {
		return refuse(ReasonExpiredToken, err)
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	parts := strings.Split(raw, ".")
	if len(parts) == 3 {
		if b, e := base64.RawURLEncoding.DecodeString(parts[1]); e == nil && json.Unmarshal(b, &claims) == nil {
			if claims.Issuer != l.issuer {
				return refuse(ReasonWrongIssuer, err)
			}
			var one string
			var many []string
			if json.Unmarshal(claims.Audience, &one) == nil {
				many = []string{one}
			} else {
				_ = json.Unmarshal(claims.Audience, &many)
			}
			if !slices.Contains(many, l.clientID) {
				return refuse(ReasonWrongAudience, err)
			}
			return refuse(ReasonBadSignature, err)
		}
	}
	return refuse(ReasonBadToken, err)
}

func refuse(reason Reason, err error) *Refusal {
	return &Refusal{Status: http.StatusForbidden, Reason: reason, Err: err}
}

// refuse logs ref and writes the refusal page.
func (l *Login) refuse(w http.ResponseWriter, r *http.Request, ref *Refusal) {
	fields := []zap.Field{zap.String("reason", string(ref.Reason))}
	if ref.ProviderError != "" {
		fields = append(fields, seclog.String("provider_error", ref.ProviderError))
	}
	if ref.Err != nil {
		fields = append(fields, seclog.String("error", ref.Err.Error()))
	}
	l.log.Log(r, seclog.OIDCRefused, fields...)
	w.Header().Set("Cache-Control", "no-store")
	l.refused(w, r, ref)
}

var refusalTemplate = template.Must(template.New("refused").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Login refused</title></head>
<body><h1>Login refused</h1><p>{{.Message}}</p>{{if .Start}}<p><a href="{{.Start}}">Log in again</a></p>{{end}}</body></html>
`))

// refusalPage is the default Config.Refused.
func (l *Login) refusalPage(w http.ResponseWriter, r *http.Request, ref *Refusal) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(ref.Status)
	_ = refusalTemplate.Execute(w, struct{ Message, Start string }{ref.Message(), l.startURL})
}

// loadFlows returns the flows kept in the session of ctx; an error when
// the session was not loaded (a chain without LoadAndSave).
func (l *Login) loadFlows(ctx context.Context) ([]flow, error) {
	sm := l.sessions.Manager()
	if err := sessionctx.Check(ctx, sm, "oidc"); err != nil {
		return nil, err
	}
	if !sm.Exists(ctx, flowsKey) {
		return nil, nil
	}
	var flows []flow
	if err := json.Unmarshal([]byte(sm.GetString(ctx, flowsKey)), &flows); err != nil {
		// A session that holds something else has no usable flow.
		return nil, nil
	}
	return flows, nil
}

// saveFlows keeps flows in the session of ctx, which loadFlows found
// loaded.
func (l *Login) saveFlows(ctx context.Context, flows []flow) {
	sm := l.sessions.Manager()
	if len(flows) == 0 {
		sm.Remove(ctx, flowsKey)
		return
	}
	b, _ := json.Marshal(flows) // strings and an int64: it cannot fail
	sm.Put(ctx, flowsKey, string(b))
}

// live returns the flows that have not expired.
func (l *Login) live(flows []flow) []flow {
	now := l.now().Unix()
	return slices.DeleteFunc(flows, func(f flow) bool { return now >= f.Expires })
}

// randomString returns 32 random bytes, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand: it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// supportedAlgs returns the algorithms of the discovery document's
// id_token_signing_alg_values_supported that the key set verifies; none
// leaves go-oidc's default, RS256 (what OpenID Connect requires of every
// provider). "none" and the HMAC algorithms are never accepted.
func supportedAlgs(named []string) []string {
	var algs []string
	for _, a := range named {
		if slices.Contains(signingAlgs, jose.SignatureAlgorithm(a)) {
			algs = append(algs, a)
		}
	}
	return algs
}
