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
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// tombPrefix starts the store key of a tombstone. ':' never occurs in a
// token scs makes (raw URL-safe base64), so no cookie can name a tombstone.
const tombPrefix = "bulwark-tomb:"

// tombMagic starts a tombstone's value; the destruction time follows, as
// 8 bytes of Unix nanoseconds, big-endian.
const tombMagic = "bulwark-tomb\x00"

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
// written; the error is returned either way.
func (g *guard) DeleteCtx(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil // never stored: nothing to delete, nothing to bury
	}
	var stone [len(tombMagic) + 8]byte
	copy(stone[:], tombMagic)
	now := g.now()
	binary.BigEndian.PutUint64(stone[len(tombMagic):], uint64(now.UnixNano()))
	errTomb := g.commit(ctx, tombPrefix+token, stone[:], now.Add(g.ttl))
	return errors.Join(errTomb, g.del(ctx, token))
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

// tombstone reports whether token (as the store knows it) was destroyed,
// and when.
func (g *guard) tombstone(ctx context.Context, token string) (time.Time, bool, error) {
	b, found, err := g.find(ctx, tombPrefix+token)
	if err != nil || !found {
		return time.Time{}, false, err
	}
	if len(b) != len(tombMagic)+8 || string(b[:len(tombMagic)]) != tombMagic {
		return time.Time{}, true, nil // a tombstone all the same
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[len(tombMagic):]))), true, nil
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
