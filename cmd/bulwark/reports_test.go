package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// TestReportsTableEscapesTerminalControls: `bulwark reports` prints what
// anonymous clients sent into the operator's terminal; C1 controls (U+009B
// is CSI, an escape sequence on its own), bidirectional overrides and the
// other characters seclog escapes come out escaped, never raw.
func TestReportsTableEscapesTerminalControls(t *testing.T) {
	now := time.Now()
	r := cspreport.Report{
		GroupFP: "0123456789abcdef0123456789abcdef", DetailFP: "fedcba9876543210fedcba9876543210",
		Directive: "script-src\u202egnp.exe", Disposition: "enforce", BlockedKind: "url",
		BlockedOrigin: "https://evil.example\u009b2J\u009b31m", DocumentOrigin: "https://app.example",
		DocumentPath: "/a\x1b]8;;https://evil.example\x07b\u200b", ReceivedAt: now, OccurredAt: now,
	}
	b := batchOf(r)
	b.Count(now, cspreport.KindFiltered, "custom:\u0085\u2028x", 1)
	db := reportsDB(t, b)
	got := reportsOutput(t, db, "table")
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

// batchOf is the batch of a group commit of reps.
func batchOf(reps ...cspreport.Report) *cspreport.Batch {
	b := &cspreport.Batch{}
	for i := range reps {
		b.Add(&reps[i])
	}
	return b
}

// reportsDB returns a new SQLite file holding b.
func reportsDB(t *testing.T, b *cspreport.Batch) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "reports.db")
	store, err := openReportStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Save(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return db
}

// reportsOutput runs `bulwark reports -format format` on db.
func reportsOutput(t *testing.T, db, format string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"reports", "-db", db, "-format", format}, &out, &errb); err != nil {
		t.Fatalf("reports -format %s: %v %s", format, err, errb.String())
	}
	return out.String()
}

// TestReportsJSONAndCSVEscapeTerminalControls: the JSON and CSV formats
// are read by programs but also land in terminals (`bulwark reports
// -format json | less`, a CSV opened in a viewer): they carry no C1
// control, bidirectional override or other hidden character raw either.
// JSON writes them as \u escapes, so the data decodes back unchanged; CSV,
// which has no escapes, writes them as the table does.
func TestReportsJSONAndCSVEscapeTerminalControls(t *testing.T) {
	now := time.Now()
	path := "/a\u009b2J\u202eb\u200b\u2028\U000e0041c"
	r := cspreport.Report{
		GroupFP: "0123456789abcdef0123456789abcdef", DetailFP: "fedcba9876543210fedcba9876543210",
		Directive: "script-src", Disposition: "enforce", BlockedKind: "inline",
		DocumentOrigin: "https://app.example", DocumentPath: path, ReceivedAt: now, OccurredAt: now,
	}
	db := reportsDB(t, batchOf(r))
	hidden := []string{"\u009b", "\u202e", "\u200b", "\u2028", "\U000e0041"}
	for _, format := range []string{"json", "csv"} {
		got := reportsOutput(t, db, format)
		for _, raw := range hidden {
			if strings.Contains(got, raw) {
				t.Errorf("-format %s holds %+q raw:\n%s", format, raw, got)
			}
		}
		if format != "json" {
			continue
		}
		var sum struct {
			Groups []struct {
				DocumentPath string `json:"document_path"`
			}
		}
		if err := json.Unmarshal([]byte(got), &sum); err != nil {
			t.Fatalf("-format json: %v\n%s", err, got)
		}
		if len(sum.Groups) != 1 || sum.Groups[0].DocumentPath != path {
			t.Errorf("-format json decodes to %+v, want the path %+q", sum.Groups, path)
		}
	}
}
