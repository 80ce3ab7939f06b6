package cspreport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/seclog"
)

// Mount the receiver at the CSP report path, outside the login gate, and
// read the groups back. A Chromium batch and a legacy report of the same
// violation are two reports of one group; the extension's report is
// filtered and counted, and still answered 204.
func Example() {
	store := cspreport.NewMemoryStore() // cspreport/sqlstore for SQLite or PostgreSQL
	rcv, err := cspreport.New(cspreport.Config{Store: store, Logger: seclog.Discard()})
	if err != nil {
		panic(err)
	}
	defer rcv.Close(context.Background()) // commits what is queued

	mux := http.NewServeMux()
	mux.Handle("/csp-report", rcv)

	send := func(ctype, body string) {
		r := httptest.NewRequest("POST", "/csp-report", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	send("application/csp-report", `{"csp-report":{"document-uri":"https://example.com/cart?id=7","effective-directive":"script-src-elem","disposition":"enforce","blocked-uri":"https://cdn.evil.example/x.js"}}`)
	send("application/reports+json", `[{"type":"csp-violation","url":"https://example.com/cart","body":{"documentURL":"https://example.com/cart","effectiveDirective":"script-src-elem","disposition":"enforce","blockedURL":"https://cdn.evil.example/x.js?v=2"}}]`)
	send("application/csp-report", `{"csp-report":{"document-uri":"https://example.com/","violated-directive":"font-src","blocked-uri":"moz-extension"}}`)

	// cspreport/dashboard shows them on a page.
	groups, _ := store.Groups(context.Background(), cspreport.GroupQuery{})
	for _, g := range groups {
		fmt.Println(g.Directive, g.Disposition, g.BlockedOrigin, g.DocumentOrigin+g.DocumentPath, g.Total)
	}
	counters, _ := store.Counters(context.Background(), time.Time{})
	for _, c := range counters {
		fmt.Println(c.Kind, c.Name, c.Count)
	}
	// Output:
	// 204
	// 204
	// 204
	// script-src-elem enforce https://cdn.evil.example https://example.com/cart 2
	// filtered scheme:moz-extension 1
}
