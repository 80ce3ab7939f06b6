// Package oidc logs users in through an external OpenID Connect provider
// (Auth0, Keycloak, Google, Entra ID, zitadel…) with the authorization code
// flow, on top of [identity.Sessions].
//
// [New] discovers the provider once (github.com/coreos/go-oidc/v3) and
// returns a [Login] with two handlers:
//
//   - [Login.Start] sends the browser to the provider. It makes a fresh
//     state, nonce and PKCE verifier (S256) and keeps them, with the
//     judged "next" target, in the browser's pre-login session: the flow
//     is bound to that session, lives [DefaultFlowTTL] and is single-use.
//   - [Login.Callback] ends the flow: the state must name a flow of this
//     session (it is removed at once, so a replayed callback is refused),
//     the code is exchanged with the PKCE verifier, the ID token is
//     verified (issuer, audience, expiry, signature with the provider's
//     JWKS), its nonce must be the flow's, its at_hash must match the
//     access token; then Config.Claims maps the claims to the
//     application's user, [identity.Sessions.Login] renews the session
//     token and stores the user, logged in by [identity.MethodFederated]
//     (and [identity.MethodMFA] when Config.TrustProviderMFA believes the
//     ID token's amr "mfa"), and the browser goes to "next".
//
// A provider login is not the site's password: the mfa gate asks the
// application's second factor after it whenever mfa.Config.Required says
// so (unless TrustProviderMFA counts the provider's), and passwordexpiry
// lets it pass unjudged (unless its JudgeFederatedLogins).
//
// Every refusal (an error from the provider such as access_denied, an
// unknown or replayed state, a wrong nonce, an expired token, a wrong
// audience, a signature by an unknown key) ends in a refusal page and an
// oidc.refused security event; the session is never logged in half way.
//
// The provider's signing keys are fetched once and cached; they are
// fetched again only when a token names a key the cache does not hold (key
// rotation), at most once per [KeyRefetchInterval]: N logins cost one JWKS
// request, not N, and made-up key ids posted to the public back-channel
// route cannot make the site hammer the provider.
//
// [Login.Logout] logs the user out here and at the provider
// (RP-Initiated Logout 1.0: the end_session_endpoint with id_token_hint
// and post_logout_redirect_uri; Auth0's /v2/logout with Auth0Logout).
//
// [Login.BackChannel] receives the provider's back-channel logout tokens
// (Back-Channel Logout 1.0), verified by go-oidc, each jti used once, and
// ends the local sessions of the provider session the token names (sid),
// or of its user (sub alone): each login records the provider's
// (issuer, subject, sid) in its session, and by default BackChannel
// reads the store's live sessions to find them (Config.BackChannelLogout
// replaces that).
//
// Not yet: response_mode=form_post, and an index from sid to sessions (the
// default back-channel logout reads every live session). docs/identity.md
// tracks them.
package oidc
