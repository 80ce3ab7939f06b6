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
		Counters: []cspreport.Counter{{Kind: cspreport.KindFiltered, Name: "scheme:chrome-extension", Count: 3}, {Kind: cspreport.KindOther, Name: "deprecation", Count: 1}},
		Events:   []cspreport.Event{{GroupFP: "g1", DetailFP: "d1", ReceivedAt: at, Raw: `{"csp-report":{}}`}},
		Other:    []cspreport.OtherReport{{Type: "deprecation", URL: "https://app.example/", UserAgent: "UA", ClientPrefix: "192.0.2.0/24", Body: `{"id":"x"}`, ReceivedAt: at}}}
}

func TestJournalRoundTrip(t *testing.T) {
	for _, b := range []*cspreport.Batch{journalBatch(), {At: time.Unix(0, 0).UTC(), Counters: []cspreport.Counter{{Kind: "k", Name: "n", Count: 1}}}} {
		got, err := decodeBatch(encodeBatch(b))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, b) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, b)
		}
	}
}

// TestJournalDamaged: every truncation and a few corruptions of an entry
// are errors, never a panic nor a huge allocation.
// TestJournalVersion1: an entry written before raw events existed (no
// events nor other reports after the counters) is still read.
func TestJournalVersion1(t *testing.T) {
	b := journalBatch()
	b.Events, b.Other = nil, nil
	p := encodeBatch(b)
	p = append([]byte{1}, p[1:len(p)-2]...) // version 1: without the two empty lists
	got, err := decodeBatch(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("version 1 entry:\n got %+v\nwant %+v", got, b)
	}
}

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
