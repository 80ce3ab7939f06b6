package profiling

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/seclog"
)

// Defaults of [Config].
const (
	// DefaultParam is the query parameter that asks for a profile:
	// ?profile, ?profile=trace, ?profile=cpu, ?profile=trace,cpu.
	DefaultParam = "profile"
	// DefaultHeader is the request header that asks for a profile, with
	// the same values as the query parameter (curl -H 'X-Bulwark-Profile:
	// cpu').
	DefaultHeader = "X-Bulwark-Profile"
	// DefaultMaxDuration bounds each capture in time.
	DefaultMaxDuration = 10 * time.Second
	// DefaultMaxCaptureBytes bounds each capture in size.
	DefaultMaxCaptureBytes = 16 << 20
	// DefaultKeep is how many captures the ring keeps.
	DefaultKeep = 8
	// DefaultKeepBytes bounds the ring's total size.
	DefaultKeepBytes = 64 << 20
)

// Limits of [Config]: [New] refuses values outside them.
const (
	minDuration          = 10 * time.Millisecond
	maxDurationLimit     = 5 * time.Minute
	minCaptureBytes      = 64 << 10
	maxCaptureBytesLimit = 1 << 30
	maxKeep              = 1000
	maxNameLen           = 64
)

// A Kind says what is captured for a profiled request, besides the
// Server-Timing header every profiled request gets. It is a set: the zero
// Kind is timing only, Trace|CPU is both.
type Kind uint8

// The kinds of capture.
const (
	// Trace is an execution trace of the request's window, taken with the
	// runtime/trace flight recorder; open it with go tool trace.
	Trace Kind = 1 << iota
	// CPU is a CPU profile of the request's window, taken with
	// runtime/pprof; open it with go tool pprof.
	CPU
)

