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

// track returns r carrying the request state of its stored session, and w
// wrapped so that a successor is settled before scs's LoadAndSave saves it
// (on the first write of the response), with the func to call when the
// handler returns (LoadAndSave saves then when nothing was written). A
// request without a stored session has nothing to track: r and w are
// returned as they are.
func (m *Middleware) track(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	token := m.sm.Token(r.Context())
	if token == "" {
		return w, r, func() {}
	}
	st := &request{origin: storeKey(m.sm, token)}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, st))
	sw := &settleWriter{ResponseWriter: w, settle: func() { m.settle(r.Context(), st) }}
	return sw, r, sw.settle
}

// settle settles the request's current token when it replaced the origin;
// a doomed one is destroyed, so that LoadAndSave expires its cookie
// instead of setting it.
func (m *Middleware) settle(ctx context.Context, st *request) {
	token := m.sm.Token(ctx)
	if token == "" {
		return
	}
	if m.guard.settle(ctx, st, storeKey(m.sm, token)) {
		_ = m.sm.Destroy(ctx) // its tombstone is written; an error changes nothing
	}
}

// settleWriter settles the request's successor before the first byte of
// the response, when scs's LoadAndSave, whose writer it wraps, saves the
// session.
type settleWriter struct {
	http.ResponseWriter
	settle func()
}

func (w *settleWriter) WriteHeader(code int) {
	w.settle()
	w.ResponseWriter.WriteHeader(code)
}

func (w *settleWriter) Write(b []byte) (int, error) {
	w.settle()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writers below.
func (w *settleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
