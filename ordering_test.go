package bulwark_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/justinas/alice"
	"go.uber.org/zap"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/clearsite"
	"github.com/bulwark-go/bulwark/csp"
	"github.com/bulwark-go/bulwark/cspreport"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/identity"
	"github.com/bulwark-go/bulwark/loginrequired"
	"github.com/bulwark-go/bulwark/mfa"
	"github.com/bulwark-go/bulwark/mfa/totp"
	totpsql "github.com/bulwark-go/bulwark/mfa/totp/sqlstore"
	"github.com/bulwark-go/bulwark/nocache"
	"github.com/bulwark-go/bulwark/passwordexpiry"
	pwsql "github.com/bulwark-go/bulwark/passwordexpiry/sqlstore"
	"github.com/bulwark-go/bulwark/profiling"
	"github.com/bulwark-go/bulwark/referrer"
	"github.com/bulwark-go/bulwark/seclog"
	"github.com/bulwark-go/bulwark/sessionexpiry"
	"github.com/bulwark-go/bulwark/sqldb"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

// must stands for the application's error handling in everySlot.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// logRequests stands for one of the application's own middlewares.
func logRequests(next http.Handler) http.Handler { return next }

// everySlot is the program of docs/ordering.md, "Every slot filled", line
// for line, but for its last line: it returns the handler that the
// program serves with http.ListenAndServe. Keep the two the same.
func everySlot(ctx context.Context, db *sqldb.DB, mux *http.ServeMux, lookupUser func(ctx context.Context, id string) (identity.User, error)) http.Handler {
	zc := zap.NewProductionConfig()
	zc.Sampling = nil // seclog samples only the events an attacker can flood
	sec := must(seclog.New(seclog.Config{
		Logger:         zap.Must(zc.Build()),
		TrustedProxies: []string{"10.0.0.0/8"}, // your load balancers
	}))

	sessions := scs.New()
	sessions.Lifetime = 9 * time.Hour // longer than sessionexpiry's Absolute
	sessions.Cookie.Secure = true
	// sessions.Store = …: set the real store before bulwark.New

	otp := must(totp.New(totp.Config{Store: must(totpsql.New(ctx, db)), Issuer: "Example", Logger: sec}))

	chain := must(bulwark.New(bulwark.Config{
		// What every slot shares, written once.
		Logger:    sec,
		Responder: must(identity.NewResponder(identity.ResponderConfig{APIPatterns: []string{"/api/"}})),
		LoginURL:  "/login",
		LogoutURL: "/logout",
		Public:    []string{"/{$}", "/static/", "GET /health"},
		Sessions:  sessions,

		// The slots, in any order: the chain runs them in its own.
		Secure:         bulwark.SecureOptions(),
		CrossOrigin:    http.NewCrossOriginProtection(),
		SessionExpiry:  &sessionexpiry.Config{Absolute: 8 * time.Hour},
		Identity:       &bulwark.IdentityConfig{Lookup: lookupUser},
		LoginRequired:  &loginrequired.Config{Rules: []loginrequired.Rule{{Pattern: "/admin/", Authorize: loginrequired.Staff}}},
		MFA:            &mfa.Config{Verifiers: []mfa.Verifier{otp}, Required: otp.Required, ChallengeURL: "/mfa"},
		PasswordExpiry: &passwordexpiry.Config{Store: must(pwsql.New(ctx, db)), ChangeURL: "/password/change"},
		Profiling:      &profiling.Config{},
		CSP:            &csp.Config{Reporting: &csp.Reporting{}, Lazy: true},
		Referrer:       &referrer.Config{},
		NoCache:        &nocache.Config{Exempt: []string{"/static/"}},
		ClearSite:      &clearsite.Config{},
	}))

	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_ = chain.SessionAuth().Logout(r)
		_ = chain.ClearSite().Send(w, r) // before writing: the header goes on the 303
		identity.Redirect(w, r, "/login", http.StatusSeeOther)
	})
	app := alice.New(logRequests).Extend(chain.Alice()).Then(mux)

	// The CSP report receiver is not in the chain.
	reports := must(cspreport.New(cspreport.Config{Store: must(cspsql.New(ctx, db)), Logger: sec}))
	root := http.NewServeMux()
	root.Handle(csp.DefaultReportPath, reports) // "/csp-report": no session, no CSRF check, no login
	root.Handle("/", app)
	return root // the program: log.Fatal(http.ListenAndServe(":8080", root))
}

// TestEverySlot serves a few requests through the program of
// docs/ordering.md on a SQLite file: a public page, a page behind the
// login gate, a cross-site form post, a CSP report from another site.
func TestEverySlot(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := everySlot(ctx, db, mux,
		func(context.Context, string) (identity.User, error) { return nil, nil })

	for _, tc := range []struct {
		method, target string
		headers        map[string]string
		body           string
		status         int
		location       string
	}{
		{"GET", "https://example.com/", nil, "", 200, ""},
		{"GET", "https://example.com/account", nil, "", 303, "/login?next=%2Faccount"},
		{"POST", "https://example.com/logout", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403, ""},
		{"POST", "https://example.com/csp-report", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/csp-report"},
			`{"csp-report":{"document-uri":"https://example.com/","violated-directive":"script-src-elem","effective-directive":"script-src-elem","original-policy":"script-src 'self'","disposition":"enforce","blocked-uri":"https://evil.example/x.js","status-code":200}}`,
			204, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q %q; want %d %q", tc.method, tc.target, rec.Code, rec.Header().Get("Location"), rec.Body, tc.status, tc.location)
		}
	}
}
