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
// on another, which ends nothing new), then the local sessions of the
// provider's session are ended.
//
// Which sessions: each login records the provider's (issuer, subject,
// sid) in its session. A token that names a sid ends exactly the local
// sessions logged in through that provider session (another browser of
// the same user, logged in through another provider session, stays); a
// token that names only a sub ends every session logged in through the
// provider as that user. A session whose ID token carried no sid is
// ended by a token that names its user's sub. Sessions logged in another
// way (a password) are not the provider's to end.
//
// How: by default, BackChannel reads every live session of the session
// manager's store (the store must list them: scs.IterableStore or
// scs.IterableCtxStore, as scs's memstore, sqlite3store, postgresstore,
// pgxstore and redisstore do) and deletes the matching ones. That costs
// one read of every live session per logout: see docs/performance.md.
// Config.BackChannelLogout replaces it, for a site with an index of its
// own or a store that cannot list. With neither, BackChannel answers 501
// and logs why (reason no_session_list), naming the fix.
//
// It answers 200 when the sessions were ended (also when there were
// none), 400 with the reason otherwise (as the specification asks), 405
// to other methods; never cached. Register its absolute URL at the
// provider as the back-channel logout URI. It needs no session: the
// provider calls it, not the browser.
func (l *Login) BackChannel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if store := l.sessions.Manager().Store; l.backChannel == nil && !canList(store) {
		l.refuseLogout(w, r, http.StatusNotImplemented, "no_session_list", errNoSessionList{store})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		l.refuseLogout(w, r, http.StatusBadRequest, "no_token", errors.New("the request has no logout_token"))
		return
	}
	tok, err := l.verifier.VerifyLogout(r.Context(), raw)
	if err != nil {
		l.refuseLogout(w, r, http.StatusBadRequest, "bad_token", err)
		return
	}
	if !l.seen.add(tok.TokenID, tok.Expiry, l.now()) {
		l.refuseLogout(w, r, http.StatusBadRequest, "replayed", errors.New("the logout token's jti was seen before"))
		return
	}
	fields := []zap.Field{zap.String("issuer", tok.Issuer), seclog.String("subject", tok.Subject), seclog.String("sid", tok.SessionID)}
	if l.backChannel != nil {
		err = l.backChannel(r.Context(), tok.Issuer, tok.Subject, tok.SessionID)
	} else {
		var ended int
		ended, err = l.endSessions(r.Context(), tok.Issuer, tok.Subject, tok.SessionID)
		fields = append(fields, zap.Int("ended", ended))
	}
	if err != nil {
		l.refuseLogout(w, r, http.StatusBadRequest, "logout_failed", err)
		return
	}
	l.log.Log(r, seclog.OIDCBackChannelLogout, fields...)
	w.WriteHeader(http.StatusOK)
}

// refuseLogout logs a refused back-channel logout and answers it with
// status and OAuth's error code, as the specification suggests.
func (l *Login) refuseLogout(w http.ResponseWriter, r *http.Request, status int, reason string, err error) {
	l.log.Log(r, seclog.OIDCLogoutTokenRefused, zap.String("reason", reason), seclog.String("error", err.Error()))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	code := "invalid_request"
	if status >= http.StatusInternalServerError {
		code = "server_error"
	}
	w.Write([]byte(`{"error":"` + code + `","error_description":"` + reason + `"}` + "\n"))
}
