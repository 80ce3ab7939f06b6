package sqlstore

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// journalBatch is a batch with every kind of row, a value of every kind
// (strings with NUL and UTF-8, negative numbers, zero and set times), and
// repeated keys merged.
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
	b := &cspreport.Batch{}
	for _, rep := range []cspreport.Report{r("1", "script-src 'self'", 1), r("2", "img-src 'none'", 2), r("1", "script-src 'self'", 3)} {
		b.Add(&rep)
	}
	b.Count(at, cspreport.KindFiltered, "scheme:chrome-extension", 3)
	b.Count(at, cspreport.KindOther, "deprecation", 1)
	b.Events = []cspreport.Event{{GroupFP: "g1", DetailFP: "d1", ReceivedAt: at, Raw: `{"csp-report":{}}`}}
	b.Other = []cspreport.OtherReport{{Type: "deprecation", URL: "https://app.example/", UserAgent: "UA", ClientPrefix: "192.0.2.0/24", Body: `{"id":"x"}`, ReceivedAt: at}}
	b.Groups[0].Muted = true // every kind of value, a bool included
	return b
}

// rows are a batch's exported rows, without its index.
func exported(b *cspreport.Batch) cspreport.Batch {
	return cspreport.Batch{Groups: b.Groups, Details: b.Details, Hours: b.Hours, Clients: b.Clients,
		Policies: b.Policies, Counters: b.Counters, Events: b.Events, Other: b.Other}
}

func TestJournalRoundTrip(t *testing.T) {
	for _, b := range []*cspreport.Batch{journalBatch(), {}} {
		got, err := decodeBatch(appendBatch(nil, b))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(exported(got), exported(b)) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", exported(got), exported(b))
		}
	}
}

// TestJournalEveryField: every exported field of every row, set to a
// value that is not its zero, comes back from the journal: a field added
// to a row later is journaled without a line of codec.
func TestJournalEveryField(t *testing.T) {
	b := &cspreport.Batch{}
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch {
		case v.Type() == timeType:
			v.Set(reflect.ValueOf(time.UnixMicro(int64(n) * 1e9).UTC()))
		case v.Kind() == reflect.String:
			v.SetString(fmt.Sprintf("s%d\x00é", n))
		case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
			v.SetInt(int64(-n))
		case v.Kind() == reflect.Bool:
			v.SetBool(true)
		case v.Kind() == reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0))
			fill(v.Index(1))
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		default:
			t.Fatalf("a row field of kind %s: teach the journal (journal.go) and this test", v.Kind())
		}
	}
	fill(reflect.ValueOf(b).Elem())
	got, err := decodeBatch(appendBatch(nil, b))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exported(got), exported(b)) {
		t.Fatalf("round trip of every field:\n got %+v\nwant %+v", exported(got), exported(b))
	}
}

// TestJournalOldEntries: an entry of the previous format (version 2, the
// reports themselves) or of another schema is refused with the fix, not
// misread.
func TestJournalOldEntries(t *testing.T) {
	p := appendBatch(nil, journalBatch())
	other := append([]byte{journalVersion}, p[1:]...)
	other[1] ^= 0x01 // another schema hash
	for _, old := range [][]byte{{2, 0, 0, 0}, {1, 0}, other} {
		if _, err := decodeBatch(old); err != errOldJournal {
			t.Errorf("%x: %v, want errOldJournal", old[:min(len(old), 4)], err)
		}
	}
}

// TestJournalDamaged: every truncation and a few corruptions of an entry
// are errors, never a panic nor a huge allocation.
func TestJournalDamaged(t *testing.T) {
	p := appendBatch(nil, journalBatch())
	for n := range len(p) {
		if _, err := decodeBatch(p[:n]); err == nil {
			t.Fatalf("entry cut to %d of %d bytes: no error", n, len(p))
		}
	}
	head := binary.AppendUvarint([]byte{journalVersion}, uint64(schema))
	for _, bad := range [][]byte{append([]byte{9}, p[1:]...), append(append([]byte{}, p...), 0),
		append(append([]byte{}, head...), 0xff, 0xff, 0xff, 0xff, 0x0f)} {
		if _, err := decodeBatch(bad); err == nil {
			t.Fatalf("%x: no error", bad)
		}
	}
}

func FuzzJournal(f *testing.F) {
	f.Add(appendBatch(nil, journalBatch()))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodeBatch(p)
		if err != nil {
			return
		}
		if _, err := decodeBatch(appendBatch(nil, b)); err != nil {
			t.Fatalf("re-encoded entry: %v", err)
		}
	})
}

// BenchmarkJournalAppend: the encoding of a commit's batch, the journal's
// share of each commit's CPU.
func BenchmarkJournalAppend(b *testing.B) {
	batch := journalBatch()
	var p []byte
	for b.Loop() {
		p = appendBatch(p[:0], batch)
	}
}
