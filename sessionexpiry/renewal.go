package sessionexpiry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
)

// A request is what the guard remembers of one request of a stored
// session, for the renewals it makes (see [guard]): the store key of the
// token the session was loaded with, and, once the request deletes that
// token (a renewal or a logout), a random nonce that names the request in
// its tombstone.
type request struct {
	origin string // store key of the token the session was loaded with

	mu      sync.Mutex
	nonce   string // set when the request deletes its origin
	doomed  bool   // its successor must never be saved
	settled string // the successor already settled
}

type requestKey struct{}

// requestFrom returns the request state of ctx, or nil.
func requestFrom(ctx context.Context) *request {
	st, _ := ctx.Value(requestKey{}).(*request)
	return st
}

// own marks the origin as deleted by this request and returns the
// request's nonce.
func (st *request) own() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.nonce == "" {
		var b [12]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		st.nonce = hex.EncodeToString(b[:])
	}
	return st.nonce
}

// doom marks the request's successor as never to be saved.
func (st *request) doom() {
	st.mu.Lock()
	st.doomed = true
	st.mu.Unlock()
}

// renewed reports whether the request deleted its origin: only then can
// its token have been replaced.
func (st *request) renewed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.nonce != ""
}

// track returns the ResponseWriter that settles the request's successor
// before scs's LoadAndSave saves it (see [tracker]), and r carrying the
// request state of its stored session; the caller calls the tracker's
// settle when the handler returns (LoadAndSave saves then when nothing
// was written). A request without a stored session has nothing to track:
// the tracker is nil. A request that renews nothing costs four small
// allocations and no store call.
func (m *Middleware) track(w http.ResponseWriter, r *http.Request) (*tracker, *http.Request) {
	token := m.sm.Token(r.Context())
	if token == "" {
		return nil, r
	}
	t := &tracker{ResponseWriter: w, m: m, st: request{origin: storeKey(m.sm, token)}}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, &t.st))
	t.ctx = r.Context()
	return t, r
}

// tracker is the ResponseWriter of a tracked request: it settles the
// request's successor before the first byte of the response, when scs's
// LoadAndSave, whose writer it wraps, saves the session.
type tracker struct {
	http.ResponseWriter
	m   *Middleware
	ctx context.Context
	st  request
}

// settle settles the request's current token when it replaced the origin;
// a doomed one is destroyed, so that LoadAndSave expires its cookie
// instead of setting it.
func (t *tracker) settle() {
	if !t.st.renewed() {
		return
	}
	token := t.m.sm.Token(t.ctx)
	if token == "" {
		return
	}
	if t.m.guard.settle(t.ctx, &t.st, storeKey(t.m.sm, token)) {
		_ = t.m.sm.Destroy(t.ctx) // its tombstone is written; an error changes nothing
	}
}

func (t *tracker) WriteHeader(code int) {
	t.settle()
	t.ResponseWriter.WriteHeader(code)
}

func (t *tracker) Write(b []byte) (int, error) {
	t.settle()
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writers below.
func (t *tracker) Unwrap() http.ResponseWriter { return t.ResponseWriter }
