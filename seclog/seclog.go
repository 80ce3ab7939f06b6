// Package seclog is the security logger of the bulwark suite: one logger
// named "security", one catalog of events, the same fields on every event.
//
// Every middleware of the suite logs through a [*Logger]. Build one per
// application and give it to every package's Config, so that all events
// share one sampler, one trusted-proxy setting and one way to name the user:
//
//	zc := zap.NewProductionConfig()
//	zc.Sampling = nil // the security logger samples only what may flood
//	z, _ := zc.Build()
//	sec, err := seclog.New(seclog.Config{
//		Logger:         z,
//		TrustedProxies: []string{"10.0.0.0/8"},
//	})
//
// A program that logs with log/slog gives its handler instead, and gets
// the same events, fields and sampling:
//
//	sec, err := seclog.New(seclog.Config{
//		Handler:        slog.NewJSONHandler(os.Stderr, nil), // or logger.Handler()
//		TrustedProxies: []string{"10.0.0.0/8"},
//	})
//
// A package given no logger uses [Default], which writes to slog.Default():
// a forgotten logger is never silence. [Discard] is the explicit silence.
//
// Events are typed values of the catalog ([Catalog]), each with a name, a
// level and the OWASP Logging Vocabulary name it maps to; docs/security-events.md
// lists them all. Values taken from the request are always fields, never part
// of the message, and are cut to [MaxValueLen] bytes with control characters
// escaped ([Sanitize]), so a hostile request can neither forge log lines nor
// fill a disk. Events that an attacker can cause at request rate go through
// zap's sampler; what it drops is counted ([Logger.Dropped]) and reported by
// a [SamplingDropped] event.
package seclog

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Name is the name of the security logger (zap's logger name).
const Name = "security"

// Sampling configures the flood control of high-volume events (see
// [Event.HighVolume]). Within each Interval, the first First events of one
// kind are written, then every Thereafter-th. The zero value means 1s, 20
// and 100. Events that are not high-volume are never sampled.
type Sampling struct {
	// Disabled writes every high-volume event. Do not disable sampling on a
	// server that faces the Internet.
	Disabled bool
	// Interval is the sampling window (default 1s).
	Interval time.Duration
	// First is how many events of one kind are written per window before
	// sampling starts (default 20).
	First int
	// Thereafter: after First, every Thereafter-th event is written
	// (default 100).
	Thereafter int
}

// Config configures a [Logger]. The zero value is valid.
type Config struct {
	// Logger is the zap logger the events are written to. The security
	// logger is a child named "security". Give a logger without its own
	// sampler (zap.NewProduction samples every message): the security
	// logger samples only high-volume events.
	//
	// Set Logger or Handler, not both. With neither, events go to
	// slog.Default() as it is when each event is written, as with
	// [Default].
	Logger *zap.Logger
	// Handler is the log/slog handler the events are written to, for a
	// program that logs with slog: pass a *slog.Logger's Handler(), whose
	// attributes and groups the events then carry. zap still does the
	// work: levels are asked of Handler.Enabled, high-volume events go
	// through the same sampler, and each event becomes one slog.Record
	// with the event's name as message, its level (Info, Warn, Error),
	// the caller's program counter (written when the handler has
	// AddSource), a "logger" attribute "security", the fields in zap's
	// order, and the request's context. See docs/seclog.md.
	Handler slog.Handler
	// TrustedProxies lists the reverse proxies (CIDR prefixes or addresses)
	// whose X-Forwarded-For and X-Forwarded-Proto headers are believed. Empty
	// means none: the client is the socket's peer.
	TrustedProxies []string
	// Sampling is the flood control of high-volume events.
	Sampling Sampling
	// User returns the user's id for the "user" field. Nil means the value
	// stored with [WithUser] in the request's context, or "" for anonymous.
	User func(r *http.Request) string
	// RequestID returns the request id for the "request_id" field. Nil means
	// the X-Request-Id header (as a reverse proxy sets it).
	RequestID func(r *http.Request) string
}

// A Logger writes security events. It is safe for concurrent use. The nil
// *Logger is not valid: use [New], [Default] or [Discard].
type Logger struct {
	all       *zap.Logger  // the logger as given (Zap)
	events    *zap.Logger  // every event that is not high-volume; caller: Log's caller
	sampled   *zap.Logger  // high-volume events, through the sampler
	core      zapcore.Core // events' core, asked first whether a level is on
	proxies   *Proxies
	user      func(*http.Request) string
	requestID func(*http.Request) string
	interval  time.Duration
	context   bool // pass the request's context to the slog handler

	dropped      []atomic.Uint64 // per catalog index, since start
	pending      []atomic.Uint64 // per catalog index, not yet reported
	pendingTotal atomic.Int64
	lastReport   atomic.Int64 // unix nanoseconds
}

// Default returns the security logger of a middleware whose Config names
// none. It is never silent: events go to slog.Default(), looked up when
// each event is written, so a program that calls slog.SetDefault at any
// time, before or after building its middleware, gets them there, and
// one that never does sees them on stderr through the log package (as
// "WARN path.rejected logger=security event=path.rejected …"). It has the
// default configuration otherwise: default sampling, no trusted proxies
// (remote_ip is the socket's peer). It is one logger, made once.
//
// The trade-off: events a program forgot to route are written where its
// other logs are rather than lost, at the cost of slog's text format and
// a look-up of the default logger per event. Build a logger with [New]
// and give it to every package to choose the destination, or use
// [Discard] to drop the events on purpose.
func Default() *Logger {
	defaultOnce.Do(func() {
		defaultLogger, _ = New(Config{})
	})
	return defaultLogger
}

var (
	defaultOnce   sync.Once
	defaultLogger *Logger
)

// Discard returns a security logger that writes nothing: for tests and
// examples, and for programs that mean to drop the events. Say so with
// Discard rather than leave a Config's Logger nil.
func Discard() *Logger {
	l, _ := New(Config{Logger: zap.NewNop()})
	return l
}

// New returns a security logger for cfg. It reports an error for both
// Logger and Handler set, for a trusted proxy that is not an address or
// CIDR prefix, or for negative sampling values.
func New(cfg Config) (*Logger, error) {
	if cfg.Logger != nil && cfg.Handler != nil {
		return nil, errors.New("seclog: Config: Logger and Handler are both set: set Logger for a *zap.Logger or Handler for a log/slog handler (a *slog.Logger's Handler()), not both")
	}
	z := cfg.Logger
	if z == nil {
		var h recordWriter = defaultHandler{}
		if cfg.Handler != nil {
			h = cfg.Handler
		}
		// The caller is taken for every event, as slog.Logger does, so
		// that a handler with AddSource can write it.
		z = zap.New(&slogCore{h: h}, zap.AddCaller())
	}
	if z.Name() != Name {
		z = z.Named(Name)
	}
	proxies, err := ParseProxies(cfg.TrustedProxies...)
	if err != nil {
		return nil, err
	}
	s := cfg.Sampling
	if s.Interval < 0 || s.First < 0 || s.Thereafter < 0 {
		return nil, errors.New("seclog: Sampling: Interval, First and Thereafter must not be negative (0 means the default)")
	}
	if s.Interval == 0 {
		s.Interval = time.Second
	}
	if s.First == 0 {
		s.First = 20
	}
	if s.Thereafter == 0 {
		s.Thereafter = 100
	}
	l := &Logger{
		all:       z,
		proxies:   proxies,
		user:      cfg.User,
		requestID: cfg.RequestID,
		interval:  s.Interval,
		dropped:   make([]atomic.Uint64, len(catalog)),
		pending:   make([]atomic.Uint64, len(catalog)),
		context:   cfg.Logger == nil,
	}
	if l.user == nil {
		l.user = userFromContext
	}
	if l.requestID == nil {
		l.requestID = requestIDHeader
	}
	// The caller of an event is the code that called Log, not Log.
	l.events = z.WithOptions(zap.AddCallerSkip(1))
	l.sampled = l.events
	l.core = l.events.Core()
	if !s.Disabled {
		hook := zapcore.SamplerHook(func(e zapcore.Entry, d zapcore.SamplingDecision) {
			if d&zapcore.LogDropped == 0 {
				return
			}
			if ev, ok := byName[e.Message]; ok {
				l.dropped[ev.index].Add(1)
				l.pending[ev.index].Add(1)
				l.pendingTotal.Add(1)
			}
		})
		l.sampled = l.events.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			return zapcore.NewSamplerWithOptions(c, s.Interval, s.First, s.Thereafter, hook)
		}))
	}
	return l, nil
}

