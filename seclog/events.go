package seclog

import (
	"fmt"
	"regexp"
	"slices"

	"go.uber.org/zap/zapcore"
)

// An Event is one kind of security event: a name that auditors and alerts
// key on, the level it is logged at, the OWASP Logging Vocabulary name it
// maps to, and a one-line meaning. Events are defined once, in this
// package's catalog, and logged with [Logger.Log]; the catalog is the
// source of docs/security-events.md.
//
// Events are compared by identity: use the package variables, never a copy.
type Event struct {
	// Name is the event's name, "package.what" in lower case
	// (for example "loginrequired.redirect"). It is both the log message
	// and the value of the "event" field.
	Name string
	// Level is the level the event is logged at.
	Level zapcore.Level
	// OWASP is the OWASP Logging Vocabulary name the event maps to.
	OWASP OWASP
	// Meaning says in one line what happened.
	Meaning string
	// Fields names the fields the event carries besides the common ones
	// (see [CommonFields]).
	Fields []string
	// HighVolume marks an event that an attacker can cause at will, at
	// request rate (a refused path, a bad report). Such events go through
	// the logger's sampler so that a flood cannot become a denial of
	// service on the log; how many were dropped stays visible (see
	// [Logger.Dropped] and [SamplingDropped]).
	HighVolume bool

	index int // position in the catalog
}

// CommonFields are the fields every event carries, in this order, before
// its own: the event name, the owasp vocabulary name, and what is known of
// the request.
var CommonFields = []string{"event", "owasp", "method", "path", "remote_ip", "user", "auth", "request_id"}

var catalog []*Event

var eventName = regexp.MustCompile(`^[a-z][a-z0-9]*\.[a-z][a-z0-9_]*$`)

// define adds an event to the catalog. It panics on a malformed or
// duplicate definition: the catalog is fixed at compile time, and its test
// runs these checks too.
func define(e Event) *Event {
	if err := e.validate(); err != nil {
		panic(err)
	}
	for _, c := range catalog {
		if c.Name == e.Name {
			panic(fmt.Sprintf("seclog: event %q defined twice", e.Name))
		}
	}
	e.index = len(catalog)
	p := &e
	catalog = append(catalog, p)
	return p
}

func (e *Event) validate() error {
	if !eventName.MatchString(e.Name) {
		return fmt.Errorf("seclog: event name %q: want \"package.what\" in lower case", e.Name)
	}
	if !slices.Contains(Vocabulary, e.OWASP) {
		return fmt.Errorf("seclog: event %q: %q is not an OWASP Logging Vocabulary name", e.Name, e.OWASP)
	}
	if e.Meaning == "" {
		return fmt.Errorf("seclog: event %q has no meaning", e.Name)
	}
	for _, f := range e.Fields {
		if slices.Contains(CommonFields, f) {
			return fmt.Errorf("seclog: event %q: field %q is already a common field", e.Name, f)
		}
	}
	return nil
}

// Catalog returns every event of the suite, in the order of definition.
// The slice is a copy; the events are shared.
func Catalog() []*Event {
	return slices.Clone(catalog)
}

// The events of the suite. Each package's events are defined here, so that
// the whole catalog is in one place and docs/security-events.md can be
// checked against it.
var (
	// SystemStartup is logged when a bulwark command starts serving.
	SystemStartup = define(Event{
		Name: "system.startup", Level: zapcore.InfoLevel, OWASP: SysStartup,
		Meaning: "a bulwark command started serving",
		Fields:  []string{"command", "addr", "version"},
	})
	// SystemShutdown is logged when a bulwark command stops serving.
	SystemShutdown = define(Event{
		Name: "system.shutdown", Level: zapcore.InfoLevel, OWASP: SysShutdown,
		Meaning: "a bulwark command stopped serving",
		Fields:  []string{"command", "reason"},
	})
	// SamplingDropped is logged, at most once per sampling interval, when
	// the sampler dropped high-volume events: the flood itself is visible
	// even when its events are not all written.
	SamplingDropped = define(Event{
		Name: "seclog.dropped", Level: zapcore.WarnLevel, OWASP: ExcessRateLimitExceeded,
		Meaning: "high-volume security events were dropped by the sampler",
		Fields:  []string{"dropped_event", "dropped", "dropped_total"},
	})
	// PathRejected is logged when a request path is refused or redirected
	// because it is not clean or is read differently by different parsers
	// (internal/pathrule).
	PathRejected = define(Event{
		Name: "path.rejected", Level: zapcore.WarnLevel, OWASP: InputValidationFail,
		Meaning:    "a request path that is not clean or is ambiguous was refused or redirected to its clean form",
		Fields:     []string{"reason"},
		HighVolume: true,
	})
)
