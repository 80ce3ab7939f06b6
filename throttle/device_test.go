package throttle_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/throttle"
)

// trust returns the device cookie TrustDevice issues for account to r.
func (e *env) trust(r *http.Request, account string) *http.Cookie {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.th.TrustDevice(w, r, account)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		e.t.Fatalf("TrustDevice set %d cookies", len(cs))
	}
	return cs[0]
}

// TestDeviceKeepsOwnerIn: strangers from many clients use up the
// account's budget; a browser that logged in before still gets its
// attempts, and a success from it forgets only its own counter.
func TestDeviceKeepsOwnerIn(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) { c.Account = throttle.Rule{Free: 10, Base: time.Hour} })
	home := req("198.51.100.7:1")
	cookie := e.trust(home, "alice")
	for i := range 10 {
		e.fail(req(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String()), "alice", 1)
	}
	if a := e.check(req("198.51.100.7:2"), "alice"); a.Allowed {
		t.Fatal("the owner's address without its cookie passed the account's cap")
	}
	a := e.check(req("198.51.100.7:3", cookie), "alice")
	if !a.Allowed || !a.Device {
		t.Fatalf("the owner's browser: %+v, want allowed as a device", a)
	}
	// The same cookie from anywhere is the same device: its own budget.
	e.fail(req("192.0.2.99", cookie), "alice", 4)
	if a := e.check(req("192.0.2.98", cookie), "alice"); a.Allowed || !a.Device {
		t.Fatalf("the device's sixth attempt: %+v, want refused", a)
	}
	ev := e.log.Take()
	if last := ev[len(ev)-1]; last.Name != "throttle.refused" || last.Fields["counter"] != "pair" || last.Fields["device"] != true {
		t.Fatalf("last event %+v", last)
	}
	// A cookie is bound to its account.
	if a := e.check(req("198.51.100.7:4", cookie), "bob"); a.Device {
		t.Fatal("alice's cookie made a device for bob")
	}
}

// TestDeviceCookie: the cookie's attributes, and the cookies that are
// refused (logged, then judged as a stranger).
func TestDeviceCookie(t *testing.T) {
	e := newEnv(t, nil)
	r := req("198.51.100.7:1")
	c := e.trust(r, "alice")
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != int(throttle.DefaultDeviceMaxAge/time.Second) ||
		!strings.HasPrefix(c.Name, "bulwark_device_") || len(c.Name) != len("bulwark_device_")+12 {
		t.Fatalf("cookie %+v", c)
	}
	ev := e.log.Take()
	if len(ev) != 1 || ev[0].Name != "throttle.device_issued" || ev[0].Fields["target_user"] != "alice" || ev[0].Fields["scope"] != "login" {
		t.Fatalf("events %+v", ev)
	}
	if c2 := e.trust(r, "alice"); c2.Value == c.Value || c2.Name != c.Name {
		t.Fatal("a second TrustDevice did not issue a new cookie under the same name")
	}
	if c3 := e.trust(r, "bob"); c3.Name == c.Name {
		t.Fatal("two accounts share a cookie name")
	}
	e.log.Take()
	raw, _ := base64.RawURLEncoding.DecodeString(c.Value)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, bad := range []struct {
		value, reason string
	}{
		{"", "malformed"},
		{"!!!", "malformed"},
		{c.Value[:len(c.Value)-2], "malformed"},
		{c.Value + "AA", "malformed"},
		{flip(0), "bad_signature"},  // the nonce
		{flip(20), "bad_signature"}, // the issue time
		{flip(len(raw) - 1), "bad_signature"},
	} {
		a := e.check(req("198.51.100.7:1", &http.Cookie{Name: c.Name, Value: bad.value}), "alice")
		if a.Device {
			t.Errorf("cookie %q made a device", bad.value)
		}
		ev := e.log.Take()
		if bad.value == "" {
			continue // an empty cookie is not sent at all
		}
		if len(ev) == 0 || ev[0].Name != "throttle.device_refused" || ev[0].Fields["reason"] != bad.reason || ev[0].Fields["scope"] != "login" {
			t.Errorf("cookie %q: events %+v, want device_refused %s", bad.value, ev, bad.reason)
		}
	}
	// Valid until MaxAge after issue, not after.
	e.clock.Add(throttle.DefaultDeviceMaxAge)
	if a := e.check(req("198.51.100.7:1", c), "alice"); !a.Device {
		t.Fatal("a cookie at its MaxAge was refused")
	}
	e.clock.Add(time.Second)
	if a := e.check(req("198.51.100.7:1", c), "alice"); a.Device {
		t.Fatal("an expired cookie made a device")
	}
	if ev := e.log.Take(); ev[0].Fields["reason"] != "expired" {
		t.Fatalf("events %+v", ev)
	}
}

