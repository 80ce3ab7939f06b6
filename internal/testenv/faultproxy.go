package testenv

import (
	"net"
	"sync"
	"testing"
)

// FaultProxy is a TCP proxy on 127.0.0.1 to a server (PostgreSQL, Redis)
// that a test can pause: while paused it accepts connections and reads
// what clients send, but forwards nothing either way and dials nothing,
// as a SIGSTOPped server or a network partition does; Resume forwards
// what was held. Fault tests put it between a store and the shared test
// server.
type FaultProxy struct {
	ln     net.Listener
	target string
	done   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	gate  chan struct{} // closed while forwarding
	conns map[net.Conn]bool
}

// NewFaultProxy starts a forwarding proxy to target (host:port), closed
// when the test ends.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{ln: ln, target: target, done: make(chan struct{}), gate: make(chan struct{}), conns: map[net.Conn]bool{}}
	close(p.gate)
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// Pause stops forwarding, in both directions, on every connection.
func (p *FaultProxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already paused
	}
}

// Resume forwards again, what was held first.
func (p *FaultProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
}

// wait returns when the proxy forwards, false if it was closed first.
func (p *FaultProxy) wait() bool {
	p.mu.Lock()
	g := p.gate
	p.mu.Unlock()
	select {
	case <-g:
		return true
	case <-p.done:
		return false
	}
}

func (p *FaultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	p.conns[c] = true
	return true
}

func (p *FaultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Go(func() {
			if !p.wait() {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			if !p.track(up) {
				c.Close()
				return
			}
			p.wg.Go(func() { p.pipe(up, c) })
			p.pipe(c, up)
		})
	}
}

// pipe copies src to dst, holding each chunk while paused; when either
// side ends, both are closed.
func (p *FaultProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *FaultProxy) close() {
	close(p.done)
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
