package csp

import (
	"crypto/rand"
	"sync"
)

// randBuf holds bytes read from crypto/rand in one call and handed out as
// nonces: one getrandom for many nonces instead of one each. A byte is
// handed out once and cleared as it is.
type randBuf struct {
	b [1024]byte
	n int // next unread offset
}

var randPool = sync.Pool{New: func() any { return &randBuf{n: 1024} }}

// readRand fills p (at most 1024 bytes) from crypto/rand.
func readRand(p []byte) {
	rb := randPool.Get().(*randBuf)
	if rb.n+len(p) > len(rb.b) {
		rand.Read(rb.b[:]) // never fails (Go 1.24+: it crashes the program instead)
		rb.n = 0
	}
	copy(p, rb.b[rb.n:])
	clear(rb.b[rb.n : rb.n+len(p)])
	rb.n += len(p)
	randPool.Put(rb)
}
