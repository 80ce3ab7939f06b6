package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/passkey"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/throttle"
	"go.uber.org/zap"
)

//go:embed static
var staticFiles embed.FS

// site holds what the demo's handlers share.
type site struct {
	sec    *seclog.Logger
	db     *sqldb.DB
	users  *userStore
	ids    *identity.Sessions
	expiry *passwordexpiry.Middleware
	ajax   *ajaxonly.Middleware
	mfa    *mfa.Middleware
	// logins throttles password guesses (the login form); secondFactor
	// tells whether a user has a second factor (TOTP or a passkey) still
	// to pass before the login is complete.
	logins       *throttle.Throttle
	secondFactor func(context.Context, identity.User) (bool, error)
	// pk is the passkeys: registration on the account page, the second
	// factor, the passwordless login (passkeys.go); nil when the demo is
	// not served on localhost.
	pk *passkey.Passkeys
	// strangers bounds the password hashes computed at once for clients
	// without a device cookie: a flood of guesses, even within its free
	// attempts, gets at most half the processors, and a browser that
	// logged in before (which skips this queue) is not slowed by it.
	strangers chan struct{}
	// noStore tells which pages nocache marked (for the "what bulwark
	// did here" box); idle and absolute are sessionexpiry's limits.
	noStore        *nocache.Middleware
	prof           *profiling.Middleware
	idle, absolute time.Duration
	// reports is the CSP report receiver, whose store's failures /health
	// reports (set after the site is made).
	reports *cspreport.Receiver
	// oidc is the login through the demo provider; nil when the provider
	// is off (-provider-addr 0).
	oidc *oidc.Login
}

// page is what every template gets.
type page struct {
	Title string
	User  identity.User
	Next  string
	Error string
	Note  template.HTML
	Data  any
	Nonce string // the CSP nonce of this response
	// Provider tells the pages that the demo provider runs: the login
	// page offers "Log in with the demo provider".
	Provider bool
	// Passkeys tells the pages that the demo offers passkeys (it is
	// served on http://localhost:PORT).
	Passkeys bool

	// Sent, Idle and Absolute fill the "what bulwark did here" box.
	Sent           []sentHeader
	Idle, Absolute time.Duration
}

// sentHeader is one response header of a page, with the middleware that
// set it.
type sentHeader struct{ Name, Value, By string }

// suiteHeaders are the headers that the chain sets, in the order the box
// shows them, with the middleware that sets each. Cache-Control has two
// possible authors, told apart per request (see sentHeaders).
var suiteHeaders = []struct{ name, by string }{
	{"Content-Security-Policy", "csp: the enforced policy"},
	{"Content-Security-Policy-Report-Only", "csp: the policy being rolled out (report-only: nothing is blocked)"},
	{"Reporting-Endpoints", "csp: where Reporting API reports go (HTTPS only)"},
	{"Referrer-Policy", "referrer"},
	{"Cache-Control", ""},
	{"Pragma", "nocache (legacy caches)"},
	{"Expires", "nocache (legacy caches)"},
	{"Clear-Site-Data", "clearsite"},
	{"Set-Cookie", "scs: the session cookie, sent again when the session changed, as when sessionexpiry records your activity; its value is not shown"},
	{"Vary", "scs: the page depends on the session cookie"},
	{"Server-Timing", "profiling: a staff request that asked to be profiled"},
	{"Strict-Transport-Security", "unrolled/secure (HTTPS only)"},
	{"X-Content-Type-Options", "unrolled/secure"},
	{"X-Frame-Options", "unrolled/secure"},
	{"X-Xss-Protection", "unrolled/secure"},
	{"Cross-Origin-Opener-Policy", "unrolled/secure"},
	{"Cross-Origin-Resource-Policy", "unrolled/secure"},
}

