package sessionexpiry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// tombPrefix starts the store key of a tombstone. ':' never occurs in a
// token scs makes (raw URL-safe base64), so no cookie can name a tombstone.
const tombPrefix = "bulwark-tomb:"

// tombMagic starts a tombstone's value; the destruction time follows, as
// 8 bytes of Unix nanoseconds, big-endian, then, since renewals are told
// apart, one byte of kind (kindDestroyed or kindRenewed) and the nonce of
// the request that wrote it (empty when none).
const tombMagic = "bulwark-tomb\x00"

// The kinds of a tombstone. A tombstone without a kind byte is
// kindDestroyed.
const (
	kindDestroyed = 'D' // a logout, an expiry, or a renewal not made through identity.RenewToken
	kindRenewed   = 'R' // identity.RenewToken replaced the token
)

// nextPrefix starts the store key that names the token a renewal replaced
// the key's token with (its successor); its value is the successor's
// store key.
const nextPrefix = tombPrefix + "next:"

// maxChain bounds how many successors a logout follows (a token renewed,
// its successor renewed again, ...), against a loop in a corrupt store.
const maxChain = 8

// tokenLen is the length of every token scs makes (32 random bytes) and
// of its SHA-256 form (HashTokenInStore), in raw URL-safe base64.
const tokenLen = 43

// guard is the scs.Store that sessionexpiry installs on the session
// manager, around the application's store. It keeps a destroyed session
// destroyed:
//
//   - Delete (scs's Destroy, RenewToken, MergeSession) first writes a
//     tombstone for the token, in the same store (so every instance sees
//     it), then deletes the session;
//   - Commit saves, then looks for a tombstone of the token: when there is
//     one, the session was destroyed while this request was in flight, and
//     the copy just saved is deleted again.
//
// Because Delete writes the tombstone before deleting and Commit reads it
// after saving, whatever the interleaving the token ends deleted: if the
// save came after the delete, the tombstone was there before the save and
// the read after it sees it. The cost is one extra write per Delete and
// one extra read per Commit; Find, on every request, is unchanged. Find
// also refuses, without asking the store, a token scs could not have made.
//
// A renewal replaces the token, so the tombstone of the new one says
// nothing about a logout of the old one. The middleware therefore
// remembers, for each request of a stored session, the token it was loaded
// with (its origin, see [request]); a token that replaces it (a successor)
// is settled before the response is written or, when nothing is written,
// when the handler returns, which is before scs's LoadAndSave saves it (an
// application that saves it earlier with the manager's Commit has it
// buried then):
//
//   - when the request deletes its origin, it first reads the origin's
//     tombstone: a logout there already (kindDestroyed) dooms the
//     successor;
//   - before the successor is first saved, its name is written under the
//     origin (nextPrefix), then the origin's tombstone is read again: a
//     logout's tombstone written by another request since dooms it;
//   - a logout (any Delete that is not a renewal through
//     identity.RenewToken) reads, after its tombstone, the successor named
//     under the token it deleted, and buries it too.
//
// The last two are a Dekker pair: the renewal writes the successor's name
// then reads the tombstone; the logout writes the tombstone then reads the
// name; whatever the interleaving one of them sees the other. A doomed
// successor is destroyed (its cookie expired) and logged as
// sessionexpiry.renewal_blocked. A renewal made through
// identity.RenewToken leaves a kindRenewed tombstone, which dooms nobody:
// two renewals of one session racing (a form sent twice) both stand.
//
// What renewals add: a request deleting the token it loaded reads its
// tombstone first (one read), a logout reads the successor's name (one
// read), a renewal writes that name and reads the tombstone again (one
// write, one read). Requests that renew nothing pay nothing in the store.
// One interleaving is not covered: a logout's tombstone written between
// the renewal's first read and its own tombstone write (two consecutive
// store calls of one Delete, which no client can hold apart) is
// overwritten, and when the logout also reads the successor's name before
// the renewal writes it, the renewal's new token stands; the store
// interface has no compare-and-set to close it.
type guard struct {
	inner    scs.Store
	ttl      time.Duration
	now      func() time.Time
	failOpen bool
	log      *seclog.Logger
}

