package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bulwark-go/bulwark/cspreport/assistant"
	"github.com/bulwark-go/bulwark/seclog"
)

// suggestion is the JSON contract of `bulwark suggest` (docs/cspreport.md,
// "The policy assistant"): external checks read it, so its keys change
// only with a note in the CHANGELOG.
type suggestion struct {
	Suggestions []assistant.Finding `json:"suggestions"`
	Suspicious  []assistant.Finding `json:"suspicious"`
	Policy      string              `json:"policy"`
}

// runSuggest is `bulwark suggest`: the policy assistant's advice for one
// origin of a report database, as text or JSON.
func runSuggest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark suggest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultReportsDB(), "report database: an SQLite file, or a postgres:// URL")
	since := fs.Duration("since", assistant.DefaultWindow, "read the reports of this window")
	origin := fs.String("origin", "", "the document origin to advise on (https://app.example.com); needed when the reports come from several")
	format := fs.String("format", "text", "output: text or json")
	minClients := fs.Int("min-clients", assistant.DefaultMinClients, "distinct clients a source needs to be suggested")
	window := fs.Duration("window", assistant.DefaultWindow, "how long a report-only policy must go without violations from real clients to be ready to enforce")
	suggestHelp.install(fs)
	if done, err := parseFlags(fs, args, stdout); done || err != nil {
		return prefixErr("suggest", err)
	}
	if *since <= 0 {
		return fmt.Errorf("suggest: -since %v: write a positive duration such as 168h", *since)
	}
	if *minClients < 1 {
		return fmt.Errorf("suggest: -min-clients %d: write 1 or more", *minClients)
	}
	if *window <= 0 {
		return fmt.Errorf("suggest: -window %v: write a positive duration such as 168h", *window)
	}
	if *format != "text" && *format != "json" {
		return fmt.Errorf("suggest: -format %q: write text or json", *format)
	}
	store, err := openExistingReportStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("suggest: %w", err)
	}
	defer store.Close()
	a, err := assistant.New(assistant.Config{Store: store, MinClients: *minClients, Window: *window})
	if err != nil {
		return fmt.Errorf("suggest: %w", err)
	}
	res, err := a.Suggest(ctx, assistant.Query{Since: time.Now().Add(-*since), Origin: *origin})
	if err != nil {
		return fmt.Errorf("suggest: %w", err)
	}
	o, err := res.Find(*origin)
	if err != nil {
		return fmt.Errorf("suggest: %w (-since %v)", err, *since)
	}
	if *format == "json" {
		out := suggestion{Suggestions: o.Suggestions, Suspicious: o.Suspicious, Policy: o.Merged}
		if out.Suggestions == nil {
			out.Suggestions = []assistant.Finding{}
		}
		if out.Suspicious == nil {
			out.Suspicious = []assistant.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeSuggestText(stdout, o, res)
}

// writeSuggestText prints the advice for people. Every value from a
// report is escaped ([seclog.Escape]): it lands in a terminal.
func writeSuggestText(w io.Writer, o *assistant.Origin, res *assistant.Result) error {
	e := seclog.Escape
	fmt.Fprintf(w, "Origin %s\n\n", e(o.Origin))
	table := func(title string, fs []assistant.Finding, reason bool) {
		fmt.Fprintf(w, "%s (%d)\n", title, len(fs))
		if len(fs) == 0 {
			fmt.Fprintln(w)
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		head := "  DIRECTIVE\tSOURCE\tCLIENTS\tDOCUMENTS\tBROWSERS\tFIRST SEEN\tLAST SEEN"
		if reason {
			head += "\tREASON"
		}
		fmt.Fprintln(tw, head)
		for _, f := range fs {
			clients := fmt.Sprint(f.Clients)
			if f.Clients == 0 {
				clients = "?"
			}
			line := fmt.Sprintf("  %s\t%s\t%s\t%d\t%d\t%s\t%s", e(f.Directive), e(f.Source), clients, f.Documents, f.Browsers,
				f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339))
			if reason {
				line += "\t" + e(f.Reason)
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	table("Suggested: sources real clients need", o.Suggestions, false)
	table("Held back: injection or noise", o.Suspicious, true)
	switch {
	case o.Policy == "":
		fmt.Fprintln(w, "Policy: none stored for this origin.")
	case o.PolicyError != "":
		fmt.Fprintf(w, "Policy (could not be merged: %s):\n  %s\n", e(o.PolicyError), e(o.Policy))
	default:
		kind := "enforced"
		if o.ReportOnly {
			kind = "report-only"
		}
		fmt.Fprintf(w, "Latest %s policy:\n  %s\nWith the suggestions:\n  %s\n", kind, e(o.Policy), e(o.Merged))
	}
	if r := o.Readiness; r != nil {
		if r.Ready {
			fmt.Fprintln(w, "\nReady to enforce: no violation from real clients in the window.")
		} else {
			fmt.Fprintln(w, "\nNot ready to enforce:")
			for _, b := range r.Blockers {
				fmt.Fprintf(w, "  - %s\n", e(b))
			}
		}
	}
	if len(res.Filtered) > 0 {
		fmt.Fprintln(w, "\nFiltered by the collector (never suggested), all origins:")
		for _, c := range res.Filtered {
			fmt.Fprintf(w, "  %s: %d\n", e(c.Name), c.Count)
		}
	}
	return nil
}
