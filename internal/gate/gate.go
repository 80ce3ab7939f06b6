// Package gate is the small core the suite's gates share (loginrequired,
// sessionexpiry, mfa, passwordexpiry, and the next one): the defaults of
// the settings every gate takes (login URL, responder, 503 answer, security
// logger, clock), the exempt routes of a gate that sends users to pages of
// its own, the refusal through the one identity.Responder with its
// security event, the 503 of a store that cannot answer and the 500 of a
// chain in the wrong order (the scs session not loaded).
//
// What stays in each gate is its decision: its own Outcome, Decision and
// Check(r) (Decision, error), and the switch of its Handler. A new gate is
// about twenty lines on this core (see terms, the gate of gate_test.go).
//
// The core is internal: no exported signature of a gate names its types.
package gate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/internal/sessionctx"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/seclog"
	"go.uber.org/zap"
)

// A Page is one of a gate's own pages (its challenge or change page, its
// callback), exempt for every method, as the login and logout pages are.
type Page = pathrule.Page

// Config is what every gate's Config shares; a gate copies its fields in.
// The zero value of each is the default.
type Config struct {
	// Name is the gate's package ("mfa"): it starts every error of New
	// and names the gate in seclog.SessionNotLoaded.
	Name string
	// Exempt and ExemptRegexps are the gate's Config.Exempt (ServeMux
	// patterns) and Config.ExemptRegexps (Django-style regular
	// expressions).
	Exempt, ExemptRegexps []string
	// Pages are the gate's own pages. A gate that has some sends users to
	// them: its exempt routes are then compiled, with Pages, LoginURL and
	// LogoutURL exempt for every method, so that a user is never trapped.
	// A gate without pages has no exempt routes ([Core.Exempt] is false).
	Pages []Page
	// LoginURL is where a person is sent to log in (default "/login");
	// LogoutURL is the logout page (default "/logout"), exempt with Pages.
	LoginURL, LogoutURL string
	// Responder answers refusals (default identity.DefaultResponder()).
	Responder *identity.Responder
	// Unavailable writes the 503 answer (default: the small JSON body of
	// identity.Unavailable).
	Unavailable http.Handler
	// Logger is the security logger (default seclog.Default()).
	Logger *seclog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Core is a gate's share of the core, made once by [New]. Its exported
// fields are the settings with their defaults applied; a gate reads them
// and never changes them.
type Core struct {
	Name      string
	LoginURL  string
	Responder *identity.Responder
	Log       *seclog.Logger
	Now       func() time.Time

	unavailable http.Handler
	exempt      *pathrule.Set // nil for a gate without pages
	own         []string      // the exact patterns of Config.Pages
}

// New returns the core of cfg, or an error that starts with cfg.Name and
// names the Config field that is wrong ("mfa: Config.Exempt: …").
func New(cfg Config) (*Core, error) {
	c := &Core{
		Name: cfg.Name, LoginURL: cfg.LoginURL, Responder: cfg.Responder,
		Log: cfg.Logger, Now: cfg.Now, unavailable: cfg.Unavailable,
	}
	if c.LoginURL == "" {
		c.LoginURL = "/login"
	}
	if c.Responder == nil {
		c.Responder = identity.DefaultResponder()
	}
	if c.Log == nil {
		c.Log = seclog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if len(cfg.Pages) > 0 {
		set, own, err := pathrule.CompileGate(pathrule.Gate{
			Exempt: cfg.Exempt, Regexps: cfg.ExemptRegexps, Pages: cfg.Pages,
			Login: c.LoginURL, Logout: cfg.LogoutURL,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		c.exempt, c.own = set, own
	}
	return c, nil
}

// Exempt reports whether r's route is exempt, and the pattern that
// exempts it. An ambiguous path is not exempt (fail closed).
func (c *Core) Exempt(r *http.Request) (pattern string, ok bool) {
	if c.exempt == nil {
		return "", false
	}
	res := c.exempt.Judge(r)
	return res.Pattern, res.Allowed()
}

// Own reports whether pattern, as [Core.Exempt] returned it, is the exact
// pattern of one of the gate's own pages.
func (c *Core) Own(pattern string) bool {
	return pattern != "" && slices.Contains(c.own, pattern)
}

// Session returns nil when ctx holds sm's session data, and otherwise an
// error wrapping identity.ErrSessionNotLoaded that names the gate and the
// fix: a gate asks it before it first reads the session of a request,
// where scs would panic. It costs one context lookup.
func (c *Core) Session(ctx context.Context, sm *scs.SessionManager) error {
	return sessionctx.Check(ctx, sm, c.Name)
}

// Refuse logs ev with fields, then answers r with ref through the
// Responder.
func (c *Core) Refuse(w http.ResponseWriter, r *http.Request, ref identity.Refusal, ev *seclog.Event, fields ...zap.Field) {
	c.Log.Log(r, ev, fields...)
	c.Responder.Refuse(w, r, ref)
}

// Client is the "client" field of a refusal's event: the kind of client,
// as the Responder judges it (navigation, api, htmx).
func (c *Core) Client(r *http.Request) zap.Field {
	return zap.Stringer("client", c.Responder.Kind(r))
}

// Fail answers a request the gate could not decide (the error of its
// Check): for a session not loaded, 500 and seclog.SessionNotLoaded;
// for any other error, ev logged with fields, then the 503 answer.
func (c *Core) Fail(w http.ResponseWriter, r *http.Request, err error, ev *seclog.Event, fields ...zap.Field) {
	if errors.Is(err, identity.ErrSessionNotLoaded) {
		sessionctx.Refuse(w, r, c.Log, err)
		return
	}
	c.Log.Log(r, ev, fields...)
	c.WriteUnavailable(w, r)
}

// WriteUnavailable writes the gate's 503 answer: Config.Unavailable, or the
// small JSON body of identity.Unavailable.
func (c *Core) WriteUnavailable(w http.ResponseWriter, r *http.Request) {
	identity.Unavailable(w, r, c.unavailable)
}

// String returns names[v], or "Outcome(v)" for a value without a name: the
// String method of each gate's Outcome.
func String[T ~uint8](v T, names []string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "Outcome(" + strconv.Itoa(int(v)) + ")"
}
