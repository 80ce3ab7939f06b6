package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	cspsql "github.com/bulwark-go/bulwark/cspreport/sqlstore"
)

// TestReportsTableEscapesTerminalControls: `bulwark reports` prints what
// anonymous clients sent into the operator's terminal; C1 controls (U+009B
// is CSI, an escape sequence on its own), bidirectional overrides and the
// other characters seclog escapes come out escaped, never raw.
func TestReportsTableEscapesTerminalControls(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "reports.db")
	store, err := cspsql.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r := cspreport.Report{
		GroupFP: "0123456789abcdef0123456789abcdef", DetailFP: "fedcba9876543210fedcba9876543210",
		Directive: "script-src\u202egnp.exe", Disposition: "enforce", BlockedKind: "url",
		BlockedOrigin: "https://evil.example\u009b2J\u009b31m", DocumentOrigin: "https://app.example",
		DocumentPath: "/a\x1b]8;;https://evil.example\x07b\u200b", ReceivedAt: now, OccurredAt: now,
	}
	b := &cspreport.Batch{At: now, Reports: []cspreport.Report{r},
		Counters: []cspreport.Counter{{Kind: cspreport.KindFiltered, Name: "custom:\u0085\u2028x", Count: 1}}}
	if _, err := store.Save(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"reports", "-db", db}, &out, &errb); err != nil {
		t.Fatalf("reports: %v %s", err, errb.String())
	}
	got := out.String()
	for _, raw := range []string{"\u009b", "\u202e", "\x1b", "\x07", "\u200b", "\u0085", "\u2028"} {
		if strings.Contains(got, raw) {
			t.Errorf("the table holds %+q raw:\n%s", raw, got)
		}
	}
	for _, escaped := range []string{`evil.example\u009b2J\u009b31m`, `script-src\u202egnp.exe`, `\x1b]8;;`, `\u200b`, `custom:\u0085\u2028x`} {
		if !strings.Contains(got, escaped) {
			t.Errorf("the table lacks %s:\n%s", escaped, got)
		}
	}
}