// sentHeaders returns the suite's headers in h, the header map of r's
// response once its status is written: by then every middleware of the
// chain has decided its headers.
func (s *site) sentHeaders(h http.Header, r *http.Request) []sentHeader {
	var out []sentHeader
	for _, sh := range suiteHeaders {
		for _, v := range h.Values(sh.name) {
			by := sh.by
			switch sh.name {
			case "Cache-Control":
				switch {
				case strings.HasPrefix(v, "no-cache="):
					by = "scs: no cache may store the session cookie"
				case s.noStore.Confidential(r):
					by = "nocache: a confidential page (account pages, or a logged-in user)"
				default:
					by = "csp: a page with a nonce must not be cached"
				}
			case "Set-Cookie":
				v = hideCookieValue(v)
			}
			out = append(out, sentHeader{Name: sh.name, Value: v, By: by})
		}
	}
	return out
}

// hideCookieValue replaces the value of a Set-Cookie header with "…": a
// session token is not for display.
func hideCookieValue(v string) string {
	name, rest, _ := strings.Cut(v, "=")
	_, attrs, found := strings.Cut(rest, ";")
	if !found {
		return name + "=…"
	}
	return name + "=…;" + attrs
}

// render writes the page. It makes the CSP nonce first (the policy is lazy:
// a response carries a nonce only when the handler asks for one), writes
// the status, which is when the middlewares set their headers, and then
// reads those headers back for the page's box.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.User = identity.FromRequest(r)
	p.Nonce = csp.Nonce(r.Context())
	p.Provider = s.oidc != nil
	p.Passkeys = s.pk != nil
	if p.User != nil {
		p.Idle, p.Absolute = s.idle, s.absolute
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	p.Sent = s.sentHeaders(w.Header(), r)
	if err := templates.ExecuteTemplate(w, name, p); err != nil {
		s.sec.Zap().Error("demo: render", zap.String("template", name), zap.Error(err))
	}
}

// routes returns the demo's application mux: the routes of the Gates
// issue's contract.
func (s *site) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "home", page{Title: "bulwark demo"})
	})
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Next: r.URL.Query().Get("next")})
	})
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logoutAtProvider(s.logout(s.ids.Logout)))
	if s.oidc != nil {
		s.providerRoutes(mux)
	}
	// Log out everywhere: a new session epoch ends every session of the
	// user, on every demo sharing the database, this one included.
	mux.HandleFunc("POST /logout/everywhere", s.logout(s.ids.LogoutEverywhere))
	mux.Handle("GET /ajax/ping", s.ajax.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`+"\n")
	})))
	mux.HandleFunc("GET /account", s.account)
	s.passkeyRoutes(mux)
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		u := identity.FromRequest(r) // the login gate let no anonymous request in
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"id": u.ID(), "name": u.DisplayName(), "staff": u.Staff(), "superuser": u.Superuser()})
	})
	mux.HandleFunc("GET /admin/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "admin", page{Title: "Staff only"})
	})
	// The captures of profiled requests: staff only (the login gate's
	// /admin/ rule, and the page checks again).
	mux.Handle("GET /admin/profiles/", s.prof.Profiles())
	mux.HandleFunc("GET /password/change", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "password", page{Title: "Change your password"})
	})
	mux.HandleFunc("POST /password/change", s.changePassword)
	mux.HandleFunc("GET /mfa", s.challenge)
	mux.HandleFunc("POST /mfa", s.completeChallenge)
	// Unsafe cross-origin requests (CSRF) are refused by the chain's
	// CrossOrigin slot before they reach the mux (demo.go).
	return mux
}

// logout ends the session with end, then sends the browser home with
// Clear-Site-Data on the 303: it drops the site's cookies and storage.
func (s *site) logout(end func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := end(r); err != nil {
			http.Error(w, "could not log out", http.StatusInternalServerError)
			return
		}
		_ = clearsite.Trigger(w)
		identity.Redirect(w, r, "/", http.StatusSeeOther)
	}
}

func (s *site) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	// A ping misses write failures (a full disk): the receiver's Check
	// knows whether its last commit failed, and probes with a write.
	err := s.db.Ping(ctx)
	if err == nil && s.reports != nil {
		err = s.reports.Check(ctx)
	}
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unavailable"}`+"\n")
		return
	}
	io.WriteString(w, `{"status":"ok"}`+"\n")
}