var byName map[string]*Event

func init() {
	byName = make(map[string]*Event, len(catalog))
	for _, e := range catalog {
		byName[e.Name] = e
	}
}

// Log writes one event. r is the request the event is about (nil for an
// event that concerns no request, such as [SystemStartup]); the common
// fields are taken from it. fields are the event's own fields (see
// [Event.Fields]); write every value an attacker could choose with
// [String], which bounds and escapes it. On a slog handler, r's context
// is the record's context (a handler may read a trace id from it).
func (l *Logger) Log(r *http.Request, ev *Event, fields ...zap.Field) {
	// A level that is off costs one call, as zap's own check does first
	// (the sampler only drops events of levels that are on).
	if ev.Level < zapcore.DPanicLevel && !l.core.Enabled(ev.Level) {
		return
	}
	if l.pendingTotal.Load() > 0 {
		l.reportDropped(false)
	}
	z := l.events
	if ev.HighVolume {
		z = l.sampled
	}
	ce := z.Check(ev.Level, ev.Name)
	if ce == nil {
		return
	}
	var buf [13]zap.Field // the common fields and 5 of the event's own
	fs := append(buf[:0], zap.String("event", ev.Name), zap.String("owasp", string(ev.OWASP)))
	if r != nil {
		if l.context {
			fs = append(fs, ctxField(r.Context()))
		}
		path := ""
		if r.URL != nil {
			path = r.URL.EscapedPath()
		}
		fs = append(fs,
			String("method", r.Method),
			String("path", path),
			zap.Stringer("remote_ip", l.proxies.ClientIP(r)),
			String("user", l.user(r)),
			String("auth", authFromContext(r)),
			String("request_id", l.requestID(r)),
		)
	}
	if len(fs)+len(fields) <= cap(buf) {
		fs = append(fs, fields...)
	} else {
		fs = append(fs[:len(fs):len(fs)], fields...)
	}
	ce.Write(fs...)
}

