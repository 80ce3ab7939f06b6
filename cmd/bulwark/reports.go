package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
	"github.com/bulwark-go/bulwark/seclog"
)

// runReports is `bulwark reports`: the summary of a report database, as a
// table, JSON or CSV; with -group, one group's details; with -mute or
// -unmute, the store's Mute.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark reports", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultReportsDB(), "report database: an SQLite file, or a postgres:// URL")
	format := fs.String("format", "table", "output: table, json or csv (-group: table or json)")
	since := fs.String("since", strings.TrimSuffix(dashboard.DefaultWindow.String(), "0m0s"), "only groups seen in this window: a duration (24h), a time (2026-11-23T10:00:00Z), or all")
	limit := fs.Int("limit", 100, "most groups printed; the table says how many of how many")
	muted := fs.Bool("muted", false, "include muted groups")
	group := fs.String("group", "", "print the group `KEY`: its details (source, sample, example page) and stored raw reports")
	mute := fs.String("mute", "", "mute the group `KEY`: still counted, left out of the list unless -muted")
	unmute := fs.String("unmute", "", "unmute the group `KEY`")
	reportsHelp.install(fs)
	if done, err := parseFlags(fs, args, stdout); done || err != nil {
		return prefixErr("reports", err)
	}
	q := cspreport.GroupQuery{Limit: *limit, Muted: *muted}
	switch d, err := time.ParseDuration(*since); {
	case *since == "all" || (err == nil && d == 0):
	case err == nil && d > 0:
		q.Since = time.Now().Add(-d)
	default:
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("reports: -since %q: write a duration such as 24h, a time such as 2026-11-23T10:00:00Z, or all", *since)
		}
		q.Since = t
	}
	if *limit < 1 {
		return fmt.Errorf("reports: -limit %d: write 1 or more", *limit)
	}
	switch *format {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("reports: -format %q: write table, json or csv", *format)
	}
	var actions []string
	for name, v := range map[string]string{"group": *group, "mute": *mute, "unmute": *unmute} {
		if v != "" {
			actions = append(actions, "-"+name)
		}
	}
	if len(actions) > 1 {
		return fmt.Errorf("reports: %s: give one of -group, -mute and -unmute at a time", strings.Join(actions, " and "))
	}
	if *group != "" && *format == "csv" {
		return errors.New("reports: -group: write -format table or json (a group's details are not one table)")
	}
	store, err := openExistingReportStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	err = reports(ctx, store, q, *format, *group, *mute, *unmute, stdout, stderr)
	return errors.Join(err, store.Close())
}

// reports does what runReports was asked, on store.
func reports(ctx context.Context, store cspreport.Store, q cspreport.GroupQuery, format, group, mute, unmute string, stdout, stderr io.Writer) error {
	switch {
	case mute != "" || unmute != "":
		key, muted, verb := mute, true, "muted"
		if unmute != "" {
			key, muted, verb = unmute, false, "unmuted"
		}
		if err := store.Mute(ctx, key, muted); err != nil {
			if errors.Is(err, cspreport.ErrNotFound) {
				return fmt.Errorf("reports: -%s %s: no such group (the GROUP column of `bulwark reports -muted -since all` lists them)", verb[:len(verb)-2], key)
			}
			return fmt.Errorf("reports: %w", err)
		}
		fmt.Fprintf(stdout, "group %s %s\n", key, verb)
		return nil
	case group != "":
		return printGroup(ctx, store, group, format, stdout)
	}
	sum, err := dashboard.Load(ctx, store, q)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	switch format {
	case "json":
		return sum.WriteJSON(stdout)
	case "csv":
		if len(sum.Groups) < sum.Matched {
			// CSV has no room for it; the table and JSON say it themselves.
			fmt.Fprintf(stderr, "bulwark reports: %d of %d groups shown (-limit shows more)\n", len(sum.Groups), sum.Matched)
		}
		return sum.WriteCSV(stdout)
	}
	return sum.WriteTable(stdout)
}

// groupEvents is how many stored raw reports -group prints per detail.
const groupEvents = 3

