package oidc_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/internal/oidcop"
)

// A provider login is recorded as federated (identity.MethodFederated),
// never as the site's own password; it is recorded as multi-factor too
// (identity.MethodMFA, which the mfa gate counts as its second factor)
// only when the application trusts the provider's word and the ID
// token's amr says "mfa". The claims reach Config.Claims.
func TestLoginMethods(t *testing.T) {
	for _, tc := range []struct {
		name        string
		trust       bool
		amr         []string // nil: the provider's own ("pwd")
		acr         string
		wantMethods string
		wantAMR     []string
	}{
		{"the provider's password login", false, nil, "", "fed", []string{"pwd"}},
		{"amr mfa, not trusted", false, []string{"pwd", "mfa"}, "", "fed", []string{"pwd", "mfa"}},
		{"amr mfa, trusted", true, []string{"pwd", "mfa"}, "", "fed mfa", []string{"pwd", "mfa"}},
		{"Auth0's amr, trusted", true, []string{"mfa"}, "", "fed mfa", []string{"mfa"}},
		{"two factors named but no mfa, trusted", true, []string{"pwd", "otp"}, "", "fed", []string{"pwd", "otp"}},
		{"no amr, trusted", true, []string{}, "", "fed", nil},
		{"acr alone is not enough, trusted", true, []string{}, "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "fed", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *oidc.Claims
			s := newSite(t, func(s *site, c *oidc.Config) {
				c.TrustProviderMFA = tc.trust
				claims := c.Claims
				c.Claims = func(ctx context.Context, cl *oidc.Claims) (identity.User, error) {
					got = cl
					return claims(ctx, cl)
				}
			})
			if tc.amr != nil || tc.acr != "" {
				s.op.Tamper(func(c map[string]any) {
					if len(tc.amr) == 0 {
						delete(c, "amr")
					} else {
						c["amr"] = tc.amr
					}
					if tc.acr != "" {
						c["acr"] = tc.acr
					}
				})
			}
			b := s.browser()
			if status, body, _ := s.loginAs(b, oidcop.PlainUsername, "/"); status != http.StatusOK || body != "user="+s.op.Issuer+"|"+oidcop.PlainSubject+" staff=no" {
				t.Fatalf("login: %d %q", status, body)
			}
			if _, methods, _ := s.get(b, s.srv.URL+"/methods"); methods != tc.wantMethods {
				t.Errorf("login methods %q; want %q", methods, tc.wantMethods)
			}
			if got == nil || !slices.Equal(got.AMR, tc.wantAMR) || got.ACR != tc.acr {
				t.Errorf("Claims %+v; want amr %q, acr %q", got, tc.wantAMR, tc.acr)
			}
			ev := s.rec.Named("oidc.login")
			wantMFA := tc.wantMethods == "fed mfa"
			if len(ev) != 1 || ev[0].Fields["provider_mfa"] != wantMFA {
				t.Errorf("oidc.login events %+v; want provider_mfa=%v", ev, wantMFA)
			}
		})
	}
}
