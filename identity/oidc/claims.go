package oidc

import (
	"errors"
	"net/http"
	"slices"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Claims are the verified ID token's claims that [Config.Claims] maps to
// the application's user. The standard ones are decoded; read any other
// (Auth0's namespaced roles, Entra's "tid") with [Claims.Decode].
type Claims struct {
	// Issuer is the provider's issuer URL ("iss"). With Subject it
	// identifies the user: key the application's account on the pair,
	// never on the e-mail alone.
	Issuer string `json:"iss"`
	// Subject is the user's stable id at the provider ("sub").
	Subject string `json:"sub"`
	// Name is the user's full name, as the provider wrote it (scope
	// "profile").
	Name string `json:"name"`
	// PreferredUsername is the name the user goes by at the provider
	// (scope "profile"); it may change and need not be unique.
	PreferredUsername string `json:"preferred_username"`
	// Email is the user's e-mail address (scope "email"); see
	// EmailVerified before trusting it.
	Email string `json:"email"`
	// EmailVerified reports whether the provider checked Email; link an
	// existing account by e-mail only when it is true.
	EmailVerified bool `json:"email_verified"`
	// Groups is the "groups" claim (Keycloak, Entra, Okta), when the
	// provider is set to send it.
	Groups []string `json:"groups"`
	// Roles is the "roles" claim (Entra app roles, Keycloak mappers),
	// when the provider is set to send it.
	Roles []string `json:"roles"`
	// AMR is the "amr" claim: how the provider authenticated the user, as
	// RFC 8176 values ("pwd", "otp", "hwk", "mfa"…), when it says. Entra
	// ID's v1.0 tokens write ["pwd","mfa"] after its own second factor
	// (its v2.0 tokens carry no amr), Auth0 ["mfa"];
	// Keycloak sends amr only through its "Authentication Method
	// Reference" mapper (the values each step of the flow is given);
	// Google sends none. It is what the provider claims, signed: see
	// Config.TrustProviderMFA before counting on it.
	AMR []string `json:"amr"`
	// ACR is the "acr" claim: the authentication context class the
	// provider says the login met ("1", "2" as Keycloak's levels of
	// assurance; a URI for others). Its values are the provider's own;
	// map them in Config.Claims when a policy depends on them.
	ACR string `json:"acr"`
	// SessionID is the "sid" claim: the provider's session the login
	// belongs to, when it sends one (Keycloak, Entra ID, Auth0 do). The
	// login records it, so that a back-channel logout token naming this
	// sid ends exactly the local sessions of that provider session.
	SessionID string `json:"sid"`
	// AuthorizedParty is the "azp" claim: the client the token was
	// issued to, checked against the client id.
	AuthorizedParty string `json:"azp"`

	token *gooidc.IDToken
	raw   string
}

// Has reports whether name is one of c's Groups or Roles: the usual test
// for staff ("staff" in Config.Claims: IsStaff: c.Has("staff")).
func (c *Claims) Has(name string) bool {
	return slices.Contains(c.Groups, name) || slices.Contains(c.Roles, name)
}

// Decode unmarshals the ID token's whole payload into v (a pointer to a
// struct with json tags), for claims that [Claims] does not name.
func (c *Claims) Decode(v any) error {
	if c.token == nil {
		return errors.New("oidc: Claims.Decode: no ID token (the Claims were not made by Login)")
	}
	return c.token.Claims(v)
}

// Reason names why a login was refused: the "reason" field of the
// oidc.refused event. The values are stable.
type Reason string

// The reasons of a refused login.
const (
	// ReasonProviderError: the provider answered with an error
	// (access_denied when the user declined or may not use the
	// application, login_required, …), in Refusal.ProviderError.
	ReasonProviderError Reason = "provider_error"
	// ReasonUnknownState: the state names no flow of this session: a
	// replayed callback, a forged one, or one from another browser.
	ReasonUnknownState Reason = "unknown_state"
	// ReasonFlowExpired: the callback came after Config.FlowTTL.
	ReasonFlowExpired Reason = "flow_expired"
	// ReasonBadResponse: the callback carries neither a code nor an error.
	ReasonBadResponse Reason = "bad_response"
	// ReasonExchangeFailed: the token endpoint refused the code (used,
	// expired, wrong PKCE verifier) or could not be reached.
	ReasonExchangeFailed Reason = "exchange_failed"
	// ReasonWrongIssuer: the response or the ID token names another issuer.
	ReasonWrongIssuer Reason = "wrong_issuer"
	// ReasonWrongAudience: the ID token was not issued to this client
	// (aud or azp).
	ReasonWrongAudience Reason = "wrong_audience"
	// ReasonExpiredToken: the ID token's exp has passed.
	ReasonExpiredToken Reason = "expired_token"
	// ReasonBadSignature: no key of the provider's JWKS verifies the ID
	// token, even after fetching the keys again: an unknown kid, a forged
	// or altered token.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonWrongNonce: the ID token's nonce is not the flow's (a token
	// injected from another login).
	ReasonWrongNonce Reason = "wrong_nonce"
	// ReasonBadToken: the token response or the ID token is malformed,
	// or its at_hash does not match the access token.
	ReasonBadToken Reason = "bad_token"
	// ReasonUserRefused: Config.Claims returned an error or no active user.
	ReasonUserRefused Reason = "user_refused"
	// ReasonLoginFailed: the session could not be read or logged in.
	ReasonLoginFailed Reason = "login_failed"
)

// A Refusal is a login that [Login.Callback] refused, given to
// Config.Refused.
type Refusal struct {
	// Status is the HTTP status of the page: 400 for a callback that
	// names no flow of the session, 403 for a login refused by the
	// provider or by a check, 500 when the session failed.
	Status int
	// Reason says which check refused the login.
	Reason Reason
	// ProviderError is the provider's error code, with ReasonProviderError.
	ProviderError string
	// Err is the detail, for the log; do not show it to the user.
	Err error
}

// Message is a sentence for the user about r, without detail an attacker
// could use.
func (r *Refusal) Message() string {
	switch {
	case r.Reason == ReasonProviderError && r.ProviderError == "access_denied":
		return "The identity provider did not allow this login."
	case r.Reason == ReasonProviderError:
		return "The identity provider could not log you in."
	case r.Reason == ReasonUnknownState || r.Reason == ReasonFlowExpired:
		return "This login link was already used, has expired, or was started in another browser. Start the login again."
	case r.Reason == ReasonUserRefused:
		return "Your account at the identity provider may not use this site."
	case r.Status >= http.StatusInternalServerError:
		return "The login could not be completed. Try again later."
	}
	return "The identity provider's answer could not be verified, so you were not logged in."
}
