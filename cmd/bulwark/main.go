// Command bulwark runs the bulwark demo site, the stand-alone CSP report
// collector, and a report reader.
//
// Usage:
//
//	bulwark demo [-addr 127.0.0.1:8080] [-db path] [-idle 30m]
//	    run the demo site (every package of the suite, on SQLite)
//	bulwark collect [-addr 127.0.0.1:8081] [-db file-or-postgres-url] [-rate-limit n] …
//	    run the CSP report receiver at /csp-report
//	bulwark reports [-db file-or-postgres-url] [-format table|json|csv] [-since 24h]
//	    print the collected report groups
//	bulwark suggest [-db file-or-postgres-url] [-since 168h] [-origin url] [-format text|json]
//	    suggest a policy from the collected reports (the policy assistant)
//	bulwark version
//	    print the version
//
// "bulwark <command> -h" lists every flag of a command.
//
// Security events are written to stderr as JSON lines (logger "security").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bulwark:", err)
		}
		os.Exit(2)
	}
}

const usage = `bulwark: security-hardening HTTP middleware for Go, and its tools.

Usage:
  bulwark demo [flags]    run the demo site (bulwark demo -h for its flags)
  bulwark collect [flags] run the CSP report collector at /csp-report (bulwark collect -h)
  bulwark reports [flags] print the collected CSP reports (bulwark reports -h)
  bulwark suggest [flags] suggest a CSP from the collected reports (bulwark suggest -h)
  bulwark version         print the version
  bulwark help            print this text
`

// run dispatches a subcommand. It returns when the command is done or ctx
// is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "collect":
		return runCollect(ctx, args[1:], stdout, stderr)
	case "reports":
		return runReports(ctx, args[1:], stdout, stderr)
	case "suggest":
		return runSuggest(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "bulwark", version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version returns the module version and, for a build from a checkout, the
// VCS revision.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + modified
	}
	return v + " " + bi.GoVersion
}
