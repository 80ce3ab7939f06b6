package cspreport_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// TestRawEventsCapped: with RawEvents 2, five reports of one detail key
// keep two raw events, as the browser sent them; without it, none.
func TestRawEventsCapped(t *testing.T) {
	for _, keep := range []int{0, 2} {
		rc, store, _ := newReceiver(t, cspreport.Config{RawEvents: keep})
		for range 5 {
			if w := post(rc, "/csp-report", "application/csp-report", legacyBody); w.Code != 204 {
				t.Fatalf("status %d", w.Code)
			}
		}
		gs := groups(t, store)
		if len(gs) != 1 || gs[0].Total != 5 {
			t.Fatalf("groups %+v", gs)
		}
		ds, err := store.Details(context.Background(), gs[0].Fingerprint, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("details %v %v", ds, err)
		}
		evs, err := store.Events(context.Background(), ds[0].Fingerprint, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != keep {
			t.Fatalf("RawEvents %d: %d events", keep, len(evs))
		}
		for _, e := range evs {
			if e.Raw != legacyBody || e.GroupFP != gs[0].Fingerprint {
				t.Fatalf("event %+v", e)
			}
		}
	}
	if _, err := cspreport.New(cspreport.Config{Store: cspreport.NewMemoryStore(), RawEvents: -1}); err == nil || !strings.Contains(err.Error(), "RawEvents") {
		t.Fatalf("RawEvents -1: %v", err)
	}
}

const mixedBatch = `[{"type":"deprecation","url":"https://app.example/p?token=1","user_agent":"UA1","body":{"id":"Foo","message":"Foo is deprecated","lineNumber":3}},` +
	`{"type":"csp-violation","url":"https://app.example/p","body":{"documentURL":"https://app.example/p","effectiveDirective":"img-src","blockedURL":"https://img.example/a.png","disposition":"enforce"}}]`

// TestKeepOther: reports of other types are counted either way, stored
// apart only with KeepOther (query removed), and never in the CSP groups.
func TestKeepOther(t *testing.T) {
	for _, keep := range []bool{false, true} {
		rc, store, _ := newReceiver(t, cspreport.Config{KeepOther: keep})
		if w := post(rc, "/csp-report", "application/reports+json", mixedBatch); w.Code != 204 {
			t.Fatalf("status %d", w.Code)
		}
		if gs := groups(t, store); len(gs) != 1 || gs[0].Total != 1 || gs[0].Directive != "img-src" {
			t.Fatalf("groups %+v", gs)
		}
		if n := counters(t, store)["other/deprecation"]; n != 1 {
			t.Fatalf("other/deprecation counted %d", n)
		}
		os, err := store.Others(context.Background(), time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !keep {
			if len(os) != 0 {
				t.Fatalf("stored without KeepOther: %+v", os)
			}
			continue
		}
		if len(os) != 1 {
			t.Fatalf("others %+v", os)
		}
		o := os[0]
		if o.Type != "deprecation" || o.URL != "https://app.example/p" || o.UserAgent != "UA1" ||
			o.Body != `{"id":"Foo","message":"Foo is deprecated","lineNumber":3}` || o.ClientPrefix == "" {
			t.Fatalf("other report %+v", o)
		}
	}
}

// TestOnReport: the hook sees each committed violation, not the filtered
// ones nor other types, before the answer.
func TestOnReport(t *testing.T) {
	var n atomic.Int64
	var directive atomic.Value
	rc, _, _ := newReceiver(t, cspreport.Config{OnReport: func(ctx context.Context, r cspreport.Report) {
		if ctx == nil {
			t.Error("nil context")
		}
		n.Add(1)
		directive.Store(r.Directive)
	}})
	post(rc, "/csp-report", "application/reports+json", mixedBatch)
	post(rc, "/csp-report", "application/csp-report", `{"csp-report":{"document-uri":"https://app.example/","effective-directive":"script-src","blocked-uri":"chrome-extension"}}`)
	if n.Load() != 1 || directive.Load() != "img-src" {
		t.Fatalf("OnReport called %d times (last %v); want once for img-src", n.Load(), directive.Load())
	}
}