// String returns "timing", "trace", "cpu" or "trace,cpu": the value of the
// trigger that asks for k.
func (k Kind) String() string {
	switch k {
	case 0:
		return "timing"
	case Trace:
		return "trace"
	case CPU:
		return "cpu"
	case Trace | CPU:
		return "trace,cpu"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ext returns the file extension of a single kind's capture.
func (k Kind) ext() string {
	if k == CPU {
		return ".pprof"
	}
	return ".trace"
}

// Config configures a [Middleware]. The zero value is the secure default:
// staff users (identity.User.Staff) who ask with ?profile=… or the
// X-Bulwark-Profile header are profiled, one capture at a time of at most
// 10 s and 16 MiB, the last 8 captures (at most 64 MiB) kept in memory.
type Config struct {
	// Authorize decides whether a request that asks to be profiled may
	// be. Nil means the request's identity user is staff
	// (identity.FromRequest(r) is an active user whose Staff() is true),
	// so the middleware must run after the identity middleware. The same
	// function guards the [Middleware.Profiles] page.
	Authorize func(r *http.Request) bool

	// Param is the query parameter that asks for a profile; empty means
	// [DefaultParam]. Letters, digits, '.', '_', '~' and '-' only, at most
	// 64 bytes.
	Param string
	// DisableParam turns the query parameter off (leave Param empty):
	// only the header can ask. A link can carry the parameter, so a staff
	// member who follows someone else's link is profiled; the header
	// cannot be set by a link.
	DisableParam bool
	// Header is the request header that asks for a profile; empty means
	// [DefaultHeader]. A valid header name (an RFC 9110 token), at most
	// 64 bytes.
	Header string
	// DisableHeader turns the header off (leave Header empty): only the
	// query parameter can ask.
	DisableHeader bool

	// MaxDuration bounds each capture in time: a request that runs longer
	// keeps its first MaxDuration. Zero means [DefaultMaxDuration];
	// between 10 ms and 5 minutes.
	MaxDuration time.Duration
	// MaxCaptureBytes bounds each capture in size: a larger one is
	// discarded (a cut trace or profile cannot be opened), with a
	// profiling.skipped event. Zero means [DefaultMaxCaptureBytes];
	// between 64 KiB and 1 GiB.
	MaxCaptureBytes int
	// Keep is how many captures the ring keeps (the oldest go first).
	// Zero means [DefaultKeep]; at most 1000.
	Keep int
	// KeepBytes bounds the total size of the ring's captures (the oldest
	// go first). Zero means [DefaultKeepBytes]; at least MaxCaptureBytes.
	KeepBytes int

	// Logger receives the profiling.* events; nil means seclog.Default().
	Logger *seclog.Logger
}

// Middleware profiles the requests that ask for it and are authorized,
// and keeps their captures for the [Middleware.Profiles] page. It is safe
// for concurrent use.
type Middleware struct {
	authorize   func(*http.Request) bool
	param       string // "" when disabled
	header      string // canonical; "" when disabled
	maxDuration time.Duration
	maxBytes    int
	log         *seclog.Logger
	ring        ring
}

// New validates cfg and returns the middleware. Every mistake is an error
// that names the field and says what to write instead.
func New(cfg Config) (*Middleware, error) {
	m := &Middleware{authorize: cfg.Authorize, log: cfg.Logger}
	if m.authorize == nil {
		m.authorize = IsStaff
	}
	if m.log == nil {
		m.log = seclog.Default()
	}

	var err error
	if m.param, err = triggerName("Param", cfg.Param, cfg.DisableParam, DefaultParam, isUnreserved,
		"use letters, digits, '.', '_', '~' and '-' only (names that need no percent-encoding)"); err != nil {
		return nil, err
	}
	if m.header, err = triggerName("Header", cfg.Header, cfg.DisableHeader, DefaultHeader, isTchar,
		"a header name is a token (letters, digits and !#$%&'*+-.^_`|~)"); err != nil {
		return nil, err
	}
	m.header = http.CanonicalHeaderKey(m.header)
	if m.param == "" && m.header == "" {
		return nil, errors.New("profiling: DisableParam and DisableHeader are both set, so no request can ask to be profiled; keep at least one of them")
	}

	m.maxDuration = cfg.MaxDuration
	switch {
	case m.maxDuration == 0:
		m.maxDuration = DefaultMaxDuration
	case m.maxDuration < minDuration || m.maxDuration > maxDurationLimit:
		return nil, fmt.Errorf("profiling: MaxDuration is %v; write a duration between %v and %v (0 means %v)", cfg.MaxDuration, minDuration, maxDurationLimit, DefaultMaxDuration)
	}
	m.maxBytes = cfg.MaxCaptureBytes
	switch {
	case m.maxBytes == 0:
		m.maxBytes = DefaultMaxCaptureBytes
	case m.maxBytes < minCaptureBytes || m.maxBytes > maxCaptureBytesLimit:
		return nil, fmt.Errorf("profiling: MaxCaptureBytes is %d; write a size between %d (64 KiB) and %d (1 GiB) (0 means 16 MiB)", cfg.MaxCaptureBytes, minCaptureBytes, maxCaptureBytesLimit)
	}
	keep, keepBytes := cfg.Keep, cfg.KeepBytes
	switch {
	case keep == 0:
		keep = DefaultKeep
	case keep < 0 || keep > maxKeep:
		return nil, fmt.Errorf("profiling: Keep is %d; write a count between 1 and %d (0 means %d)", cfg.Keep, maxKeep, DefaultKeep)
	}
	switch {
	case keepBytes < 0:
		return nil, fmt.Errorf("profiling: KeepBytes is %d; write a positive size (0 means 64 MiB)", cfg.KeepBytes)
	case keepBytes == 0:
		keepBytes = DefaultKeepBytes
	}
	if keepBytes < m.maxBytes {
		return nil, fmt.Errorf("profiling: KeepBytes (%d) is less than MaxCaptureBytes (%d), so a capture could not be kept; raise KeepBytes to at least %d", keepBytes, m.maxBytes, m.maxBytes)
	}
	m.ring = ring{max: keep, maxBytes: keepBytes}
	return m, nil
}

// IsStaff is the default authorizer: the request's identity user (see
// identity.FromRequest) is active and staff.
func IsStaff(r *http.Request) bool {
	u := identity.FromRequest(r)
	return u != nil && u.Staff()
}

// triggerName returns the name of a trigger (field is "Param" or
// "Header"): def when v is empty, "" when the trigger is disabled, or an
// error when v has a byte that ok refuses (rule says which are allowed).
func triggerName(field, v string, disabled bool, def string, ok func(byte) bool, rule string) (string, error) {
	switch {
	case disabled && v != "":
		return "", fmt.Errorf("profiling: %s is %q but Disable%s is set; leave %s empty, or unset Disable%s", field, v, field, field, field)
	case disabled:
		return "", nil
	case v == "":
		return def, nil
	case len(v) > maxNameLen:
		return "", fmt.Errorf("profiling: %s %q is longer than %d bytes; write a short name such as %q", field, v, maxNameLen, def)
	}
	for i := 0; i < len(v); i++ {
		if !ok(v[i]) {
			return "", fmt.Errorf("profiling: %s %q has %q: %s; write a name such as %q", field, v, v[i], rule, def)
		}
	}
	return v, nil
}

// isUnreserved reports whether c needs no percent-encoding in a query
// (RFC 3986 unreserved), so that a parameter's name appears literally in
// a raw query.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-'
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c < 0x80 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
