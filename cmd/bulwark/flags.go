package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// What every subcommand's flags share, so that each command reads the same
// way: -version, BULWARK_* environment variables under the flags, and a
// help text with a usage line, a one-line description and the flags in
// sections, developer flags left out.
//
// A subcommand defines its flags on a flag.FlagSet, sets its help with
// commandHelp.install, and calls parseFlags instead of fs.Parse:
//
//	fs := flag.NewFlagSet("bulwark suggest", flag.ContinueOnError)
//	fs.SetOutput(stderr)
//	db := fs.String("db", defaultReportsDB(), "…")
//	suggestHelp.install(fs)
//	if done, err := parseFlags(fs, args, stdout); done || err != nil {
//		return err
//	}

// envPrefix is the prefix of the environment variables that set flags:
// -trusted-proxies is also BULWARK_TRUSTED_PROXIES.
//
// The subcommand's name is not part of the variable: one flag name means
// one setting in every subcommand (-db is the report database for
// collect, reports and suggest alike), so that BULWARK_DB set once, in a
// container or a shell, serves the collector and the commands that read
// what it collected. A process runs one subcommand, so its environment is
// its own; the demo, whose -db is a different file, is a tool to try the
// suite, not something deployed beside the collector.
const envPrefix = "BULWARK_"

// envName is the environment variable of the flag name: prefix, then the
// name in upper case with every character other than a letter or a digit
// as "_" (-rate-limit: BULWARK_RATE_LIMIT).
func envName(prefix, name string) string {
	return prefix + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// envFlags sets each flag of fs that the command line did not set from its
// environment variable (envName), read with getenv (os.Getenv; a map in
// tests). Call it after fs.Parse: a flag on the command line wins over the
// environment, which wins over the default. An empty variable counts as
// unset. -version is never read from the environment. A value the flag
// refuses is an error that names the variable and the flag, so that a
// mistake in a deployment's environment is not taken for one on the
// command line.
func envFlags(fs *flag.FlagSet, prefix string, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "version" {
			return
		}
		name := envName(prefix, f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s=%q: invalid value for -%s: %v", name, v, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// parseFlags parses args into fs, then fills the flags the command line
// left unset from the BULWARK_* environment variables (envFlags). It
// defines -version on fs, which every subcommand has: with it, parseFlags
// prints the version to stdout and reports done, and the command returns.
// -h prints the help (fs.Usage) to stdout, where it was asked for, and
// returns flag.ErrHelp; a mistake returns an error that points to -h
// rather than the whole help. An argument that is not a flag is an error:
// no subcommand takes one.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (done bool, err error) {
	v := fs.Bool("version", false, "print the version and exit")
	out := fs.Output()
	fs.SetOutput(io.Discard) // the error is returned, the help printed below
	err = fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(out)
		return false, err
	case err != nil:
		return false, fmt.Errorf("%w (%q lists the flags)", err, fs.Name()+" -h")
	}
	if *v {
		fmt.Fprintln(stdout, "bulwark", version())
		return true, nil
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q (%q lists the flags)", fs.Arg(0), fs.Name()+" -h")
	}
	return false, envFlags(fs, envPrefix, os.Getenv)
}

// A flagSection is a titled group of flags in a subcommand's help.
type flagSection struct {
	title string
	names []string
}

// commandHelp is the help of a subcommand: its usage line, a one-line
// description, and its flags by section. Flags of no section are listed
// under "Other flags", so a new flag is never left out of the help;
// developer flags (for measurements and debugging: -cpuprofile) are left
// out and still work.
type commandHelp struct {
	usage     string // "bulwark collect [flags]"
	about     string // one line: what the command does
	sections  []flagSection
	developer []string
}

// install sets fs.Usage to print h, with each flag's environment variable.
func (h commandHelp) install(fs *flag.FlagSet) {
	fs.Usage = func() { h.write(fs.Output(), fs) }
}

func (h commandHelp) write(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", h.usage, h.about)
	listed := map[string]bool{}
	for _, n := range h.developer {
		listed[n] = true
	}
	sections := slices.Clone(h.sections)
	for _, s := range sections {
		for _, n := range s.names {
			listed[n] = true
		}
	}
	var other flagSection
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] && f.Name != "version" {
			other.names = append(other.names, f.Name)
		}
	})
	if len(other.names) > 0 {
		other.title = "Other flags"
		sections = append(sections, other)
	}
	sections = append(sections, flagSection{title: "", names: []string{"version"}})
	for _, s := range sections {
		fmt.Fprintln(w)
		if s.title != "" {
			fmt.Fprintf(w, "%s:\n", s.title)
		}
		for _, n := range s.names {
			f := fs.Lookup(n)
			if f == nil {
				continue
			}
			typ, usage := flag.UnquoteUsage(f)
			line := "  -" + f.Name
			if typ != "" {
				line += " " + typ
			}
			fmt.Fprintf(w, "%s\n    \t%s", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
			switch d := f.DefValue; {
			case d == "" || d == "false" || d == "0" || d == "0s":
			case strings.ContainsAny(d, " \t"):
				fmt.Fprintf(w, " (default %q)", d)
			default:
				fmt.Fprintf(w, " (default %s)", d)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\nEvery flag can also be set with an environment variable: %s and the flag's\nname in upper case, \"-\" as \"_\" (-db: %s). A flag on the command line wins.\n",
		envPrefix, envName(envPrefix, "db"))
}

// prefixErr prefixes err with the subcommand's name, except flag.ErrHelp,
// which is returned as it is (the help was asked for, and printed), and
// nil.
func prefixErr(cmd string, err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// makeDefaultDir creates the directory of the SQLite file path when path
// is the command's default (def, in the user's cache directory, which the
// command owns), so that `bulwark demo` and `bulwark collect` run with no
// flag. A path given with -db (or BULWARK_DB) is the operator's: its
// directory must exist, and sqldb/sqlite.Open says so when it does not,
// rather than a mistyped path becoming a new directory.
func makeDefaultDir(path, def string) error {
	if path != def {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(def), 0o700); err != nil {
		return fmt.Errorf("the default database's directory: %w", err)
	}
	return nil
}