// Find implements scs.Store.
func (g *guard) Find(token string) ([]byte, bool, error) {
	return g.FindCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore.
func (g *guard) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if !wellFormed(token) {
		return nil, false, nil
	}
	b, found, err := g.find(ctx, token)
	if err != nil || !found || strings.HasPrefix(string(b), tombMagic) {
		return nil, false, err
	}
	return b, true, nil
}

// Commit implements scs.Store.
func (g *guard) Commit(token string, b []byte, expiry time.Time) error {
	return g.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx implements scs.CtxStore.
func (g *guard) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if err := g.commit(ctx, token, b, expiry); err != nil {
		return err
	}
	_, dead, err := g.tombstone(ctx, token)
	if err != nil {
		if g.failOpen {
			g.log.Log(nil, seclog.SessionExpiryStoreError, zap.String("op", "commit-check"), seclog.String("error", err.Error()), zap.Bool("fail_open", true))
			return nil
		}
		// Unknown whether the session was destroyed meanwhile: do not
		// leave a copy that might be a resurrected one.
		return errors.Join(err, g.del(ctx, token))
	}
	if !dead {
		return nil
	}
	g.log.Log(nil, seclog.SessionExpiryResurrectionBlocked, zap.String("session", sessionID(token)))
	return g.del(ctx, token)
}

// Delete implements scs.Store.
func (g *guard) Delete(token string) error {
	return g.DeleteCtx(context.Background(), token)
}

// DeleteCtx implements scs.CtxStore: the tombstone first, then the
// session. The session is deleted even when the tombstone cannot be
// written; the error is returned either way. When the token is the origin
// of the request deleting it, its tombstone is read first (a logout there
// dooms the request's successor); when the delete is not a renewal, the
// token's successors are buried too.
func (g *guard) DeleteCtx(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil // never stored: nothing to delete, nothing to bury
	}
	kind := byte(kindDestroyed)
	if identity.Renewal(ctx) {
		kind = kindRenewed
	}
	nonce := ""
	if st := requestFrom(ctx); st != nil && st.origin == token {
		nonce = st.own()
		s, err := g.stone(ctx, token)
		if (err != nil && !g.failOpen) || (s.found && s.kind == kindDestroyed) {
			st.doom()
		}
	}
	errTomb := g.bury(ctx, token, kind, nonce)
	errDel := g.del(ctx, token)
	var errNext error
	if kind == kindDestroyed {
		errNext = g.buryNext(ctx, token)
	}
	return errors.Join(errTomb, errDel, errNext)
}

// bury writes the tombstone of token.
func (g *guard) bury(ctx context.Context, token string, kind byte, nonce string) error {
	stone := make([]byte, 0, len(tombMagic)+9+len(nonce))
	stone = append(stone, tombMagic...)
	now := g.now()
	stone = binary.BigEndian.AppendUint64(stone, uint64(now.UnixNano()))
	stone = append(stone, kind)
	stone = append(stone, nonce...)
	return g.commit(ctx, tombPrefix+token, stone, now.Add(g.ttl))
}

// buryNext buries the successors of token, a renewal's new token and its
// own successors, up to maxChain.
func (g *guard) buryNext(ctx context.Context, token string) error {
	for range maxChain {
		b, found, err := g.find(ctx, nextPrefix+token)
		if err != nil || !found {
			return err
		}
		next := string(b)
		if !wellFormed(next) || next == token {
			return nil
		}
		g.log.Log(nil, seclog.SessionExpiryRenewalBlocked, zap.String("session", sessionID(next)), zap.String("replaced", sessionID(token)))
		if err := errors.Join(g.bury(ctx, next, kindDestroyed, ""), g.del(ctx, next)); err != nil {
			return err
		}
		token = next
	}
	return nil
}

