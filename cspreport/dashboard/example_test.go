package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
)

// Mount the dashboard of the receiver's store behind the application's
// staff check, with the way back to the application. The same Load
// serves `bulwark reports`.
func Example() {
	store := cspreport.NewMemoryStore() // the store the receiver writes
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	if _, err := store.Save(context.Background(), &cspreport.Batch{At: at, Reports: []cspreport.Report{{
		GroupFP: "g1", DetailFP: "d1", Directive: "script-src-elem", Disposition: "enforce", BlockedKind: "url",
		BlockedOrigin: "https://cdn.example.net", DocumentOrigin: "https://app.example.com", DocumentPath: "/cart",
		ReceivedAt: at, OccurredAt: at,
	}}}); err != nil {
		panic(err)
	}

	reports, err := dashboard.New(dashboard.Config{
		Store:   store,
		AppURL:  "/admin/",
		AppName: "Acme admin",
		Now:     func() time.Time { return at.Add(time.Hour) }, // leave nil outside tests
	})
	if err != nil {
		panic(err)
	}
	staffOnly := func(h http.Handler) http.Handler { return h } // the application's login and staff check
	mux := http.NewServeMux()
	mux.Handle("/admin/csp-reports", staffOnly(reports))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/admin/csp-reports?directive=script-src-elem", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Security-Policy"))

	sum, err := dashboard.Load(context.Background(), store, cspreport.GroupQuery{Since: at.Add(-time.Hour)})
	if err != nil {
		panic(err)
	}
	if err := sum.WriteTable(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// 200 default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
	// COUNT  TOTAL  DIRECTIVE        DISPOSITION  BLOCKED                  DOCUMENT                      LAST SEEN             NEW  GROUP
	// 1      1      script-src-elem  enforce      https://cdn.example.net  https://app.example.com/cart  2026-11-23T09:30:00Z  new  g1
	//
	// 1 of 1 groups shown
}
