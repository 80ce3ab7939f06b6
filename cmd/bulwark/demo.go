package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/identity/oidc/oidctest"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	totpsql "github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	pesql "github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/throttle"
	ptotp "github.com/pquerna/otp/totp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// defaultDBPath is the demo's SQLite file: in the user's cache directory,
// so that running the demo from a checkout leaves the work tree clean.
func defaultDBPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "bulwark", "demo.db")
}

// newSecurityLogger returns the demo's zap logger: JSON lines on w, no
// sampler of zap's own (seclog samples only the high-volume events).
func newSecurityLogger(w io.Writer) (*seclog.Logger, *zap.Logger) {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	z := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zapcore.InfoLevel))
	sec, err := seclog.New(seclog.Config{Logger: z})
	if err != nil {
		panic(err) // the default configuration has no error
	}
	return sec, z
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; a loopback or every-interface address is served as http://localhost:PORT")
	dbPath := fs.String("db", defaultDBPath(), "the demo's database (users, sessions, TOTP, passkeys, CSP reports): an SQLite file, or a postgres:// URL")
	idle := fs.Duration("idle", 30*time.Minute, "idle timeout of a logged-in session (try 1m to see it expire)")
	providerAddr := fs.String("provider-addr", "127.0.0.1:8082", "loopback address of the demo's OpenID Connect provider (\"Log in with the demo provider\"), beside the collector's default 8081; 0 turns it off")
	demoHelp.install(fs)
	if done, err := parseFlags(fs, args, stdout); done || err != nil {
		return prefixErr("demo", err)
	}

	sec, z := newSecurityLogger(stderr)
	defer z.Sync() //nolint:errcheck // stderr

	if err := makeDefaultDir(*dbPath, defaultDBPath()); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dsn := *dbPath
	if !isPostgresURL(dsn) {
		dsn = "sqlite:" + dsn // a file name, whatever it looks like
	}
	db, err := openDB(ctx, dsn)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer db.Close()

	if *idle < time.Second || *idle > 12*time.Hour {
		return fmt.Errorf("demo: -idle %v: choose between 1s and 12h", *idle)
	}
	// The listener first: the demo's origin, which the provider registers
	// as its client's redirect URI, has the port the kernel chose.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer ln.Close()
	origin := publicOrigin(ln.Addr())
	var provider *oidctest.Provider
	if *providerAddr != "0" {
		if provider, err = startProvider(*providerAddr, origin); err != nil {
			return fmt.Errorf("demo: -provider-addr: %w (-provider-addr 0 turns the provider off)", err)
		}
		defer provider.Close()
	}
	handler, secret, err := newDemoHandler(ctx, sec, db, demoConfig{idle: *idle, origin: origin, provider: provider})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           canonicalHost(origin, handler),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(z.Named("http")),
	}
	url := origin + "/"
	accounts := "accounts: alice / alice-password, admin / admin-password (staff), expired / expired-password (must change password), carol / carol-password (TOTP, or a passkey she adds)"
	if provider != nil {
		accounts += ", dave / dave-password (at the demo provider; staff by its role claim)"
	}
	fmt.Fprintln(stdout, accounts)
	fmt.Fprintf(stdout, "carol's TOTP secret: %s (add it to an authenticator app)\n", secret)
	if provider != nil {
		fmt.Fprintf(stdout, "demo provider: %s (\"Log in with the demo provider\" on the login page)\n", provider.Issuer)
	}
	if passkeysAt(origin) {
		fmt.Fprintf(stdout, "passkeys: carol can add one on her account page (%s/account) and use it instead of TOTP, or alone (\"Log in with a passkey\"); open the demo at %s, the passkeys' origin\n", origin, origin)
	}
	fmt.Fprintf(stdout, "bulwark demo: serving on %s (database %s)\n", url, redactDSN(*dbPath))
	sec.Log(nil, seclog.SystemStartup, zap.String("command", "demo"), zap.String("addr", ln.Addr().String()), zap.String("version", version()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		sec.Log(nil, seclog.SystemShutdown, zap.String("command", "demo"), zap.String("reason", err.Error()))
		return fmt.Errorf("demo: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	sec.ReportDropped()
	sec.Log(nil, seclog.SystemShutdown, zap.String("command", "demo"), zap.String("reason", "signal"))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("demo: shutdown: %w", err)
	}
	return nil
}

// enrollCarol enrols carol in TOTP on the demo's first start, and confirms
// the secret with the code of the previous time step, so that the current
// code is not taken already.
func enrollCarol(ctx context.Context, users *userStore, v *totp.Verifier, store totp.Store) error {
	if _, found, err := store.Get(ctx, "carol"); err != nil || found {
		return err
	}
	key, err := v.Enroll(ctx, "carol", "carol")
	if err != nil {
		return err
	}
	code, err := ptotp.GenerateCode(key.Secret(), time.Now().Add(-30*time.Second))
	if err != nil {
		return err
	}
	return v.Confirm(nil, "carol", code)
}

// carolSecret returns carol's TOTP secret, to print at start.
func carolSecret(ctx context.Context, store totp.Store) string {
	rec, found, err := store.Get(ctx, "carol")
	if err != nil || !found {
		return ""
	}
	return rec.Secret
}

// absoluteLimit is the demo's absolute session lifetime (sessionexpiry).
const absoluteLimit = 12 * time.Hour

// rolloutPolicy is the policy the demo rolls out in report-only mode: the
// enforced policy (enforcedPolicy) plus Trusted Types for scripts. Browsers report
// what it would block (the home page's nonced script writes HTML from a
// string) and block nothing; once the reports are understood, it can be
// enforced.
func rolloutPolicy(provider string) csp.Policy {
	return append(enforcedPolicy(provider), csp.Dir(csp.RequireTrustedTypesFor, csp.Script))
}

// enforcedPolicy is the demo's enforced policy: csp.Strict, whose
// form-action 'self' also admits the demo provider's origin (provider,
// "" when it is off). Browsers apply form-action to the redirects that
// follow a form's submission too: Log out's 303 to the provider's
// end_session endpoint would be blocked.
func enforcedPolicy(provider string) csp.Policy {
	p := csp.Strict()
	for i := range p {
		if p[i].Name == csp.FormAction && provider != "" {
			p[i].Sources = append(p[i].Sources, csp.Host(provider))
		}
	}
	return p
}

// passwordIterations is the PBKDF2 cost of the demo's password hashes
// (lowered by tests).
var passwordIterations = pbkdf2Iterations

// demoConfig is what newDemoHandler needs besides its logger and
// database.
type demoConfig struct {
	// idle is sessionexpiry's idle timeout.
	idle time.Duration
	// origin is the demo's public origin (publicOrigin), such as
	// "http://localhost:8080".
	origin string
	// provider is the demo provider, whose login the site offers; nil
	// for none.
	provider *oidctest.Provider
}

// newDemoHandler builds the demo site: path cleaning first, then the
// recommended chain, then the routes.
// It returns carol's TOTP secret too, to print.
func newDemoHandler(ctx context.Context, sec *seclog.Logger, db *sqldb.DB, cfg demoConfig) (http.Handler, string, error) {
	idle := cfg.idle
	users, err := newUserStore(ctx, db, passwordIterations)
	if err != nil {
		return nil, "", fmt.Errorf("demo: users: %w", err)
	}
	sessions := scs.New()
	sessions.Store = newSessionStore(ctx, db, 10*time.Minute) // in SQLite, beside the users
	sessions.Cookie.Name = "bulwark_session"
	sessions.Cookie.SameSite = http.SameSiteLaxMode
	sessions.Lifetime = 24 * time.Hour // longer than the absolute limit below, as sessionexpiry asks
	sessions.Codec = sessionexpiry.Codec{}

	responder, err := identity.NewResponder(identity.ResponderConfig{
		// The demo's API uses the session cookie; its 401 names that scheme.
		Challenge:   `Session realm="bulwark-demo"`,
		APIPatterns: []string{"/api/"},
	})
	if err != nil {
		return nil, "", err
	}
	expiryStore, err := pesql.New(ctx, db)
	if err != nil {
		return nil, "", fmt.Errorf("demo: password expiry store: %w", err)
	}
	// The "expired" account must change its password until it does.
	for _, id := range users.created {
		if id == "expired" {
			if err := expiryStore.Require(ctx, id, passwordexpiry.AdminReset, time.Now()); err != nil {
				return nil, "", fmt.Errorf("demo: flag the expired account: %w", err)
			}
		}
	}
	ajax, err := ajaxonly.New(ajaxonly.Config{Logger: sec})
	if err != nil {
		return nil, "", err
	}
	totpStore, err := totpsql.New(ctx, db)
	if err != nil {
		return nil, "", fmt.Errorf("demo: TOTP store: %w", err)
	}
	// Login throttling: the login form and the TOTP check each have a
	// throttle (scopes "login" and "totp") on one memory store. They share
	// the device cookies' key, made at start (a real site reads it from its
	// secrets, so that every instance and restart knows its cookies): a
	// browser that completed a login before, second factor included, keeps
	// its own budget in both while strangers wait.
	counters := throttle.NewMemoryStore(0)
	device := throttle.Device{
		Key: make([]byte, 32),
		// The demo is served over plain HTTP (its session cookie is not
		// Secure either); a real site leaves Insecure false.
		Insecure: true,
	}
	if _, err := rand.Read(device.Key); err != nil {
		return nil, "", err
	}
	logins, err := throttle.New(throttle.Config{Store: counters, Logger: sec, Device: device})
	if err != nil {
		return nil, "", err
	}
	codes, err := throttle.New(throttle.Config{Store: counters, Logger: sec, Device: device, Scope: "totp"})
	if err != nil {
		return nil, "", err
	}
	otp, err := totp.New(totp.Config{Store: totpStore, Issuer: "bulwark demo", Logger: sec, Throttle: codes})
	if err != nil {
		return nil, "", err
	}
	if err := enrollCarol(ctx, users, otp, totpStore); err != nil {
		return nil, "", fmt.Errorf("demo: enrol carol in TOTP: %w", err)
	}

	// The session login, built here rather than by the chain: the passkeys
	// need it before the chain is made (their verifier goes in its mfa
	// slot), and the chain takes it as its session login.
	ids, err := identity.NewSessions(identity.SessionsConfig{Sessions: sessions, Lookup: users.lookup, Revoke: users.revoke, Logger: sec})
	if err != nil {
		return nil, "", err
	}
	// The second factors, in order of preference: TOTP first (carol's
	// factor from the start), a passkey instead.
	factors := []mfa.Verifier{otp}
	public := []string{"/{$}", "/static/", "GET /health"}
	pk, err := newPasskeys(ctx, db, cfg.origin, ids, users, sec)
	if err != nil {
		return nil, "", fmt.Errorf("demo: passkeys: %w", err)
	}
	if pk != nil {
		factors = append(factors, pk.Verifier())
		public = append(public, passkeyPublic...)
	}

	providerOrigin := ""
	if cfg.provider != nil {
		public = append(public, oidcPublic...)
		providerOrigin = cfg.provider.Issuer
	}

	// The recommended chain, from one configuration: the shared settings
	// once, then one Config per slot. bulwark.New hands the logger, the
	// responder, the login and logout URLs, the public routes and the
	// session manager to every slot, and wires them together: the session
	// login for passwordexpiry's Changed, Clear-Site-Data on an expired
	// session's refusal, nocache's "logged in" test.
	chain, err := bulwark.New(bulwark.Config{
		Logger:    sec,
		Responder: responder,
		LoginURL:  "/login",
		LogoutURL: "/logout",
		// Public for the login gate, mfa and passwordexpiry. The CSP
		// report receiver needs no entry: it is mounted outside the chain
		// below (browsers send reports without cookies).
		Public:   public,
		Sessions: sessions,
		Secure:   bulwark.SecureOptions(),
		// Login and logout forms, and every other unsafe method, refuse
		// cross-origin browser requests (CSRF), before the session is read.
		CrossOrigin: http.NewCrossOriginProtection(),
		SessionExpiry: &sessionexpiry.Config{
			Absolute: absoluteLimit,
			Idle:     idle,
		},
		Identity: &bulwark.IdentityConfig{Authenticators: []identity.Authenticator{ids}},
		LoginRequired: &loginrequired.Config{
			Rules: []loginrequired.Rule{{Pattern: "/admin/", Authorize: loginrequired.Staff}},
		},
		MFA: &mfa.Config{
			// Required asks only users enrolled in one of them: alice,
			// admin and expired log in with a password alone until they
			// add a passkey.
			Verifiers:    factors,
			Required:     mfa.AnyEnrolled(factors...),
			ChallengeURL: "/mfa",
		},
		PasswordExpiry: &passwordexpiry.Config{
			Store:     expiryStore,
			ChangeURL: "/password/change",
		},
		// Profiling for staff (admin): ?profile=timing, trace or cpu on
		// any page, or the X-Bulwark-Profile header; the captures are
		// listed and downloaded at /admin/profiles/ (site.routes).
		Profiling: &profiling.Config{},
		// A strict nonce policy (csp.Strict), reported to the receiver
		// below, and a report-only rollout of the next, stricter one.
		// Lazy: a nonce (and so no-store) only for responses that use one,
		// the pages; static files stay cacheable.
		CSP: &csp.Config{
			Enforce:    enforcedPolicy(providerOrigin),
			ReportOnly: rolloutPolicy(providerOrigin),
			Reporting:  &csp.Reporting{},
			Lazy:       true,
		},
		Referrer: &referrer.Config{}, // same-origin
		NoCache: &nocache.Config{
			Confidential: []string{"/login", "/account", "/admin/", "/password/change", "/api/"},
		},
		ClearSite: &clearsite.Config{
			// The demo is served over plain HTTP on loopback; on a real
			// site Clear-Site-Data is sent over HTTPS only.
			AllowLoopbackHTTP: true,
			// The logout handler calls clearsite.Trigger(w) (site.go).
			Trigger: true,
		},
	})
	if err != nil {
		return nil, "", err
	}
	s := &site{sec: sec, db: db, users: users, ids: chain.SessionAuth(), expiry: chain.PasswordExpiry(), ajax: ajax, mfa: chain.MFA(),
		logins: logins, secondFactor: mfa.AnyEnrolled(factors...), pk: pk, strangers: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)), noStore: chain.NoCache(), prof: chain.Profiling(), idle: idle, absolute: absoluteLimit}
	if cfg.provider != nil {
		if s.oidc, err = newProviderLogin(ctx, cfg.provider, cfg.origin, s.ids, users, sec); err != nil {
			return nil, "", fmt.Errorf("demo: the demo provider's login: %w", err)
		}
	}
	clean := (&pathrule.Guard{OnReject: func(r *http.Request, err *pathrule.RejectError) {
		sec.Log(r, seclog.PathRejected, seclog.String("reason", err.Reason))
	}}).Handler
	// The CSP report receiver runs outside the chain (no session read, no
	// login); its dashboard is an /admin/ page, behind login and staff.
	reportStore, err := cspsql.New(ctx, db)
	if err != nil {
		return nil, "", fmt.Errorf("demo: CSP report store: %w", err)
	}
	reports, err := cspreport.New(cspreport.Config{Store: reportStore, Logger: sec})
	if err != nil {
		return nil, "", err
	}
	s.reports = reports
	// The dashboard of the reports, with the way back to the demo's
	// admin page.
	reportsPage, err := dashboard.New(dashboard.Config{Store: reportStore, AppURL: "/admin/", AppName: "bulwark demo admin"})
	if err != nil {
		return nil, "", err
	}
	routes := s.routes()
	app := clean(chain.Then(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/admin/csp-reports" {
			reportsPage.ServeHTTP(w, r)
			return
		}
		routes.ServeHTTP(w, r)
	})))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == csp.DefaultReportPath {
			reports.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	}), carolSecret(ctx, totpStore), nil
}