// ReportDropped writes a [SamplingDropped] event for each kind of event the
// sampler dropped since the last report, now, whatever the interval. Call it
// before a process stops; otherwise reports are written by [Logger.Log], at
// most once per sampling interval.
func (l *Logger) ReportDropped() {
	l.reportDropped(true)
}

func (l *Logger) reportDropped(force bool) {
	now := time.Now().UnixNano()
	last := l.lastReport.Load()
	if !force && now-last < int64(l.interval) {
		return
	}
	if !l.lastReport.CompareAndSwap(last, now) {
		return
	}
	for i := range l.pending {
		n := l.pending[i].Swap(0)
		if n == 0 {
			continue
		}
		l.pendingTotal.Add(-int64(n))
		if ce := l.all.Check(SamplingDropped.Level, SamplingDropped.Name); ce != nil {
			ce.Write(
				zap.String("event", SamplingDropped.Name),
				zap.String("owasp", string(SamplingDropped.OWASP)),
				zap.String("dropped_event", catalog[i].Name),
				zap.Uint64("dropped", n),
				zap.Uint64("dropped_total", l.dropped[i].Load()),
			)
		}
	}
}

// Dropped returns how many events of each kind the sampler has dropped
// since the logger was made, by event name; kinds with none are left out.
// Export it to your metrics to see a flood that the log only samples.
func (l *Logger) Dropped() map[string]uint64 {
	m := make(map[string]uint64)
	for i := range l.dropped {
		if n := l.dropped[i].Load(); n > 0 {
			m[catalog[i].Name] = n
		}
	}
	return m
}

// Proxies returns the trusted-proxy setting, for packages that decide on
// the client's address or scheme.
func (l *Logger) Proxies() *Proxies { return l.proxies }

// ClientIP returns the client's address as [Proxies.ClientIP] decides it.
func (l *Logger) ClientIP(r *http.Request) netip.Addr { return l.proxies.ClientIP(r) }

// IsHTTPS reports whether the client's request came over HTTPS, as
// [Proxies.IsHTTPS] decides it.
// A TLS connection, the common case, is answered inline, without a call.
func (l *Logger) IsHTTPS(r *http.Request) bool { return r.TLS != nil || l.proxies.IsHTTPS(r) }

// Zap returns the underlying zap logger named "security", for events that
// are not in the catalog (configuration warnings at startup, say). For a
// logger built on a slog handler ([Config.Handler], or none), it writes to
// that handler as the events do.
func (l *Logger) Zap() *zap.Logger { return l.all }

type userKey struct{}

// WithUser returns a copy of ctx that names the request's user for the
// "user" field of security events (when [Config.User] is nil). Identity
// middleware calls it once the user is known.
func WithUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

func userFromContext(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

type authKey struct{}

// WithAuth returns a copy of ctx that names what authenticated the
// request's user ("session", "bearer", "token", "basic", a custom
// authenticator's scheme) for the "auth" field of security events, so that
// the log tells a browser's session from an API token. The identity
// middleware calls it with WithUser; it is never the credential itself.
func WithAuth(ctx context.Context, scheme string) context.Context {
	return context.WithValue(ctx, authKey{}, scheme)
}

func authFromContext(r *http.Request) string {
	a, _ := r.Context().Value(authKey{}).(string)
	return a
}

func requestIDHeader(r *http.Request) string {
	return r.Header.Get("X-Request-Id")
}
