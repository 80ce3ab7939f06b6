package oidc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/internal/oidcop"
)

// logoutToken returns a logout token of the site's provider naming sub
// and sid ("" leaves one out), with a new jti.
func (s *site) logoutToken(sub, sid string) string {
	c := map[string]any{
		"iss": s.op.Issuer, "aud": s.op.ClientID,
		"iat": time.Now().Unix(), "exp": time.Now().Add(2 * time.Minute).Unix(),
		"jti": rand.Text(), "events": map[string]any{logoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return s.op.Sign(s.t, c)
}

// backChannel posts a logout token and returns the status.
func (s *site) backChannel(tok string) int {
	s.t.Helper()
	resp, err := http.PostForm(s.srv.URL+"/backchannel", url.Values{"logout_token": {tok}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// loginWithSID logs a new browser in at the provider as username, the ID
// token carrying sid as the provider's session ("" for none).
func (s *site) loginWithSID(username, sid string) *browser {
	s.t.Helper()
	s.op.Tamper(func(c map[string]any) {
		delete(c, "sid")
		if sid != "" {
			c["sid"] = sid
		}
	})
	defer s.op.Tamper(nil)
	b := s.browser()
	if status, body, _ := s.loginAs(b, username, "/"); status != http.StatusOK || !strings.HasPrefix(body, "user="+s.op.Issuer+"|") {
		s.t.Fatalf("login of %s: %d %q", username, status, body)
	}
	return b
}

// loggedIn reports whether b's session is still logged in.
func (s *site) loggedIn(b *browser) bool {
	s.t.Helper()
	_, body, _ := s.get(b, s.srv.URL+"/")
	return strings.HasPrefix(body, "user="+s.op.Issuer+"|")
}

// A logout token that names a sid ends the local sessions of that
// provider session only; one that names only the sub ends all of the
// user's provider sessions; one that names only a sid ends that one. A
// session whose ID token had no sid is ended by its user's sub, not by
// another session's sid. The default reads the store's sessions (scs's
// memstore), with or without HashTokenInStore (where scs's Destroy would
// hash the listed key again and end nothing).
func TestBackChannelEndsTheProviderSession(t *testing.T) {
	for _, hashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("HashTokenInStore=%v", hashed), func(t *testing.T) {
			s := newSite(t, func(s *site, _ *oidc.Config) { s.sm.HashTokenInStore = hashed })
			a := s.loginWithSID(oidcop.PlainUsername, "op-session-a")
			b := s.loginWithSID(oidcop.PlainUsername, "op-session-b")
			admin := s.loginWithSID(s.op.AdminUsername(), "op-session-admin")
			step := func(name, sub, sid string, wantEnded int, wantIn, wantOut []*browser) {
				t.Helper()
				s.rec.Take()
				if got := s.backChannel(s.logoutToken(sub, sid)); got != http.StatusOK {
					t.Fatalf("%s: %d; want 200", name, got)
				}
				ev := s.rec.Named("oidc.backchannel_logout")
				if len(ev) != 1 || ev[0].Field("ended") != fmt.Sprint(wantEnded) || ev[0].Field("sid") != sid || ev[0].Field("subject") != sub {
					t.Errorf("%s: events %+v; want one with ended=%d", name, ev, wantEnded)
				}
				for i, br := range wantIn {
					if !s.loggedIn(br) {
						t.Errorf("%s: browser %d of those that should stay was logged out", name, i)
					}
				}
				for i, br := range wantOut {
					if s.loggedIn(br) {
						t.Errorf("%s: browser %d of those that should go is still logged in", name, i)
					}
				}
			}
			step("sid of the first browser", oidcop.PlainSubject, "op-session-a", 1, []*browser{b, admin}, []*browser{a})
			a = s.loginWithSID(oidcop.PlainUsername, "op-session-a2")
			step("an unknown sid", oidcop.PlainSubject, "op-session-gone", 0, []*browser{a, b, admin}, nil)
			step("the user's sub alone", oidcop.PlainSubject, "", 2, []*browser{admin}, []*browser{a, b})
			step("a sid alone", "", "op-session-admin", 1, nil, []*browser{admin})

			noSID := s.loginWithSID(oidcop.PlainUsername, "")
			step("another session's sid alone", "", "op-session-b", 0, []*browser{noSID}, nil)
			step("the user's sub with another sid", oidcop.PlainSubject, "op-session-b", 1, nil, []*browser{noSID})

			tok := s.logoutToken(oidcop.PlainSubject, "")
			s.backChannel(tok)
			s.rec.Take()
			if got := s.backChannel(tok); got != http.StatusBadRequest {
				t.Errorf("a replayed logout token: %d; want 400", got)
			}
			if ev := s.rec.Named("oidc.logout_token_refused"); len(ev) != 1 || ev[0].Field("reason") != "replayed" {
				t.Errorf("events %+v; want oidc.logout_token_refused, replayed", ev)
			}
		})
	}
}

// plainStore is an scs store that cannot list its sessions, as the
// demo's own store.
type plainStore struct{ scs.Store }

// wrapperStore lists its sessions only when the store it wraps can, as
// sessionexpiry's wrapper.
type wrapperStore struct{ scs.Store }

func (w wrapperStore) All() (map[string][]byte, error) {
	return nil, errors.New("the session store does not support iteration")
}

// On a store that cannot list its sessions, the default back-channel
// logout answers 501 and says what to do; Config.BackChannelLogout
// serves then.
func TestBackChannelStoreCannotList(t *testing.T) {
	s := newSite(t, func(s *site, _ *oidc.Config) { s.sm.Store = plainStore{memstore.New()} })
	b := s.loginWithSID(oidcop.PlainUsername, "op-session-a")
	s.rec.Take()
	if got := s.backChannel(s.logoutToken(oidcop.PlainSubject, "op-session-a")); got != http.StatusNotImplemented {
		t.Errorf("got %d; want 501", got)
	}
	ev := s.rec.Named("oidc.logout_token_refused")
	if len(ev) != 1 || ev[0].Field("reason") != "no_session_list" || !strings.Contains(ev[0].Field("error"), "oidc_test.plainStore cannot list its sessions") || !strings.Contains(ev[0].Field("error"), "give Config.BackChannelLogout") {
		t.Errorf("events %+v; want no_session_list naming the store and the fix", ev)
	}
	if !s.loggedIn(b) {
		t.Error("the session ended")
	}

	// A store that lists only when the one it wraps does
	// (sessionexpiry's) fails when asked: a 400, and the fix named.
	s = newSite(t, func(s *site, _ *oidc.Config) { s.sm.Store = wrapperStore{memstore.New()} })
	b = s.loginWithSID(oidcop.PlainUsername, "op-session-a")
	s.rec.Take()
	if got := s.backChannel(s.logoutToken(oidcop.PlainSubject, "op-session-a")); got != http.StatusBadRequest {
		t.Errorf("a wrapper that cannot list: %d; want 400", got)
	}
	if ev := s.rec.Named("oidc.logout_token_refused"); len(ev) != 1 || ev[0].Field("reason") != "logout_failed" || !strings.Contains(ev[0].Field("error"), "needs Config.BackChannelLogout") {
		t.Errorf("events %+v; want logout_failed naming the fix", ev)
	}

	var got []string
	s = newSite(t, func(s *site, c *oidc.Config) {
		s.sm.Store = plainStore{memstore.New()}
		c.BackChannelLogout = func(_ context.Context, iss, sub, sid string) error {
			got = append(got, sub+"|"+sid)
			return nil
		}
	})
	if status := s.backChannel(s.logoutToken(oidcop.PlainSubject, "op-session-a")); status != http.StatusOK || len(got) != 1 || got[0] != oidcop.PlainSubject+"|op-session-a" {
		t.Errorf("with BackChannelLogout: %d, called with %v", status, got)
	}
}

// xorCodec is an scs codec whose bytes do not hold the session's strings
// as they are, as an encrypting codec's.
type xorCodec struct{ scs.GobCodec }

func (c xorCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b, err := c.GobCodec.Encode(deadline, values)
	for i := range b {
		b[i] ^= 0x5a
	}
	return b, err
}

func (c xorCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	plain := make([]byte, len(b))
	for i := range b {
		plain[i] = b[i] ^ 0x5a
	}
	return c.GobCodec.Decode(plain)
}

// The default reads a session's bytes before decoding it only when they
// are sure to hold the subject or sid: a subject that JSON escapes, or a
// codec that does not keep strings as they are, still ends the session.
func TestBackChannelOddSessions(t *testing.T) {
	for _, tc := range []struct {
		name, subject string
		codec         scs.Codec
	}{
		{"a subject JSON escapes", "o\"dd<&>\u2028\\sub", nil},
		{"a codec that hides the strings", "plain-subject", xorCodec{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, func(s *site, c *oidc.Config) {
				if tc.codec != nil {
					s.sm.Codec = tc.codec
				}
				// The local id does not hold the subject: only the
				// provider session's record in the session does.
				c.Claims = func(context.Context, *oidc.Claims) (identity.User, error) {
					u := identity.Basic{UserID: "local-1", IsActive: true}
					s.mu.Lock()
					defer s.mu.Unlock()
					s.users[u.UserID] = u
					return u, nil
				}
			})
			for _, sid := range []string{"op-1", "op-2"} {
				s.op.Tamper(func(c map[string]any) { c["sub"], c["sid"] = tc.subject, sid })
				b := s.browser()
				if status, body, _ := s.loginAs(b, oidcop.PlainUsername, "/"); status != http.StatusOK || body != "user=local-1 staff=no" {
					t.Fatalf("login: %d %q", status, body)
				}
				s.rec.Take()
				if got := s.backChannel(s.logoutToken(tc.subject, sid)); got != http.StatusOK {
					t.Fatalf("logout: %d", got)
				}
				if ev := s.rec.Named("oidc.backchannel_logout"); len(ev) != 1 || ev[0].Field("ended") != "1" {
					t.Errorf("sid %s: events %+v; want ended=1", sid, ev)
				}
				if _, body, _ := s.get(b, s.srv.URL+"/"); body != "user= staff=no" {
					t.Errorf("sid %s: the session says %q after the logout", sid, body)
				}
			}
		})
	}
}

// A session the provider logged in, then logged in again another way (a
// password: the record of the provider session is kept, but bound to
// the earlier login), is not the provider's to end any more.
func TestBackChannelLeavesLaterLogins(t *testing.T) {
	s := newSite(t, func(s *site, _ *oidc.Config) {
		s.mux.HandleFunc("POST /password-login", func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			u := s.users[s.sessions.UserID(r.Context())]
			s.mu.Unlock()
			if err := s.sessions.Login(r, u); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	})
	again := s.loginWithSID(oidcop.PlainUsername, "op-session-a")
	if status, _, _ := s.post(again, s.srv.URL+"/password-login", nil); status != http.StatusOK {
		t.Fatalf("password login: %d", status)
	}
	if _, methods, _ := s.get(again, s.srv.URL+"/methods"); methods != "pwd" {
		t.Fatalf("methods %q after the password login; want pwd", methods)
	}
	provider := s.loginWithSID(oidcop.PlainUsername, "op-session-b")
	s.rec.Take()
	if got := s.backChannel(s.logoutToken(oidcop.PlainSubject, "")); got != http.StatusOK {
		t.Fatalf("logout: %d", got)
	}
	if ev := s.rec.Named("oidc.backchannel_logout"); len(ev) != 1 || ev[0].Field("ended") != "1" {
		t.Errorf("events %+v; want ended=1", ev)
	}
	if !s.loggedIn(again) || s.loggedIn(provider) {
		t.Errorf("logged in after the logout: the password session %v (want true), the provider's %v (want false)", s.loggedIn(again), s.loggedIn(provider))
	}
}