// TestDeviceCookieFromTheFuture: a cookie issued after now (a clock
// moved back, or a forgery with another key) is refused.
func TestDeviceCookieFromTheFuture(t *testing.T) {
	e := newEnv(t, nil)
	c := e.trust(req("192.0.2.1"), "alice")
	e.clock.Add(-time.Second)
	if a := e.check(req("192.0.2.1", c), "alice"); a.Device {
		t.Fatal("a cookie issued in the future made a device")
	}
	e.clock.Add(time.Second)
	if a := e.check(req("192.0.2.1", c), "alice"); !a.Device {
		t.Fatal("a cookie issued now was refused")
	}
}

// TestDeviceKeyShared: instances with the same key read each other's
// cookies; another key does not.
func TestDeviceKeyShared(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	a := newEnv(t, func(c *throttle.Config) { c.Device.Key = key })
	b := newEnv(t, func(c *throttle.Config) { c.Device.Key = key })
	other := newEnv(t, nil)
	c := a.trust(req("192.0.2.1"), "alice")
	if at := b.check(req("192.0.2.1", c), "alice"); !at.Device {
		t.Fatal("an instance with the same key refused the cookie")
	}
	c.Name = other.trust(req("192.0.2.1"), "alice").Name
	if at := other.check(req("192.0.2.1", c), "alice"); at.Device {
		t.Fatal("an instance with another key accepted the cookie")
	}
}

// TestDeviceOptions: name, path, max age and Insecure; disabled devices
// issue nothing and read nothing.
func TestDeviceOptions(t *testing.T) {
	e := newEnv(t, func(c *throttle.Config) {
		c.Device = throttle.Device{CookieName: "dev", Path: "/auth", MaxAge: 2 * time.Hour, Insecure: true}
	})
	c := e.trust(req("192.0.2.1"), "alice")
	if c.Secure || c.Path != "/auth" || c.MaxAge != 7200 || !strings.HasPrefix(c.Name, "dev_") {
		t.Fatalf("cookie %+v", c)
	}
	e.clock.Add(2*time.Hour + time.Second)
	if a := e.check(req("192.0.2.1", c), "alice"); a.Device {
		t.Fatal("a cookie past its MaxAge made a device")
	}

	off := newEnv(t, func(c *throttle.Config) { c.Device.Disabled = true })
	w := httptest.NewRecorder()
	off.th.TrustDevice(w, req("192.0.2.1"), "alice")
	if len(w.Result().Cookies()) != 0 || len(off.log.Names()) != 0 {
		t.Fatal("TrustDevice with devices disabled set a cookie or logged")
	}
	if a := off.check(req("192.0.2.1", c), "alice"); a.Device {
		t.Fatal("devices disabled, yet a cookie made a device")
	}
}

// TestDeviceCookieNameAndPathCharacters: the characters a cookie name and
// path may hold, at the edges of each range.
func TestDeviceCookieNameAndPathCharacters(t *testing.T) {
	for _, name := range []string{"aAzZ09-_", "a", "z", "A", "Z", "0", "9"} {
		if _, err := throttle.New(throttle.Config{Device: throttle.Device{CookieName: name}}); err != nil {
			t.Errorf("CookieName %q: %v", name, err)
		}
	}
	for _, name := range []string{"`", "{", "@", "[", "/", ":", "a.b", "a=b", "é"} {
		if _, err := throttle.New(throttle.Config{Device: throttle.Device{CookieName: name}}); err == nil {
			t.Errorf("CookieName %q: no error", name)
		}
	}
	for _, path := range []string{"/a b", "/~", "/!"} {
		if _, err := throttle.New(throttle.Config{Device: throttle.Device{Path: path}}); err != nil {
			t.Errorf("Path %q: %v", path, err)
		}
	}
	for _, path := range []string{"/a\x1fb", "/a\x00", "/\x7f"} {
		if _, err := throttle.New(throttle.Config{Device: throttle.Device{Path: path}}); err == nil {
			t.Errorf("Path %q: no error", path)
		}
	}
}
