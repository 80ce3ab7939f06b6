package throttle

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// Device configures the device cookies (OWASP, "Slow Down Online Guessing
// Attacks with Device Cookies"). After a complete login the application
// calls [Throttle.TrustDevice]: the browser gets a cookie, signed with Key
// and bound to the account, that it shows at its next logins. A client
// with a valid cookie is judged by its own counter alone: neither the
// client's nor the account's counter, which strangers fill, refuses it.
type Device struct {
	// Disabled turns device cookies off: every client is judged by the
	// three counters.
	Disabled bool
	// Key signs the cookies (HMAC-SHA-256), at least 32 bytes. Give every
	// instance of a site the same key, from its secrets. Nil means a random
	// key made at New: cookies then work on this instance until it stops.
	Key []byte
	// CookieName is the beginning of the cookie's name (default
	// "bulwark_device"); the name ends with a tag of the account, so that
	// one browser may be trusted for several accounts.
	CookieName string
	// MaxAge is how long a cookie is valid (default 180 days); it is
	// issued again at every complete login.
	MaxAge time.Duration
	// Path is the cookie's path (default "/").
	Path string
	// Insecure leaves out the Secure attribute, for a development site on
	// plain HTTP. Never on a site that faces the Internet.
	Insecure bool
}

// DefaultDeviceMaxAge is the default of [Device.MaxAge].
const DefaultDeviceMaxAge = 180 * 24 * time.Hour

// devices signs and reads device cookies.
type devices struct {
	off      bool
	key      []byte
	name     string
	maxAge   time.Duration
	path     string
	insecure bool
}

// A cookie's value is base64url(nonce[16] ‖ issued[8] ‖ mac[16]), the MAC
// over a label, the account's key hash, the nonce and the issue time.
const (
	nonceLen  = 16
	macLen    = 16
	cookieLen = nonceLen + 8 + macLen
)

func newDevices(d Device) (devices, error) {
	v := devices{off: d.Disabled, key: d.Key, name: d.CookieName, maxAge: d.MaxAge, path: d.Path, insecure: d.Insecure}
	if v.off {
		return v, nil
	}
	switch {
	case v.key == nil:
		v.key = randomKey(32)
	case len(v.key) < 32:
		return v, fmt.Errorf("throttle: Config.Device.Key has %d bytes: give at least 32 random bytes (or nil for a key made at start)", len(d.Key))
	}
	if v.name == "" {
		v.name = "bulwark_device"
	}
	if !validCookieName(v.name) {
		return v, fmt.Errorf("throttle: Config.Device.CookieName %q: use letters, digits, '-' and '_'", d.CookieName)
	}
	switch {
	case v.maxAge == 0:
		v.maxAge = DefaultDeviceMaxAge
	case v.maxAge < time.Hour:
		return v, fmt.Errorf("throttle: Config.Device.MaxAge %v: write at least an hour (default 180 days)", d.MaxAge)
	}
	if v.path == "" {
		v.path = "/"
	}
	if v.path[0] != '/' || !validCookiePath(v.path) {
		return v, fmt.Errorf("throttle: Config.Device.Path %q: write a path beginning with '/', without ';' or control characters", d.Path)
	}
	return v, nil
}

func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validCookiePath(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}

// cookieName is the device cookie's name for an account (its key hash).
func (d *devices) cookieName(acct string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("bulwark-throttle-device-name\x00"))
	m.Write([]byte(acct))
	return d.name + "_" + hex.EncodeToString(m.Sum(nil)[:6])
}

func (d *devices) mac(acct string, nonce []byte, issued uint64) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("bulwark-throttle-device\x00"))
	m.Write([]byte(acct))
	m.Write(nonce)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], issued)
	m.Write(b[:])
	return m.Sum(nil)[:macLen]
}

var errBadCookie = errors.New("malformed")

// read returns the nonce of r's valid device cookie for acct, in hex. A
// cookie that is present but not valid logs throttle.device_refused.
func (d *devices) read(r *http.Request, log *seclog.Logger, scope, acct string, now time.Time) (string, bool) {
	if d.off || r == nil {
		return "", false
	}
	c, err := r.Cookie(d.cookieName(acct))
	if err != nil {
		return "", false
	}
	reason := ""
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	switch {
	case err != nil || len(raw) != cookieLen:
		reason = errBadCookie.Error()
	default:
		nonce, issued, mac := raw[:nonceLen], binary.BigEndian.Uint64(raw[nonceLen:nonceLen+8]), raw[nonceLen+8:]
		switch {
		case !hmac.Equal(mac, d.mac(acct, nonce, issued)):
			reason = "bad_signature"
		case issued > uint64(now.Unix()) || now.Sub(time.Unix(int64(issued), 0)) > d.maxAge:
			reason = "expired"
		default:
			return hex.EncodeToString(nonce), true
		}
	}
	log.Log(r, seclog.ThrottleDeviceRefused, zap.String("scope", scope), zap.String("reason", reason))
	return "", false
}

// TrustDevice gives r's browser a new device cookie for account (Secure,
// HttpOnly, SameSite=Strict), replacing the one it had. Call it when a
// login is complete, second factor included: the cookie lets the browser
// try again while strangers' guesses keep other clients waiting, so it
// must not be had with the password alone when the account has a second
// factor. It logs throttle.device_issued. With device cookies disabled it
// does nothing.
func (t *Throttle) TrustDevice(w http.ResponseWriter, r *http.Request, account string) {
	d := &t.dev
	if d.off {
		return
	}
	acct := hashKey(t.normalize(account))
	now := t.now()
	nonce := randomKey(nonceLen)
	issued := uint64(max(now.Unix(), 0))
	raw := make([]byte, 0, cookieLen)
	raw = append(raw, nonce...)
	raw = binary.BigEndian.AppendUint64(raw, issued)
	raw = append(raw, d.mac(acct, nonce, issued)...)
	http.SetCookie(w, &http.Cookie{
		Name:     d.cookieName(acct),
		Value:    base64.RawURLEncoding.EncodeToString(raw),
		Path:     d.path,
		MaxAge:   int(d.maxAge / time.Second),
		Secure:   !d.insecure,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	t.log.Log(r, seclog.ThrottleDeviceIssued, zap.String("scope", t.scope), seclog.String("target_user", account))
}
