package testenv

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// VirtualAuthenticator is the action that enables WebAuthn in a tab of
// [Browser] and adds a DevTools virtual authenticator: a CTAP 2.1 platform
// authenticator (transport "internal") with resident keys and user
// verification, whose user is verified and present without a prompt. It
// answers the page's navigator.credentials calls from then on, and gives
// the authenticator's id (for WebAuthn.getCredentials).
//
// AutomaticPresenceSimulation and IsUserVerified are set explicitly: the
// Go struct sends false for an unset field, and presence checks would
// then never resolve.
func VirtualAuthenticator() chromedp.Action[webauthn.AuthenticatorID] {
	return func(ctx context.Context, tg *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport:      webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true,
		}})
		if err != nil {
			return "", err
		}
		return res.AuthenticatorID, nil
	}
}
