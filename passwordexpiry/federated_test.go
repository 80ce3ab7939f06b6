package passwordexpiry_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/passwordexpiry"
)

// TestProviderLoginExempt: a session logged in through an identity
// provider (identity.MethodFederated) is not sent to the change page, even
// when the user's record says an administrator reset the password: the
// provider owns that password, and the store is not even asked. With
// JudgeFederatedLogins, or for a password session, or for a bearer request
// of the same user, the record is obeyed as before.
func TestProviderLoginExempt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		judge    bool
		methods  string // "" for a password login; "-" for no session, a bearer token
		wantCode int
		wantLoc  string
	}{
		{"provider session", false, "fed", 200, ""},
		{"provider session that also checked several factors", false, "fed,mfa", 200, ""},
		{"provider session, JudgeFederatedLogins", true, "fed", 303, "/password/change?next=%2Faccount"},
		{"password session", false, "", 303, "/password/change?next=%2Faccount"},
		{"passkey session", false, "hwk,mfa", 303, "/password/change?next=%2Faccount"},
		{"bearer request", false, "-", 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newSite(t, func(c *passwordexpiry.Config) { c.JudgeFederatedLogins = tc.judge })
			st.addUser("alice")
			if err := st.store.Require(context.Background(), "alice", passwordexpiry.AdminReset, st.clock.Now()); err != nil {
				t.Fatal(err)
			}
			var w *httptest.ResponseRecorder
			if tc.methods == "-" {
				w = st.do("GET", "/account", "Authorization", "Bearer tok-alice", "Accept", "application/json")
			} else {
				if lw := st.do("POST", "/login?u=alice&m="+tc.methods); lw.Code != 200 {
					t.Fatalf("login: %d %s", lw.Code, lw.Body)
				}
				st.log.take()
				w = st.do("GET", "/account")
			}
			expect(t, "GET /account", w, tc.wantCode, tc.wantLoc)
			names := st.log.names()
			if tc.wantCode == 200 {
				if len(names) != 0 {
					t.Errorf("events %v; want none for an exempt provider session", names)
				}
				if n := st.store.gets.Load(); n != 0 {
					t.Errorf("the store was asked %d times for a provider session; want 0", n)
				}
			} else if len(names) != 1 || names[0] != "passwordexpiry.required" {
				t.Errorf("events %v; want passwordexpiry.required", names)
			}
		})
	}
}

// TestCheckFederated: Check tells why a provider session passed.
func TestCheckFederated(t *testing.T) {
	st := newSite(t, nil)
	alice := st.addUser("alice")
	if err := st.store.Require(context.Background(), "alice", passwordexpiry.AdminReset, st.clock.Now()); err != nil {
		t.Fatal(err)
	}
	st.do("POST", "/login?u=alice&m=fed")
	r := httptest.NewRequest("GET", "/account", nil)
	ctx, err := st.sm.Load(r.Context(), st.cookie.Value)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scheme        string
		wantFederated bool
	}{{identity.SchemeSession, true}, {identity.SchemeBearer, false}} {
		d, err := st.gate.Check(r.WithContext(identity.NewSchemeContext(ctx, alice, tc.scheme)))
		if err != nil || d.Federated != tc.wantFederated || d.Federated && d.Outcome != passwordexpiry.Pass || !d.Federated && d.Outcome != passwordexpiry.Change {
			t.Errorf("Check of a %s request: %+v, %v; want Federated %v", tc.scheme, d, err, tc.wantFederated)
		}
	}
}
