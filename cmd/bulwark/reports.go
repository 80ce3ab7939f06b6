package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
)

// runReports is `bulwark reports`: the summary of a report database, as a
// table, JSON or CSV.
func runReports(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulwark reports", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", defaultReportsDB(), "report database: an SQLite file, or a postgres:// URL")
	format := fs.String("format", "table", "output: table, json or csv")
	since := fs.String("since", "", "only groups seen in this window: a duration (24h) or a time (2026-11-23T10:00:00Z); empty means all time")
	limit := fs.Int("limit", 100, "most groups printed")
	muted := fs.Bool("muted", false, "include muted groups")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("reports: unexpected argument %q", fs.Arg(0))
	}
	q := cspreport.GroupQuery{Limit: *limit, Muted: *muted}
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil && d > 0 {
			q.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
			q.Since = t
		} else {
			return fmt.Errorf("reports: -since %q: write a duration such as 24h, or a time such as 2026-11-23T10:00:00Z", *since)
		}
	}
	if *limit < 1 {
		return fmt.Errorf("reports: -limit %d: write 1 or more", *limit)
	}
	switch *format {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("reports: -format %q: write table, json or csv", *format)
	}
	if !strings.HasPrefix(*db, "postgres://") && !strings.HasPrefix(*db, "postgresql://") {
		if _, err := os.Stat(strings.TrimPrefix(*db, "sqlite:")); err != nil {
			return fmt.Errorf("reports: no report database at %s (give -db the collector's): %w", *db, err)
		}
	}
	store, err := openReportStore(ctx, *db)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer store.Close()
	sum, err := cspreport.LoadSummary(ctx, store, q)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	switch *format {
	case "json":
		return sum.WriteJSON(stdout)
	case "csv":
		return sum.WriteCSV(stdout)
	}
	return sum.WriteTable(stdout)
}