// maxFormBytes bounds the login and password forms.
const maxFormBytes = 16 << 10

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	name, password, next := r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("next")
	// The throttle judges the attempt before any password hash, and
	// answers alike whether the account exists or not.
	attempt, err := s.logins.Check(r, name)
	if err != nil {
		identity.Unavailable(w, r, nil) // the throttle logged throttle.store_error
		return
	}
	if !attempt.Allowed {
		w.Header().Set("Retry-After", throttle.RetryAfterHeader(attempt.RetryAfter))
		s.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Log in", Next: next, Error: "Too many attempts: try again later."})
		return
	}
	u, err := s.authenticate(r, attempt, name, password)
	if errors.Is(err, errBusy) || r.Context().Err() != nil {
		identity.Unavailable(w, r, nil) // 503, Retry-After: 5
		return
	}
	if err != nil {
		s.sec.Log(r, seclog.IdentityUnavailable, zap.String("authenticator", "login-form"), seclog.String("error", err.Error()), zap.Bool("fail_open", false))
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	if u == nil {
		s.sec.Log(r, seclog.IdentityAuthFailed, zap.String("authenticator", "login-form"), seclog.String("reason", "wrong user name or password for "+name))
		s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Next: next, Error: "Wrong user name or password."})
		return
	}
	if err := s.ids.Login(r, u); err != nil {
		http.Error(w, "could not log in", http.StatusInternalServerError)
		return
	}
	// This account's attempts from this client are forgotten; the login
	// is complete, and the browser trusted, only after the second factor
	// when the user has one (completeChallenge).
	_ = s.logins.Succeeded(r, attempt) // a store error is logged
	if enrolled, err := s.secondFactor(r.Context(), u); err == nil && !enrolled {
		s.logins.TrustDevice(w, r, name)
	}
	// A user with a second factor is sent to the challenge first; the
	// gate keeps next server-side and checks it again after the code.
	if next != "" {
		s.mfa.SetNext(r, next)
	}
	// Absolute targets must be https even when the demo is served over
	// plain HTTP: stricter than Django's require_https=request.is_secure(),
	// and same-site paths, the usual next, are unaffected.
	target := "/account"
	if next != "" && identity.SafeNext(next, []string{r.Host}, true) {
		target = next
	}
	identity.Redirect(w, r, target, http.StatusSeeOther)
}

// authenticate checks the login form's credentials: one password hash,
// queued behind other strangers' unless the client showed a device cookie.
func (s *site) authenticate(r *http.Request, attempt throttle.Attempt, name, password string) (identity.User, error) {
	if !attempt.Device {
		wait := time.NewTimer(strangerWait)
		defer wait.Stop()
		select {
		case s.strangers <- struct{}{}:
			defer func() { <-s.strangers }()
		case <-wait.C:
			return nil, errBusy
		case <-r.Context().Done():
			return nil, r.Context().Err() // the client left; its attempt stays counted
		}
	}
	return s.users.authenticate(r.Context(), name, password)
}

// strangerWait bounds how long a stranger's login waits for a turn to be
// hashed, well within the server's WriteTimeout; then it is answered 503
// with Retry-After (its attempt stays counted).
const strangerWait = 10 * time.Second

var errBusy = errors.New("demo: too many logins being checked")

