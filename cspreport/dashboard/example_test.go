package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	"github.com/bulwark-go/bulwark/seclog"
)

// Mount the receiver outside the login gate and the dashboard of its
// store behind the application's staff check, with the way back to the
// application. The same Load serves `bulwark reports`.
func Example() {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	now := func() time.Time { return at } // leave Now nil outside tests
	store := cspreport.NewMemoryStore()   // cspreport/sqlstore for SQLite or PostgreSQL
	receiver, err := cspreport.New(cspreport.Config{Store: store, Logger: seclog.Discard(), Now: now})
	if err != nil {
		panic(err)
	}
	reports, err := dashboard.New(dashboard.Config{Store: store, AppURL: "/admin/", AppName: "Acme admin", Now: now})
	if err != nil {
		panic(err)
	}
	staffOnly := func(h http.Handler) http.Handler { return h } // the application's login and staff check
	mux := http.NewServeMux()
	mux.Handle("/csp-report", receiver)
	mux.Handle("/admin/csp-reports", staffOnly(reports))

	r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(`{"csp-report":{"document-uri":"https://app.example.com/cart",
		"effective-directive":"script-src-elem","disposition":"enforce","blocked-uri":"https://cdn.example.net/x.js"}}`))
	r.Header.Set("Content-Type", "application/csp-report")
	mux.ServeHTTP(httptest.NewRecorder(), r)
	if err := receiver.Close(context.Background()); err != nil { // commits what is queued
		panic(err)
	}

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/admin/csp-reports?directive=script-src-elem", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Security-Policy"))

	sum, err := dashboard.Load(context.Background(), store, cspreport.GroupQuery{Since: at.Add(-time.Hour)})
	if err != nil {
		panic(err)
	}
	for _, g := range sum.Groups {
		fmt.Println(g.Directive, g.BlockedOrigin, g.DocumentOrigin+g.DocumentPath, g.Count, g.New)
	}
	fmt.Println(len(sum.Groups), "of", sum.Matched, "groups,", sum.NewGroups, "new") // WriteTable, WriteCSV and WriteJSON print it all
	// Output:
	// 200 default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
	// script-src-elem https://cdn.example.net https://app.example.com/cart 1 true
	// 1 of 1 groups, 1 new
}