// settle decides whether key, about to be saved by the request st, is a
// successor of a session logged out meanwhile (see [guard]), and reports
// whether it is doomed: its tombstone is then written, so that no save of
// it survives. Each successor is settled once; a key that is the
// request's origin, or a request that never deleted its origin, has
// nothing to settle.
func (g *guard) settle(ctx context.Context, st *request, key string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if key == st.origin || st.nonce == "" {
		return false
	}
	if key == st.settled {
		return st.doomed
	}
	st.settled = key
	if !st.doomed {
		// Dekker, the renewal's half: name the successor, then read the
		// origin's tombstone again.
		err := g.commit(ctx, nextPrefix+st.origin, []byte(key), g.now().Add(g.ttl))
		var s stone
		if err == nil {
			s, err = g.stone(ctx, st.origin)
		}
		switch {
		case err != nil:
			g.log.Log(nil, seclog.SessionExpiryStoreError, zap.String("op", "settle"), seclog.String("error", err.Error()), zap.Bool("fail_open", g.failOpen))
			st.doomed = !g.failOpen
		case s.found && s.kind == kindDestroyed && s.nonce != st.nonce:
			st.doomed = true
		}
	}
	if st.doomed {
		g.log.Log(nil, seclog.SessionExpiryRenewalBlocked, zap.String("session", sessionID(key)), zap.String("replaced", sessionID(st.origin)))
		_ = g.bury(ctx, key, kindDestroyed, "")
	}
	return st.doomed
}

// All implements scs.IterableStore when the wrapped store does;
// tombstones are left out.
func (g *guard) All() (map[string][]byte, error) {
	return g.AllCtx(context.Background())
}

// AllCtx implements scs.IterableCtxStore when the wrapped store does.
func (g *guard) AllCtx(ctx context.Context) (map[string][]byte, error) {
	var (
		all map[string][]byte
		err error
	)
	switch s := g.inner.(type) {
	case scs.IterableCtxStore:
		all, err = s.AllCtx(ctx)
	case scs.IterableStore:
		all, err = s.All()
	default:
		return nil, errors.New("sessionexpiry: the session store does not support iteration")
	}
	if err != nil {
		return nil, err
	}
	for k := range all {
		if strings.HasPrefix(k, tombPrefix) {
			delete(all, k)
		}
	}
	return all, nil
}

// A stone is a tombstone as read back.
type stone struct {
	found bool
	at    time.Time // zero when unreadable
	kind  byte
	nonce string
}

// stone reads the tombstone of token (as the store knows it). A value
// that is not a well-formed tombstone is a tombstone all the same, of a
// logout.
func (g *guard) stone(ctx context.Context, token string) (stone, error) {
	b, found, err := g.find(ctx, tombPrefix+token)
	if err != nil || !found {
		return stone{}, err
	}
	s := stone{found: true, kind: kindDestroyed}
	const head = len(tombMagic) + 8
	if len(b) < head || string(b[:len(tombMagic)]) != tombMagic {
		return s, nil
	}
	s.at = time.Unix(0, int64(binary.BigEndian.Uint64(b[len(tombMagic):head])))
	if len(b) > head && b[head] == kindRenewed {
		s.kind = kindRenewed
	}
	if len(b) > head+1 {
		s.nonce = string(b[head+1:])
	}
	return s, nil
}

// tombstone reports whether token (as the store knows it) was destroyed,
// and when.
func (g *guard) tombstone(ctx context.Context, token string) (time.Time, bool, error) {
	s, err := g.stone(ctx, token)
	return s.at, s.found, err
}

func (g *guard) find(ctx context.Context, key string) ([]byte, bool, error) {
	if s, ok := g.inner.(scs.CtxStore); ok {
		return s.FindCtx(ctx, key)
	}
	return g.inner.Find(key)
}

func (g *guard) commit(ctx context.Context, key string, b []byte, expiry time.Time) error {
	if s, ok := g.inner.(scs.CtxStore); ok {
		return s.CommitCtx(ctx, key, b, expiry)
	}
	return g.inner.Commit(key, b, expiry)
}

func (g *guard) del(ctx context.Context, key string) error {
	if s, ok := g.inner.(scs.CtxStore); ok {
		return s.DeleteCtx(ctx, key)
	}
	return g.inner.Delete(key)
}

// wellFormed reports whether token could have been made by scs: 43
// characters of raw URL-safe base64 (32 random bytes, or their SHA-256
// with HashTokenInStore).
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// storeKey returns the key scs gives the store for a cookie's token.
func storeKey(sm *scs.SessionManager, token string) string {
	if !sm.HashTokenInStore {
		return token
	}
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sessionID names a session in the log without revealing its token: the
// first 16 hex digits of the token's SHA-256.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}
