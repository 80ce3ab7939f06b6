// Command externalapp is a small site built on bulwark from outside its
// module, with the public API only: a login form (throttled), a dashboard
// behind the login gate, a bearer-token API, CSP nonces in templates, the
// CSP report receiver on SQLite, session expiry, no-store on confidential
// pages, Clear-Site-Data at logout and CSRF protection, all through one
// bulwark.Config.
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"flag"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/pathrule"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
	"github.com/bulwark-go/bulwark/throttle"
	throttlesql "github.com/bulwark-go/bulwark/throttle/sqlstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dbPath := flag.String("db", "app.db", "SQLite file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The security events go to the program's slog logger, as JSON lines.
	sec, err := seclog.New(seclog.Config{Handler: slog.NewJSONHandler(os.Stderr, nil)})
	if err != nil {
		log.Fatal(err)
	}
	a, err := newApp(ctx, *dbPath, sec)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	srv := &http.Server{Addr: *addr, Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// app is the whole site: the chain around the pages, the report receiver
// beside it.
type app struct {
	http.Handler
	chain   *bulwark.Chain
	logins  *throttle.Throttle
	reports *cspreport.Receiver
	close   func()
}

// Close flushes the reports still queued and closes the database.
func (a *app) Close() { a.close() }

// user is an account; the password is kept as a PBKDF2 hash.
type user struct {
	identity.Basic
	salt, hash []byte
	token      string // the API token
}

func hashPassword(password string, salt []byte) []byte {
	key, err := pbkdf2.Key(sha256.New, password, salt, 100_000, 32)
	if err != nil {
		panic(err) // only for an invalid key length
	}
	return key
}

func newUser(id, name, password, token string) *user {
	salt := []byte("salt-of-" + id) // per-user random salt in a real store
	return &user{
		Basic: identity.Basic{UserID: id, Name: name, IsActive: true},
		salt:  salt, hash: hashPassword(password, salt), token: token,
	}
}

var users = map[string]*user{
	"alice": newUser("alice", "Alice", "alice-password", "alice-api-token"),
}

var pages = template.Must(template.New("").Funcs(csp.TemplateFuncs()).Parse(`
{{define "home"}}<!doctype html><title>Home</title>
<form method="post" action="/login">
<input name="username" autocomplete="username"><input name="password" type="password" autocomplete="current-password">
<button>Log in</button></form>
<script nonce="{{cspNonce .}}">document.title += " ✓"</script>{{end}}
{{define "dashboard"}}<!doctype html><title>Dashboard</title>
<p>Hello {{.Name}}.</p><form method="post" action="/logout"><button>Log out</button></form>
<script nonce="{{cspNonce .Ctx}}">console.log("allowed by the CSP")</script>{{end}}
`))

func newApp(ctx context.Context, dbPath string, sec *seclog.Logger) (*app, error) {
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*app, error) {
		db.Close()
		return nil, err
	}
	reportStore, err := cspsql.New(ctx, db)
	if err != nil {
		return fail(err)
	}
	throttleStore, err := throttlesql.New(ctx, db)
	if err != nil {
		return fail(err)
	}
	reports, err := cspreport.New(cspreport.Config{Store: reportStore, Logger: sec})
	if err != nil {
		return fail(err)
	}
	logins, err := throttle.New(throttle.Config{Store: throttleStore, Logger: sec})
	if err != nil {
		return fail(err)
	}

	sessions := scs.New() // in production: a persistent scs store, Cookie.Secure
	chain, err := bulwark.New(bulwark.Config{
		Logger:      sec,
		Sessions:    sessions,
		Public:      []string{"/{$}", "POST /login"},
		Secure:      bulwark.SecureOptions(),
		CrossOrigin: http.NewCrossOriginProtection(),
		SessionExpiry: &sessionexpiry.Config{
			Absolute: 8 * time.Hour,
			Idle:     30 * time.Minute,
		},
		Identity: &bulwark.IdentityConfig{
			Lookup: func(_ context.Context, id string) (identity.User, error) {
				if u, ok := users[id]; ok {
					return u, nil
				}
				return nil, nil
			},
			Authenticators: []identity.Authenticator{&identity.Bearer{
				Lookup: func(_ context.Context, token string) (identity.User, error) {
					for _, u := range users {
						if subtle.ConstantTimeCompare([]byte(token), []byte(u.token)) == 1 {
							return u, nil
						}
					}
					return nil, nil
				},
			}},
		},
		LoginRequired: &loginrequired.Config{},
		CSP:           &csp.Config{Enforce: csp.Strict(), Reporting: &csp.Reporting{}},
		Referrer:      &referrer.Config{},
		NoCache:       &nocache.Config{Confidential: []string{"/login"}},
		ClearSite:     &clearsite.Config{Paths: []string{"POST /logout"}},
	})
	if err != nil {
		return fail(err)
	}

	a := &app{chain: chain, logins: logins, reports: reports}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pages.ExecuteTemplate(w, "home", r)
	})
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := chain.SessionAuth().Logout(r); err != nil {
			http.Error(w, "cannot log out", http.StatusInternalServerError)
			return
		}
		identity.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		pages.ExecuteTemplate(w, "dashboard", struct {
			Name string
			Ctx  context.Context
		}{identity.FromRequest(r).DisplayName(), r.Context()})
	})
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"` + template.JSEscapeString(identity.FromRequest(r).ID()) + `"}`))
	})

	// Only clean paths reach the chain and the mux; the report receiver
	// sits outside the chain (no session, no login, no CSRF check: browsers
	// send reports on their own).
	root := http.NewServeMux()
	root.Handle("POST "+csp.DefaultReportPath, reports)
	root.Handle("/", chain.Then(mux))
	guard := &pathrule.Guard{OnReject: func(r *http.Request, err *pathrule.RejectError) {
		sec.Log(r, seclog.PathRejected, seclog.String("reason", err.Reason))
	}}
	a.Handler = guard.Handler(root)
	a.close = func() {
		reports.Close(context.Background())
		reportStore.Close()
		db.Close()
	}
	return a, nil
}

// login checks a password, throttled per account and client before the
// hash is computed.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("username")
	attempt, err := a.logins.Check(r, name)
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	if !attempt.Allowed {
		a.logins.Refuse(w, r, attempt)
		return
	}
	u, ok := users[name]
	var hash []byte
	if ok {
		hash = hashPassword(r.PostFormValue("password"), u.salt)
	} else {
		hashPassword(r.PostFormValue("password"), []byte("no-such-user")) // same time either way
	}
	if !ok || subtle.ConstantTimeCompare(hash, u.hash) != 1 {
		http.Error(w, "wrong username or password", http.StatusUnauthorized)
		return
	}
	if err := a.logins.Succeeded(r, attempt); err != nil {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if err := a.chain.SessionAuth().Login(r, u); err != nil {
		http.Error(w, "cannot log in", http.StatusInternalServerError)
		return
	}
	identity.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}
