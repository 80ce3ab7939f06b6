// Command bulwark runs the bulwark demo site, the stand-alone CSP report
// collector, and a report reader.
//
// Usage:
//
//	bulwark demo [-addr 127.0.0.1:8080] [-provider-addr 127.0.0.1:8082] [-db path] [-idle 30m]
//	    run the demo site (every package of the suite, on SQLite, served as
//	    http://localhost:8080) and its OpenID Connect provider
//	bulwark collect [-addr 127.0.0.1:8081] [-db file-or-postgres-url] [-rate-limit n] …
//	    run the CSP report receiver at /csp-report
//	bulwark reports [-db file-or-postgres-url] [-format table|json|csv] [-since 24h] [-limit n]
//	bulwark reports -group KEY | -mute KEY | -unmute KEY
//	    print the collected report groups, a group's details, or mute one
//	bulwark suggest [-db file-or-postgres-url] [-since 168h] [-origin url] [-format text|json]
//	    suggest a policy from the collected reports (the policy assistant)
//	bulwark version (or bulwark <command> -version)
//	    print the version
//
// "bulwark <command> -h" lists the flags of a command. Every flag can also
// be set from the environment: BULWARK_ and the flag's name in upper case
// with "-" as "_" (-trusted-proxies: BULWARK_TRUSTED_PROXIES); a flag on
// the command line wins.
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
	"runtime"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // asked for help, and got it
		}
		fmt.Fprintln(os.Stderr, "bulwark:", err)
		os.Exit(2)
	}
}

const usage = `bulwark: security-hardening HTTP middleware for Go, and its tools.

Usage:
  bulwark demo [flags]     run the demo site: every package of the suite, on SQLite
  bulwark collect [flags]  run the CSP report collector at /csp-report
  bulwark reports [flags]  print the collected CSP reports, a group's details; mute a group
  bulwark suggest [flags]  suggest a CSP from the collected reports (the policy assistant)
  bulwark version          print the version (also: bulwark <command> -version)
  bulwark help [command]   print this text, or a command's help

"bulwark <command> -h" lists the flags of a command. Every flag can also be
set from the environment: BULWARK_ and the flag's name in upper case, "-" as
"_" (-db: BULWARK_DB); a flag on the command line wins.
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
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "bulwark", version())
		return nil
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" && args[1] != "help" {
			// bulwark help collect: collect's -h.
			return run(ctx, []string{args[1], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// version returns the build's version, on one line: the module version
// ("(devel)" for a build from a checkout), the VCS revision, its time and
// "+dirty" when the build says so, then the Go version and platform.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	return formatVersion(bi, ok)
}

// formatVersion is version for the build information bi (ok as
// debug.ReadBuildInfo returns it).
func formatVersion(bi *debug.BuildInfo, ok bool) string {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	if !ok || bi == nil {
		return "(unknown) " + runtime.Version() + " " + platform
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))] + dirty
		if at != "" {
			v += " " + at
		}
	}
	gov := bi.GoVersion
	if gov == "" {
		gov = runtime.Version()
	}
	return v + " " + gov + " " + platform
}
