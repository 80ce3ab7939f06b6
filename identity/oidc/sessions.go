package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark/identity"
)

// providerSessionKey is the session key of the provider's session the
// login belongs to (issuer, subject, sid), bound to the login time: a
// back-channel logout token finds the local sessions to end by it.
const providerSessionKey = "bulwark.oidc.provider_session"

// providerSession is the value of providerSessionKey.
type providerSession struct {
	Issuer  string `json:"i"`
	Subject string `json:"s"`
	SID     string `json:"d,omitempty"`
	LoginAt int64  `json:"l"` // identity.SessionLoginKey of the login
}

// putProviderSession records, in the session just logged in, the
// provider's session of claims c.
func (l *Login) putProviderSession(ctx context.Context, c *Claims) {
	sm := l.sessions.Manager()
	b, _ := json.Marshal(providerSession{Issuer: c.Issuer, Subject: c.Subject, SID: c.SessionID, LoginAt: sm.GetInt64(ctx, identity.SessionLoginKey)}) // strings and an int64: it cannot fail
	sm.Put(ctx, providerSessionKey, string(b))
}

// errNoSessionList is the answer of [Login.BackChannel] when neither
// Config.BackChannelLogout nor the session store can find the sessions.
type errNoSessionList struct{ store scs.Store }

func (e errNoSessionList) Error() string {
	return fmt.Sprintf("oidc: the session store %T cannot list its sessions (scs.IterableStore) to find the provider's: give Config.BackChannelLogout, or use a store that can (memstore, sqlite3store, postgresstore, pgxstore, redisstore)", e.store)
}

// listSessions returns every live session of store, by store key (the
// token, or its hash with HashTokenInStore), or errNoSessionList.
func listSessions(ctx context.Context, store scs.Store) (map[string][]byte, error) {
	switch s := store.(type) {
	case scs.IterableCtxStore:
		return s.AllCtx(ctx)
	case scs.IterableStore:
		return s.All()
	}
	return nil, errNoSessionList{store}
}

// canList reports whether store can list its sessions.
func canList(store scs.Store) bool {
	switch store.(type) {
	case scs.IterableCtxStore, scs.IterableStore:
		return true
	}
	return false
}

// endSessions is the default back-channel logout: it reads every live
// session of the store and deletes those logged in through the provider
// session the logout token names (see [providerSession.matches]). It
// returns how many it ended. Sessions are deleted by their store key,
// not through scs's Destroy: with HashTokenInStore, Destroy would hash
// the key again and delete nothing.
func (l *Login) endSessions(ctx context.Context, issuer, subject, sid string) (int, error) {
	sm := l.sessions.Manager()
	all, err := listSessions(ctx, sm.Store)
	if err != nil {
		// A wrapper (sessionexpiry's) lists only when its store does.
		return 0, fmt.Errorf("oidc: read the live sessions (a store that cannot list them needs Config.BackChannelLogout): %w", err)
	}
	needle := prefilter(sm, subject, sid)
	ended := 0
	var errs []error
	for key, b := range all {
		if needle != nil && !bytes.Contains(b, needle) {
			continue // cannot be one of the provider session's: not decoded
		}
		if !loggedInBy(sm, b, issuer, subject, sid) {
			continue
		}
		if err := deleteSession(ctx, sm.Store, key); err != nil {
			errs = append(errs, err)
			continue
		}
		ended++
	}
	if len(errs) > 0 {
		return ended, fmt.Errorf("oidc: end the sessions of the provider's session: %w", errors.Join(errs...))
	}
	return ended, nil
}

// prefilter returns bytes that every encoded session logged in through
// the provider session (subject, sid) holds, or nil when there are none
// to rely on. Decoding a session costs some 20µs (scs's gob codec makes
// a decoder per session), reading its bytes well under one: with scs's
// GobCodec, which writes a string's bytes as they are, a session
// recorded for subject holds subject's bytes inside the JSON of
// providerSessionKey, unless JSON escaped some of them. Another codec
// (one that encrypts or compresses) gives no such promise: every session
// is decoded then.
func prefilter(sm *scs.SessionManager, subject, sid string) []byte {
	if _, ok := sm.Codec.(scs.GobCodec); !ok {
		return nil
	}
	v := subject
	if v == "" {
		v = sid // a token with neither does not pass VerifyLogout
	}
	if v == "" || !verbatimInJSON(v) {
		return nil
	}
	return []byte(v)
}

// verbatimInJSON reports whether encoding/json writes s's bytes as they
// are inside a string (with HTML escaping: no <, > or &).
func verbatimInJSON(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// loggedInBy reports whether the encoded session b is logged in through
// the provider session (issuer, subject, sid). A session that cannot be
// decoded is no session scs would load, and is left alone.
func loggedInBy(sm *scs.SessionManager, b []byte, issuer, subject, sid string) bool {
	_, values, err := sm.Codec.Decode(b)
	if err != nil {
		return false
	}
	v, _ := values[providerSessionKey].(string)
	if v == "" {
		return false // most sessions: not logged in through a provider
	}
	var ps providerSession
	if json.Unmarshal([]byte(v), &ps) != nil {
		return false
	}
	user, _ := values[identity.SessionUserKey].(string)
	loginAt, _ := values[identity.SessionLoginKey].(int64)
	if user == "" || loginAt != ps.LoginAt {
		return false // logged out, or logged in again another way since
	}
	return ps.matches(issuer, subject, sid)
}

// matches reports whether a logout token of (issuer, subject, sid) is
// about ps (Back-Channel Logout 1.0, 2.7): the token's sid names one
// provider session; a token with a sub and no sid names all of the
// user's. When the ID token carried no sid, the session cannot be told
// from the user's others, and a token naming the user's sub ends it:
// more than asked, never less.
func (ps providerSession) matches(issuer, subject, sid string) bool {
	switch {
	case ps.Issuer != issuer:
		return false
	case subject != "" && ps.Subject != subject:
		return false
	case sid == "":
		return true // subject != "": VerifyLogout requires one of them
	case ps.SID != "":
		return ps.SID == sid
	}
	return subject != ""
}

// deleteSession deletes the session of store key from store.
func deleteSession(ctx context.Context, store scs.Store, key string) error {
	if s, ok := store.(scs.CtxStore); ok {
		return s.DeleteCtx(ctx, key)
	}
	return store.Delete(key)
}
