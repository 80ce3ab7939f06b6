package ajaxonly_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark/ajaxonly"
	"github.com/bulwark-go/bulwark/seclog"
)

// An endpoint for scripts: fetch() and XMLHttpRequest get the JSON; a
// navigation to the same URL, or a <script> tag of another site, gets a
// 403.
func Example() {
	ajax, err := ajaxonly.New(ajaxonly.Config{
		Body:        `{"error":"this endpoint answers scripts only"}`,
		ContentType: "application/json",
		Logger:      seclog.Discard(), // in production, one logger for the whole suite
	})
	if err != nil {
		log.Fatal(err)
	}
	items := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[]}`)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/items", ajax.Handler(items))

	for _, c := range []struct {
		what string
		hdr  []string
	}{
		{"fetch()", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "same-origin"}},
		{"jQuery $.ajax", []string{"X-Requested-With", "XMLHttpRequest"}},
		{"navigation", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"}},
		{"<script src>", []string{"Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "script"}},
		{"other origin", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
	} {
		r := httptest.NewRequest("GET", "https://example.com/api/items", nil)
		for i := 0; i < len(c.hdr); i += 2 {
			r.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		fmt.Printf("%-14s %d %s\n", c.what, rec.Code, rec.Body)
	}
	// Output:
	// fetch()        200 {"items":[]}
	// jQuery $.ajax  200 {"items":[]}
	// navigation     403 {"error":"this endpoint answers scripts only"}
	// <script src>   403 {"error":"this endpoint answers scripts only"}
	// other origin   403 {"error":"this endpoint answers scripts only"}
}

// AllowOrigins lets the scripts of listed origins call too (they still
// need your CORS handler to read the answers).
func ExampleConfig_allowOrigins() {
	ajax, err := ajaxonly.New(ajaxonly.Config{
		AllowOrigins: []string{"https://app.example.com"},
		Logger:       seclog.Discard(),
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, origin := range []string{"https://app.example.com", "https://evil.example"} {
		r := httptest.NewRequest("GET", "https://api.example.com/items", nil)
		r.Header.Set("Sec-Fetch-Mode", "cors")
		r.Header.Set("Sec-Fetch-Dest", "empty")
		r.Header.Set("Sec-Fetch-Site", "same-site")
		r.Header.Set("Origin", origin)
		fmt.Println(origin, ajax.Check(r) == nil)
	}
	_, err = ajaxonly.New(ajaxonly.Config{AllowOrigins: []string{"https://App.example.com/"}})
	fmt.Println(err)
	// Output:
	// https://app.example.com true
	// https://evil.example false
	// ajaxonly: AllowOrigins[0] "https://App.example.com/" has more than an origin (a user, path, query or fragment): write "https://app.example.com"
}

// Check decides without a handler chain, as http.CrossOriginProtection's
// Check does.
func ExampleMiddleware_Check() {
	ajax, err := ajaxonly.New(ajaxonly.Config{Logger: seclog.Discard()})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/items", nil)
	fmt.Println(ajax.Check(r) == nil)
	r.Header.Set("X-Requested-With", "XMLHttpRequest")
	fmt.Println(ajax.Check(r) == nil)
	// Output:
	// false
	// true
}
