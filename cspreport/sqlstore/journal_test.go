package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

func journalBatch() *cspreport.Batch {
	at := time.Date(2026, 11, 23, 10, 15, 0, 123456000, time.UTC)
	r := func(g, policy string, line int) cspreport.Report {
		return cspreport.Report{
			GroupFP: "g" + g, DetailFP: "d" + g, Format: "report-to", Directive: "script-src-elem", Disposition: "enforce",
			BlockedKind: "url", BlockedOrigin: "https://cdn.example", Blocked: "https://cdn.example/a.js",
			DocumentURL: "https://app.example/p/1", DocumentOrigin: "https://app.example", DocumentPath: "/p/:id",
			Referrer: "https://app.example/", SourceFile: "https://app.example/main.js", Line: line, Column: -7, StatusCode: 200,
			Sample: "alert(1)\x00é", Policy: policy, PolicyHash: "h-" + policy, PolicyVersion: "v2", UserAgent: "UA",
			ClientPrefix: "192.0.2.0/24", ReceivedAt: at, OccurredAt: at.Add(-time.Minute),
		}
	}
	return &cspreport.Batch{At: at, Reports: []cspreport.Report{r("1", "script-src 'self'", 1), r("2", "img-src 'none'", 2), r("1", "script-src 'self'", 3)},
		Counters: []cspreport.Counter{{Kind: cspreport.KindFiltered, Name: "scheme:chrome-extension", Count: 3}, {Kind: cspreport.KindOther, Name: "deprecation", Count: 1}}}
}

func TestJournalRoundTrip(t *testing.T) {
	for _, b := range []*cspreport.Batch{journalBatch(), {At: time.Unix(0, 0).UTC(), Counters: []cspreport.Counter{{Kind: "k", Name: "n", Count: 1}}}} {
		got, err := decodeBatch(encodeBatch(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Reports) == 0 {
			b.Reports = []cspreport.Report{}
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, b)
		}
	}
}

// TestJournalDamaged: every truncation and a few corruptions of an entry
// are errors, never a panic nor a huge allocation.
func TestJournalDamaged(t *testing.T) {
	p := encodeBatch(journalBatch())
	for n := range len(p) {
		if _, err := decodeBatch(p[:n]); err == nil {
			t.Fatalf("entry cut to %d of %d bytes: no error", n, len(p))
		}
	}
	for _, bad := range [][]byte{append([]byte{9}, p[1:]...), append(append([]byte{}, p...), 0), {1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeBatch(bad); err == nil {
			t.Fatalf("%x: no error", bad)
		}
	}
}

func FuzzJournal(f *testing.F) {
	f.Add(encodeBatch(journalBatch()))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodeBatch(p)
		if err != nil {
			return
		}
		if _, err := decodeBatch(encodeBatch(b)); err != nil {
			t.Fatalf("re-encoded entry: %v", err)
		}
	})
}
