package seclog

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8", "fd00::/8", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		p      *Proxies
		remote string
		xff    []string
		want   string
	}{
		{"no proxy trusted ignores XFF", nil, "203.0.113.5:1234", []string{"1.1.1.1"}, "203.0.113.5"},
		{"untrusted peer ignores XFF", proxies, "203.0.113.5:1234", []string{"1.1.1.1"}, "203.0.113.5"},
		{"trusted peer, one hop", proxies, "10.0.0.1:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"right-most untrusted wins over spoofed left", proxies, "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"skips trusted hops", proxies, "10.0.0.1:80", []string{"6.6.6.6, 198.51.100.7, 10.2.2.2, 192.0.2.1"}, "198.51.100.7"},
		{"several headers, in order", proxies, "10.0.0.1:80", []string{"6.6.6.6", "198.51.100.7, 10.3.3.3"}, "198.51.100.7"},
		{"IPv6 peer and entry with port", proxies, "[fd00::1]:80", []string{"[2001:db8::9]:5555"}, "2001:db8::9"},
		{"v4-mapped peer", proxies, "[::ffff:10.0.0.1]:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"garbage entry: last trusted hop", proxies, "10.0.0.1:80", []string{"198.51.100.7, unknown"}, "10.0.0.1"},
		{"garbage left of client is never read", proxies, "10.0.0.1:80", []string{"<script>, 198.51.100.7"}, "198.51.100.7"},
		{"all trusted: left-most", proxies, "10.0.0.1:80", []string{"10.5.5.5, 10.6.6.6"}, "10.5.5.5"},
		{"trusted peer, no XFF", proxies, "10.0.0.1:80", nil, "10.0.0.1"},
		{"empty entries skipped as garbage", proxies, "10.0.0.1:80", []string{"198.51.100.7,"}, "10.0.0.1"},
		{"remote without port", nil, "203.0.113.5", nil, "203.0.113.5"},
		{"remote not an address", nil, "pipe", nil, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.p.ClientIP(r).String(); got != tc.want {
				t.Errorf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIsHTTPS(t *testing.T) {
	proxies, _ := ParseProxies("10.0.0.0/8")
	for _, tc := range []struct {
		name   string
		p      *Proxies
		remote string
		tls    bool
		proto  []string
		want   bool
	}{
		{"plain", proxies, "203.0.113.5:1", false, nil, false},
		{"TLS", nil, "203.0.113.5:1", true, nil, true},
		{"forged proto from client", proxies, "203.0.113.5:1", false, []string{"https"}, false},
		{"proto from trusted proxy", proxies, "10.0.0.1:1", false, []string{"HTTPS"}, true},
		{"right-most proto wins", proxies, "10.0.0.1:1", false, []string{"https, http"}, false},
		{"right-most header wins", proxies, "10.0.0.1:1", false, []string{"http", "https"}, true},
		{"trusted proxy, no proto", proxies, "10.0.0.1:1", false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tc.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if got := tc.p.IsHTTPS(r); got != tc.want {
				t.Errorf("IsHTTPS = %v, want %v", got, tc.want)
			}
		})
	}
}