func (s *site) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	u := identity.FromRequest(r)
	current, next := r.PostForm.Get("current"), r.PostForm.Get("new")
	ok, err := s.users.authenticate(r.Context(), u.ID(), current)
	switch {
	case err != nil:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	case ok == nil:
		s.render(w, r, http.StatusOK, "password", page{Title: "Change your password", Error: "The current password is wrong."})
		return
	case len(next) < 12 || len(next) > 1024:
		s.render(w, r, http.StatusOK, "password", page{Title: "Change your password", Error: "Choose a new password of 12 characters or more."})
		return
	}
	if err := s.users.setPassword(r.Context(), u.ID(), next); err != nil {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	// One call frees the user at once and keeps this session (a new token,
	// under the new password); the user's other sessions end.
	if err := s.expiry.Changed(r, u.ID()); err != nil {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	identity.Redirect(w, r, "/account", http.StatusSeeOther)
}

// challenge is the second-factor page (GET): the gate begins a challenge,
// of the method the user chose among the others offered (?method=), or of
// their first.
func (s *site) challenge(w http.ResponseWriter, r *http.Request) {
	var start mfa.Start
	var err error
	if method := r.URL.Query().Get("method"); method != "" {
		start, err = s.mfa.BeginMethod(w, r, method)
	} else {
		start, err = s.mfa.Begin(w, r)
	}
	switch {
	case errors.Is(err, mfa.ErrUnavailable):
		s.mfa.WriteUnavailable(w, r)
	case errors.Is(err, mfa.ErrNoSession):
		identity.Redirect(w, r, "/login", http.StatusSeeOther)
	case r.Context().Err() != nil:
		// The client left during the check: nobody reads an answer, and
		// the gate applied no fail mode (mfa.abandoned is logged).
	case errors.Is(err, mfa.ErrUnknownMethod), errors.Is(err, mfa.ErrNotEnrolled) && r.URL.Query().Has("method"):
		// The challenge under way, if any, stays: back to it.
		s.render(w, r, http.StatusForbidden, "mfa", page{Title: "Second factor", Error: "That second factor is not one of yours.", Data: challengePage{Retry: "/mfa"}})
	case err != nil:
		s.render(w, r, http.StatusForbidden, "mfa", page{Title: "Second factor", Error: "You have no second factor to check.", Data: challengePage{}})
	case start.Bypassed:
		identity.Redirect(w, r, start.Next, http.StatusSeeOther)
	case start.Redirect != "":
		identity.Redirect(w, r, start.Redirect, http.StatusSeeOther)
	default:
		s.render(w, r, http.StatusOK, "mfa", page{Title: "Second factor", Data: challengePage{Method: start.Method, Options: string(start.Options), Alternatives: start.Alternatives}})
	}
}

// challengePage is the challenge page's data.
type challengePage struct {
	// Method is the challenge on screen: "totp" shows the code form,
	// "passkey" the passkey form (Options, the request options of
	// navigator.credentials.get, read by passkey.js); "" neither.
	Method  string
	Options string
	// Alternatives are the user's other methods (Start.Alternatives):
	// "Use passkey instead" links to /mfa?method=passkey.
	Alternatives []string
	// Retry, if set, is a link back to a challenge.
	Retry string
}

// methodLabel names a second factor in the challenge page's links.
func methodLabel(method string) string {
	switch method {
	case "totp":
		return "a code from your authenticator app"
	case passkey.Method:
		return "passkey"
	}
	return method
}

// refusedPage is the challenge page after a refused answer: the code form
// again after a code; after a passkey, which needs new request options,
// a link that begins the passkey challenge again.
func refusedPage(r *http.Request, msg string) page {
	if r.PostForm.Get(mfa.MethodField) == passkey.Method {
		return page{Title: "Second factor", Error: "Your passkey was refused.", Data: challengePage{Retry: "/mfa?method=" + passkey.Method}}
	}
	return page{Title: "Second factor", Error: msg, Data: challengePage{Method: "totp"}}
}

// completeChallenge checks the code (POST) and sends the user on.
func (s *site) completeChallenge(w http.ResponseWriter, r *http.Request) {
	next, err := s.mfa.Complete(w, r)
	switch {
	case errors.Is(err, mfa.ErrUnavailable):
		s.mfa.WriteUnavailable(w, r)
	case errors.Is(err, mfa.ErrNoSession):
		identity.Redirect(w, r, "/login", http.StatusSeeOther)
	case errors.Is(err, mfa.ErrReplay):
		s.render(w, r, http.StatusForbidden, "mfa", refusedPage(r, "That code was used already: wait for the next one."))
	case errors.Is(err, mfa.ErrLocked):
		if wait, ok := throttle.RetryAfter(err); ok {
			w.Header().Set("Retry-After", throttle.RetryAfterHeader(wait))
		}
		p := refusedPage(r, "Too many attempts: try again later.")
		p.Error = "Too many attempts: try again later."
		s.render(w, r, http.StatusTooManyRequests, "mfa", p)
	case err != nil:
		s.render(w, r, http.StatusForbidden, "mfa", refusedPage(r, "Wrong or expired code."))
	default:
		s.logins.TrustDevice(w, r, identity.FromRequest(r).ID())
		identity.Redirect(w, r, next, http.StatusSeeOther)
	}
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{"passkeyFinish": passkeyFinishURL, "methodLabel": methodLabel}).Parse(`
{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<link rel="stylesheet" href="/static/app.css"></head><body>
<header><h1>{{.Title}}</h1><nav>
<a href="/">Home</a><a href="/account">Account</a><a href="/admin/">Admin</a><a href="/api/me">/api/me</a>
{{if .User}}<form method="post" action="/logout"><button>Log out {{.User.DisplayName}}</button></form>{{else}}<a href="/login">Log in</a>{{end}}
</nav></header>{{end}}
{{define "bottom"}}<section class="did" id="did-here"><h2>What bulwark did here</h2>
<p>The headers the chain set on this response, read back by the page's handler just after it wrote the status,
which is when the middlewares decide them. A header set later is not sent at all, so this is what the browser got
from bulwark (net/http adds <code>Date</code> and <code>Content-Length</code> itself).</p>
<table id="sent-headers"><tr><th>header</th><th>value</th><th>set by</th></tr>
{{range .Sent}}<tr><td><code>{{.Name}}</code></td><td><code>{{.Value}}</code></td><td>{{.By}}</td></tr>
{{else}}<tr><td colspan="3">none</td></tr>{{end}}</table>
<ul>{{with .Nonce}}
<li><b>csp</b>: this response's nonce is <code id="nonce">{{.}}</code>, in both policies above; only the scripts and
styles of this page that carry it may run, and a reload gets a new one.</li>{{end}}
<li><b>identity</b>: {{if .User}}you are <code>{{.User.ID}}</code>{{if .User.Staff}} (staff){{end}}{{else}}you are anonymous{{end}}.</li>
{{if .User}}<li><b>sessionexpiry</b>: this session ends after {{.Idle}} without a request, and {{.Absolute}} after
the login at the latest; it then logs you out and clears the site's data, as Log out does.</li>{{end}}
</ul></section>
</body></html>{{end}}

{{define "home"}}{{template "top" .}}
<p>This site runs the bulwark chain. Security events are written to the terminal as JSON lines. The box at the
bottom of every page shows what the middlewares did to that page's response.</p>
<div class="note"><p>On this page:</p><ul>
<li><b>csp</b> enforces a strict policy with this response's nonce: a script that carries it runs, one without it
is blocked and reported to <code>/csp-report</code>; staff read the reports at <a href="/admin/csp-reports">/admin/csp-reports</a>.
<script nonce="{{.Nonce}}">document.currentScript.insertAdjacentHTML("afterend", " <b id=nonced>This line was written by a script that carries the nonce.</b>")</script>
<script>document.write(" <b id=blocked>A script without the nonce wrote this: the policy failed.</b>")</script></li>
<li><b>csp</b> also rolls out a stricter policy in report-only mode: the same one plus
<code>require-trusted-types-for 'script'</code>. The nonced script above writes HTML from a string, which that
policy forbids: the browser ran it all the same, and reported it.</li>
<li><b>scs</b> loaded the session from the demo's SQLite file (cookie <code>bulwark_session</code>, set only once the
session holds data; a restart keeps you logged in).</li>
<li><b>loginrequired</b> let this page through: <code>/{$}</code> is public. Every route that is not listed needs a login
(try <a href="/account">/account</a>), and any path that is not clean or is ambiguous is refused
(try <a href="/static/%2e%2e/account">/static/%2e%2e/account</a>).</li>
<li><b>ajaxonly</b> answers <code>/ajax/ping</code> to scripts only: <button id="ping" type="button">fetch /ajax/ping</button>
<output id="pong"></output>; a visit to <a href="/ajax/ping">/ajax/ping</a> is a navigation, refused with 403 (after a login:
anonymous requests get the login gate's answer first).
<script nonce="{{.Nonce}}">document.getElementById("ping").addEventListener("click", async () => {
  const r = await fetch("/ajax/ping", {headers: {"X-Requested-With": "XMLHttpRequest"}});
  document.getElementById("pong").textContent = r.status + " " + (await r.text());
});</script></li>
</ul></div>
<p>Accounts: <code>alice</code> / <code>alice-password</code>, <code>admin</code> / <code>admin-password</code> (staff),
<code>expired</code> / <code>expired-password</code> (must change password), <code>carol</code> /
<code>carol-password</code> (second factor: the demo printed her TOTP secret){{if .Provider}}, and <code>dave</code> /
<code>dave-password</code> at the demo provider (staff by its role claim: log in with the provider){{end}}.</p>
{{template "bottom" .}}{{end}}

{{define "login"}}{{template "top" .}}
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form class="stack" method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button></form>
{{if .Passkeys}}<p><button type="button" id="passkey-login" data-passkey-login data-begin="/login/passkey/begin"
data-finish="{{passkeyFinish .Next}}">Log in with a passkey</button> (one added on your account page; your device
checks your PIN or fingerprint, and no second factor is asked)</p>
<p id="passkey-message" data-passkey-message></p>
<script src="/static/passkey.js" nonce="{{.Nonce}}" defer></script>{{end}}
{{if .Provider}}<p><a id="provider-login" href="/login/oidc?next={{.Next}}">Log in with the demo provider</a>
(<code>dave</code> / <code>dave-password</code>): <b>identity/oidc</b>'s code flow with PKCE, <code>next</code> kept
through the round trip.</p>{{end}}
<div class="note"><p><b>identity.Sessions</b> renews the session token at login (no session fixation).
<b>identity.SafeNext</b> decides whether <code>next</code>{{if .Next}} (<code>{{.Next}}</code>){{end}} may be followed.
<b>http.CrossOriginProtection</b> refuses this form when it is posted from another site.</p></div>
{{template "bottom" .}}{{end}}

{{define "account"}}{{template "top" .}}
<p id="account">Logged in as <b>{{.User.DisplayName}}</b> (<code>{{.User.ID}}</code>) since {{.Data.Since}}.</p>
<div class="note"><p><b>loginrequired</b> let you in because you are logged in; anonymous visitors are sent to
<code>/login?next=%2Faccount</code>, and scripts get a 401 JSON answer instead.
<b>nocache</b> marked this page <code>no-store</code>: it is confidential, so no cache keeps it.
<b>clearsite</b> sends <code>Clear-Site-Data</code> on the answer to <b>Log out</b>, a redirect (so no page shows
that header in its box): the browser then drops this site's cookies and storage.</p></div>
<p><a href="/password/change">Change your password</a></p>
{{if .Passkeys}}<h2>Passkeys</h2>
<div class="note"><p><b>mfa/passkey</b>: a passkey added here is a second factor instead of TOTP (a user who had
none is asked for it from then on), and logs you in alone with <b>Log in with a passkey</b> when your device checks
your PIN or fingerprint. Adding one needs a login of the last 15 minutes.</p></div>
{{with .Data}}{{if .PasskeysErr}}<p class="error">Your passkeys could not be listed.</p>{{end}}
<table id="passkeys"><tr><th>name</th><th>added</th><th>last used</th><th></th></tr>
{{range .Passkeys}}<tr class="passkey"><td>{{.Name}}{{if .CloneWarning}} <b class="error clone-warning">Warning: its
signature counter went back, so it may have been copied. It is refused from now on: delete it, and add another.</b>{{end}}</td>
<td>{{.CreatedAt.Format "2006-01-02 15:04 MST"}}</td><td>{{if .LastUsedAt.IsZero}}never{{else}}{{.LastUsedAt.Format "2006-01-02 15:04 MST"}}{{end}}</td>
<td><form method="post" action="/account/passkeys/delete"><input type="hidden" name="id" value="{{.EncodedID}}"><button>Delete</button></form></td></tr>
{{else}}<tr><td colspan="4">none yet</td></tr>{{end}}</table>{{end}}
<p><label>Name <input id="pk-name" placeholder="laptop" maxlength="64"></label>
<button type="button" id="add-passkey" data-passkey-register data-begin="/account/passkeys/begin"
data-finish="/account/passkeys/finish" data-name-input="#pk-name">Add a passkey</button></p>
<p id="passkey-message" data-passkey-message></p>
<script src="/static/passkey.js" nonce="{{.Nonce}}" defer></script>{{end}}
{{template "bottom" .}}{{end}}

{{define "admin"}}{{template "top" .}}
<p>Only staff see this page.</p>
<div class="note"><p><b>loginrequired</b>'s rule <code>/admin/</code> → <code>Staff</code> let you in and logged
<code>loginrequired.admin_access</code>; other users get 403 and <code>loginrequired.forbidden</code>.</p>
<p><b>profiling</b> profiles a staff request that asks: <a href="/admin/?profile=timing">this page with
<code>?profile=timing</code></a> gets a <code>Server-Timing</code> header (see the box below, or your browser's
developer tools), <a href="/admin/?profile=trace">?profile=trace</a> and <code>?profile=cpu</code> also capture an
execution trace or a CPU profile, listed at <a href="/admin/profiles/">/admin/profiles/</a>. Anyone else who asks is
served as usual, and logged.</p></div>
<p><a href="/admin/csp-reports">CSP reports</a> · <a href="/admin/profiles/">Profiles</a></p>
{{template "bottom" .}}{{end}}

{{define "mfa"}}{{template "top" .}}
<div class="note"><p><b>mfa</b> lets a user with a second factor reach only this page, login and logout until they
type the code of their authenticator app (TOTP, RFC 6238; a used code is refused){{if .Passkeys}}, or use a passkey they
added on their account page instead (<b>mfa/passkey</b>: the browser signs a challenge made for this page){{end}}. The
session token is renewed on success; the page you asked for is kept on the server and checked with <code>SafeNext</code>.</p></div>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
{{with .Data}}{{if eq .Method "totp"}}<form class="stack" method="post" action="/mfa"><input type="hidden" name="mfa_method" value="totp">
<label>Code <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required></label>
<button id="verify">Verify</button></form>
{{else if eq .Method "passkey"}}<form class="stack" id="passkey-mfa" method="post" action="/mfa" data-passkey-mfa data-options="{{.Options}}">
<input type="hidden" name="mfa_method" value="passkey"><input type="hidden" name="passkey_credential">
<button id="use-my-passkey">Use my passkey</button></form>
<p id="passkey-message" data-passkey-message></p>
<script src="/static/passkey.js" nonce="{{$.Nonce}}" defer></script>{{end}}
{{range .Alternatives}}<p><a id="use-{{.}}" href="/mfa?method={{.}}">Use {{methodLabel .}} instead</a></p>{{end}}
{{with .Retry}}<p><a id="retry" href="{{.}}">Try again</a></p>{{end}}{{end}}
{{template "bottom" .}}{{end}}

{{define "password"}}{{template "top" .}}
<div class="note"><p><b>passwordexpiry</b> sends a user who must change their password here (the
<code>expired</code> account is flagged <code>admin-reset</code>); every other page redirects here until the change, and
scripts get 403 <code>{"error":"password_change_required","reason":"admin_reset"}</code>.</p></div>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form class="stack" method="post" action="/password/change">
<label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
<label>New password <input name="new" type="password" autocomplete="new-password" minlength="12" required></label>
<button>Change</button></form>
{{template "bottom" .}}{{end}}
`))
