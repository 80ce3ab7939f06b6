package seclog

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the set of reverse proxies whose X-Forwarded-For and
// X-Forwarded-Proto headers are believed. It is the one place where the
// suite decides who the client is and whether the request came over HTTPS:
// every package asks it through [Logger.ClientIP] and [Logger.IsHTTPS].
//
// The zero value and nil trust no proxy: the client is the socket's peer
// and the scheme is the connection's.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies parses trusted proxies given as CIDR prefixes
// ("10.0.0.0/8", "fd00::/8") or single addresses ("127.0.0.1").
func ParseProxies(cidrs ...string) (*Proxies, error) {
	p := &Proxies{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if strings.Contains(c, "/") {
			pfx, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("seclog: trusted proxy %q: not a CIDR prefix (write it as \"10.0.0.0/8\" or \"fd00::/8\"): %v", c, err)
			}
			if pfx != pfx.Masked() {
				return nil, fmt.Errorf("seclog: trusted proxy %q has host bits set: write %q", c, pfx.Masked())
			}
			p.prefixes = append(p.prefixes, pfx)
			continue
		}
		a, err := netip.ParseAddr(c)
		if err != nil {
			return nil, fmt.Errorf("seclog: trusted proxy %q: not an IP address or CIDR prefix: %v", c, err)
		}
		a = a.Unmap()
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// Trusted reports whether addr is one of the trusted proxies.
func (p *Proxies) Trusted(addr netip.Addr) bool {
	if p == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// peer returns the socket peer's address from r.RemoteAddr.
func peer(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	// RemoteAddr without a port (set by tests or by some servers).
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// ClientIP returns the client's address. It is the socket's peer, unless
// the peer is a trusted proxy: then it is the right-most entry of
// X-Forwarded-For (all such headers, in order) that is not itself a trusted
// proxy. The entries left of it were written by the client and are never
// believed. If a trusted proxy passed an entry that is not an IP address,
// the address of the last trusted hop is returned. The result is the zero
// Addr only when r.RemoteAddr is not an address.
func (p *Proxies) ClientIP(r *http.Request) netip.Addr {
	addr := peer(r)
	if !p.Trusted(addr) {
		return addr
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var entry string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				entry, v = v[j+1:], v[:j]
			} else {
				entry, v = v, ""
			}
			a, ok := parseForwarded(strings.TrimSpace(entry))
			if !ok {
				return addr
			}
			addr = a
			if !p.Trusted(a) {
				return a
			}
		}
	}
	return addr
}

// parseForwarded parses one X-Forwarded-For entry: an address, possibly
// with a port ("1.2.3.4:80", "[::1]:80").
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// IsHTTPS reports whether the client's request came over HTTPS: the
// connection is TLS, or the peer is a trusted proxy whose
// X-Forwarded-Proto (its right-most value) is "https".
func (p *Proxies) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if p == nil || len(p.prefixes) == 0 {
		return false // no trusted proxy: no need to read the peer's address
	}
	if !p.Trusted(peer(r)) {
		return false
	}
	values := r.Header.Values("X-Forwarded-Proto")
	if len(values) == 0 {
		return false
	}
	v := values[len(values)-1]
	if j := strings.LastIndexByte(v, ','); j >= 0 {
		v = v[j+1:]
	}
	return strings.EqualFold(strings.TrimSpace(v), "https")
}