// groupDetails is what -group prints: the group, its details by count,
// and the newest raw reports of each detail (stored with collect
// -raw-events only).
type groupDetails struct {
	Group   cspreport.Group              `json:"group"`
	Details []cspreport.Detail           `json:"details"`
	Events  map[string][]cspreport.Event `json:"events"`
}

// printGroup prints the group key: the group's fields, its details (the
// source locations and samples, each with the page, blocked value and
// User-Agent of its first report) and the raw reports kept of them.
// Everything a report carried is escaped (seclog.Escape; JSON as
// dashboard.WriteJSON escapes it).
func printGroup(ctx context.Context, store cspreport.Store, key, format string, w io.Writer) error {
	// The group of all time, muted or not.
	gs, err := store.Groups(ctx, cspreport.GroupQuery{Fingerprint: key, Muted: true, Limit: 1})
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	if len(gs) == 0 {
		return fmt.Errorf("reports: -group %s: no such group (the GROUP column of `bulwark reports -muted -since all` lists them)", key)
	}
	gd := groupDetails{Group: gs[0]}
	if gd.Details, err = store.Details(ctx, key, 0); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	gd.Events = map[string][]cspreport.Event{}
	for _, d := range gd.Details {
		evs, err := store.Events(ctx, d.Fingerprint, groupEvents)
		if err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		if len(evs) > 0 {
			gd.Events[d.Fingerprint] = evs
		}
	}
	if format == "json" {
		return dashboard.WriteJSON(w, gd)
	}
	return gd.writeTable(w)
}

// writeTable prints the group as "field  value" lines, then each detail.
func (gd *groupDetails) writeTable(w io.Writer) error {
	g, e := gd.Group, seclog.Escape
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range [][2]string{
		{"group", g.Fingerprint},
		{"directive", e(g.Directive)},
		{"disposition", e(g.Disposition)},
		{"blocked", e(g.BlockedKind) + " " + e(g.BlockedOrigin)},
		{"document", e(g.DocumentOrigin + g.DocumentPath)},
		{"reports", fmt.Sprint(g.Total)},
		{"first seen", g.FirstSeen.Format(time.RFC3339)},
		{"last seen", g.LastSeen.Format(time.RFC3339)},
		{"muted", fmt.Sprint(g.Muted)},
		{"browsers", browserList(g.Browsers)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", f[0], f[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, d := range gd.Details {
		fmt.Fprintf(w, "\ndetail %d of %d: %s, %d reports, %s to %s\n", i+1, len(gd.Details), d.Fingerprint, d.Count,
			d.FirstSeen.Format(time.RFC3339), d.LastSeen.Format(time.RFC3339))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		src := e(d.SourceFile)
		if d.Line > 0 {
			src += fmt.Sprintf(":%d:%d", d.Line, d.Column)
		}
		for _, f := range [][2]string{
			{"  source", src},
			{"  sample", e(d.Sample)},
			{"  page", e(d.ExampleDocument)},
			{"  blocked", e(d.ExampleBlocked)},
			{"  user agent", e(d.ExampleUA)},
			{"  policy version", e(d.PolicyVersion)},
		} {
			if f[1] != "" {
				fmt.Fprintf(tw, "%s\t%s\n", f[0], f[1])
			}
		}
		for _, ev := range gd.Events[d.Fingerprint] {
			fmt.Fprintf(tw, "  raw report %s\t%s\n", ev.ReceivedAt.Format(time.RFC3339), e(ev.Raw))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// browserList is "Chrome 3, Firefox 1".
func browserList(bs []cspreport.BrowserCount) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%s %d", seclog.Escape(b.Family), b.Count)
	}
	return strings.Join(parts, ", ")
}

// openExistingReportStore opens the report database of a command that only
// reads it (reports, suggest). Reading must not create an empty database
// where the collector's is not: that would print "0 of 0 groups" for a
// mistyped path.
func openExistingReportStore(ctx context.Context, db string) (*reportStore, error) {
	if !isPostgresURL(db) {
		if _, err := os.Stat(strings.TrimPrefix(db, "sqlite:")); err != nil {
			return nil, fmt.Errorf("no report database at %s (give -db the collector's): %w", db, err)
		}
	}
	return openReportStore(ctx, db)
}
