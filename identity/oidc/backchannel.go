package oidc

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark/seclog"
)

// maxSeenLogoutTokens bounds the jti cache of [Login.BackChannel]: past
// it, the entry that expires first goes, so a flood of valid tokens (only
// the provider can sign one) cannot grow memory.
const maxSeenLogoutTokens = 10000

// seenTokens remembers the jti of each logout token until it expires, so
// that a replayed token is refused.
type seenTokens struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// add records jti until exp and reports whether it was new.
func (s *seenTokens) add(jti string, exp, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]time.Time{}
	}
	if e, ok := s.seen[jti]; ok && now.Before(e) {
		return false
	}
	if len(s.seen) >= maxSeenLogoutTokens {
		first := ""
		for k, e := range s.seen {
			if !now.Before(e) {
				delete(s.seen, k)
			} else if first == "" || e.Before(s.seen[first]) {
				first = k
			}
		}
		if len(s.seen) >= maxSeenLogoutTokens {
			delete(s.seen, first)
		}
	}
	s.seen[jti] = exp
	return true
}

// BackChannel serves the provider's back-channel logout requests
// (OpenID Connect Back-Channel Logout 1.0): a POST whose form carries a
// logout_token. The token is verified by go-oidc (signature with the
// provider's keys, issuer, audience, expiry, the back-channel-logout
// event, a jti, a sub or a sid, no nonce: an ID token is not a logout
// token), its jti must not have been seen before (the cache is per
// process: on several instances a replay can log the user out once more
// on another, which ends nothing new), then Config.BackChannelLogout ends
// the user's sessions. It answers 200 when the sessions were ended, 400
// with the reason otherwise (as the specification asks), 405 to other
// methods, 404 when BackChannelLogout is not configured; never cached.
// Register its absolute URL at the provider as the back-channel logout
// URI. It needs no session: the provider calls it, not the browser.
func (l *Login) BackChannel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if l.backChannel == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		l.refuseLogout(w, r, "no_token", errors.New("the request has no logout_token"))
		return
	}
	tok, err := l.verifier.VerifyLogout(r.Context(), raw)
	if err != nil {
		l.refuseLogout(w, r, "bad_token", err)
		return
	}
	if !l.seen.add(tok.TokenID, tok.Expiry, l.now()) {
		l.refuseLogout(w, r, "replayed", errors.New("the logout token's jti was seen before"))
		return
	}
	if err := l.backChannel(r.Context(), tok.Issuer, tok.Subject, tok.SessionID); err != nil {
		l.refuseLogout(w, r, "logout_failed", err)
		return
	}
	l.log.Log(r, seclog.OIDCBackChannelLogout, zap.String("issuer", tok.Issuer), seclog.String("subject", tok.Subject), seclog.String("sid", tok.SessionID))
	w.WriteHeader(http.StatusOK)
}

func (l *Login) refuseLogout(w http.ResponseWriter, r *http.Request, reason string, err error) {
	l.log.Log(r, seclog.OIDCLogoutTokenRefused, zap.String("reason", reason), seclog.String("error", err.Error()))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	// The error codes are OAuth's, as the specification suggests.
	w.Write([]byte(`{"error":"invalid_request","error_description":"` + reason + `"}` + "\n"))
}
