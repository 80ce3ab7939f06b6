package assistant_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/assistant"
)

// The assistant reads the store the receiver writes. Here three clients
// needed a CDN's script, and one client alone reported an injected one.
func Example() {
	ctx := context.Background()
	store := cspreport.NewMemoryStore()
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	report := func(group, blocked string, page int) cspreport.Report {
		return cspreport.Report{
			GroupFP: group + fmt.Sprint(page), DetailFP: group + fmt.Sprint(page), Directive: "script-src-elem",
			Disposition: "enforce", BlockedKind: "url", BlockedOrigin: blocked,
			DocumentOrigin: "https://app.example.com", DocumentPath: fmt.Sprintf("/p%d", page),
			UserAgent: "Mozilla/5.0 Chrome/131.0.0.0", ClientPrefix: fmt.Sprintf("198.51.%d.0/24", page),
			ReceivedAt: at, OccurredAt: at,
		}
	}
	b := &cspreport.Batch{} // what the receiver's group commit writes
	for _, r := range []cspreport.Report{
		report("cdn", "https://cdn.example.net", 1), report("cdn", "https://cdn.example.net", 2),
		report("cdn", "https://cdn.example.net", 3), report("evil", "https://evil.example", 1),
	} {
		b.Add(&r)
	}
	if _, err := store.Save(ctx, b); err != nil {
		panic(err)
	}

	a, err := assistant.New(assistant.Config{Store: store, Now: func() time.Time { return at.Add(time.Hour) }})
	if err != nil {
		panic(err)
	}
	res, err := a.Suggest(ctx, assistant.Query{})
	if err != nil {
		panic(err)
	}
	o, err := res.Find("https://app.example.com")
	if err != nil {
		panic(err)
	}
	for _, f := range o.Suggestions {
		fmt.Println("add:", f.Directive, f.Source, "on", f.Documents, "pages")
	}
	for _, f := range o.Suspicious {
		fmt.Println("held back:", f.Directive, f.Source, "("+f.Reason+")")
	}
	// Output:
	// add: script-src-elem https://cdn.example.net on 3 pages
	// held back: script-src-elem https://evil.example (few-clients)
}
