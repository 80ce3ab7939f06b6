package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/dashboard"
)

func TestFormatVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "(unknown) " + runtime.Version() + " " + platform},
		{"go install of a release", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"}},
			true, "v1.2.3 go1.26.1 " + platform},
		{"build in a checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "(devel) 0123456789ab+dirty 2026-12-01T10:00:00Z go1.26.1 " + platform},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.4-0.20261201100000-0123456789ab"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"},
		}}, true, "v1.2.4-0.20261201100000-0123456789ab 0123456789ab go1.26.1 " + platform},
		{"test binary", &debug.BuildInfo{}, true, "(devel) " + runtime.Version() + " " + platform},
	}
	for _, tt := range tests {
		if got := formatVersion(tt.bi, tt.ok); got != tt.want {
			t.Errorf("%s: formatVersion = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestVersionEverywhere: `bulwark version`, `bulwark -version` and
// -version on each subcommand print the same line and do nothing else (the
// demo and the collector do not start).
func TestVersionEverywhere(t *testing.T) {
	want := "bulwark " + version() + "\n"
	for _, args := range [][]string{
		{"version"}, {"-version"}, {"--version"},
		{"demo", "-version"}, {"collect", "-version"}, {"reports", "-version"}, {"suggest", "-version"},
		// Flags before it are parsed, not acted on.
		{"collect", "-addr", "not-an-address", "-version"},
		{"reports", "-db", filepath.Join(t.TempDir(), "none.db"), "-version"},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err != nil || out.String() != want {
			t.Errorf("%q: %v, printed %q (stderr %q), want %q", args, err, out.String(), errb.String(), want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for name, want := range map[string]string{
		"db":              "BULWARK_DB",
		"trusted-proxies": "BULWARK_TRUSTED_PROXIES",
		"rate-limit":      "BULWARK_RATE_LIMIT",
		"raw-events":      "BULWARK_RAW_EVENTS",
		"cpuprofile":      "BULWARK_CPUPROFILE",
		"a.b":             "BULWARK_A_B",
	} {
		if got := envName(envPrefix, name); got != want {
			t.Errorf("envName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestEnvFlags: a flag's environment variable sets it unless the command
// line does; a value the flag refuses is an error naming the variable.
func TestEnvFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string // the flags' values after parsing, "addr rate keep"
		wantErr string
	}{
		{name: "defaults", want: "127.0.0.1:8081 20 false"},
		{name: "environment", env: map[string]string{"BULWARK_ADDR": ":9000", "BULWARK_RATE_LIMIT": "5", "BULWARK_KEEP_OTHER": "true"},
			want: ":9000 5 true"},
		{name: "the flag wins", args: []string{"-addr", ":7000", "-rate-limit=1"}, env: map[string]string{"BULWARK_ADDR": ":9000", "BULWARK_RATE_LIMIT": "5"},
			want: ":7000 1 false"},
		{name: "a flag set to its default still wins", args: []string{"-rate-limit", "20"}, env: map[string]string{"BULWARK_RATE_LIMIT": "5"},
			want: "127.0.0.1:8081 20 false"},
		{name: "an empty variable is unset", env: map[string]string{"BULWARK_ADDR": ""}, want: "127.0.0.1:8081 20 false"},
		{name: "another prefix or name is not read", env: map[string]string{"ADDR": ":1", "BULWARK_COLLECT_ADDR": ":2", "bulwark_addr": ":3"},
			want: "127.0.0.1:8081 20 false"},
		{name: "invalid number", env: map[string]string{"BULWARK_RATE_LIMIT": "fast"},
			wantErr: `environment variable BULWARK_RATE_LIMIT="fast": invalid value for -rate-limit`},
		{name: "invalid bool", env: map[string]string{"BULWARK_KEEP_OTHER": "sometimes"},
			wantErr: `environment variable BULWARK_KEEP_OTHER="sometimes": invalid value for -keep-other`},
		{name: "an invalid variable under a flag is not read", args: []string{"-rate-limit", "3"}, env: map[string]string{"BULWARK_RATE_LIMIT": "fast"},
			want: "127.0.0.1:8081 3 false"},
		{name: "-version is not read", env: map[string]string{"BULWARK_VERSION": "not-a-bool"}, want: "127.0.0.1:8081 20 false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("bulwark collect", flag.ContinueOnError)
			addr := fs.String("addr", "127.0.0.1:8081", "")
			rate := fs.Float64("rate-limit", 20, "")
			keep := fs.Bool("keep-other", false, "")
			fs.Bool("version", false, "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := envFlags(fs, envPrefix, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(*addr, " ", *rate, " ", *keep); got != tt.want {
				t.Errorf("flags %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEnvFlagsCommand: every subcommand reads its flags from the
// environment (here BULWARK_DB for reports, which the command line
// overrides), and an invalid variable stops the command with its name.
func TestEnvFlagsCommand(t *testing.T) {
	now := time.Now()
	db := reportsDB(t, batchOf(testReport(1, now)))
	t.Setenv("BULWARK_DB", db)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"reports"}, &out, &errb); err != nil || !strings.Contains(out.String(), "1 of 1 groups shown") {
		t.Errorf("reports with BULWARK_DB: %v %q %q", err, out.String(), errb.String())
	}
	if err := run(context.Background(), []string{"reports", "-db", filepath.Join(t.TempDir(), "none.db")}, &out, &errb); err == nil {
		t.Error("reports -db none.db with BULWARK_DB set: no error, want -db to win")
	}
	t.Setenv("BULWARK_LIMIT", "many")
	err := run(context.Background(), []string{"reports"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "BULWARK_LIMIT") {
		t.Errorf("reports with BULWARK_LIMIT=many: %v, want an error naming the variable", err)
	}
	for _, cmd := range []string{"demo", "collect"} {
		t.Setenv("BULWARK_ADDR", "not-an-address")
		t.Setenv("BULWARK_IDLE", "forever")
		t.Setenv("BULWARK_BURST", "lots")
		err := run(context.Background(), []string{cmd, "-db", filepath.Join(t.TempDir(), "x.db")}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "environment variable BULWARK_") {
			t.Errorf("%s with invalid BULWARK_* values: %v, want an error naming the variable", cmd, err)
		}
	}
}

// TestHelp: each subcommand's -h has a usage line, a description, every
// flag in a section of its own (none left to "Other flags"), the
// environment variables, and no developer flag, on stdout; -h is not an
// error the command prints (flag.ErrHelp, exit 0).
func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		cmd    string
		help   commandHelp
		hidden []string
	}{
		{"demo", demoHelp, nil},
		{"collect", collectHelp, []string{"cpuprofile"}},
		{"reports", reportsHelp, nil},
		{"suggest", suggestHelp, nil},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{tt.cmd, "-h"}, &out, &errb)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: %v, want flag.ErrHelp", tt.cmd, err)
		}
		help := out.String()
		for _, want := range []string{"Usage: bulwark " + tt.cmd + " [flags]\n", tt.help.about, "  -version\n", "BULWARK_DB"} {
			if !strings.Contains(help, want) {
				t.Errorf("%s -h lacks %q:\n%s", tt.cmd, want, help)
			}
		}
		if strings.Contains(help, "Other flags") {
			t.Errorf("%s -h lists flags of no section:\n%s", tt.cmd, help)
		}
		// bulwark help CMD is CMD -h.
		var outh bytes.Buffer
		if err := run(context.Background(), []string{"help", tt.cmd}, &outh, &errb); !errors.Is(err, flag.ErrHelp) || outh.String() != help {
			t.Errorf("help %s: %v, printed %q, want %s -h's help", tt.cmd, err, outh.String(), tt.cmd)
		}
		if errb.Len() != 0 {
			t.Errorf("%s -h wrote to stderr: %q", tt.cmd, errb.String())
		}
		// A mistake is one line that points to -h, not the whole help.
		out.Reset()
		errb.Reset()
		err = run(context.Background(), []string{tt.cmd, "-no-such-flag"}, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "-no-such-flag") || !strings.Contains(err.Error(), `"bulwark `+tt.cmd+` -h" lists the flags`) ||
			out.Len()+errb.Len() != 0 {
			t.Errorf("%s -no-such-flag: %v, printed %q %q", tt.cmd, err, out.String(), errb.String())
		}
		for _, name := range tt.hidden {
			if strings.Contains(help, "-"+name) {
				t.Errorf("%s -h shows the developer flag -%s:\n%s", tt.cmd, name, help)
			}
		}
		for _, s := range tt.help.sections {
			for _, name := range s.names {
				if !strings.Contains(help, "  -"+name+" ") && !strings.Contains(help, "  -"+name+"\n") {
					t.Errorf("%s -h lacks -%s:\n%s", tt.cmd, name, help)
				}
			}
		}
	}
}

// TestCollectCPUProfileHidden: -cpuprofile, out of the help, still writes
// a profile.
func TestCollectCPUProfileHidden(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	_, stop := startCollector(t, "-db", filepath.Join(t.TempDir(), "r.db"), "-cpuprofile", prof)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("the CPU profile: %v, want a non-empty file", err)
	}
}

// TestDBDirectoryMissing: a -db whose directory does not exist is an error
// that says so, for the demo, the collector and the reader, and the
// directory is not created (it was, silently, by the demo and the
// collector).
func TestDBDirectoryMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"demo", "-addr", "127.0.0.1:0", "-db", filepath.Join(missing, "demo.db")},
		{"collect", "-addr", "127.0.0.1:0", "-db", filepath.Join(missing, "reports.db")},
		{"collect", "-addr", "127.0.0.1:0", "-db", "sqlite:" + filepath.Join(missing, "reports.db")},
		{"reports", "-db", filepath.Join(missing, "reports.db")},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // were the command to start, it would stop at once
		var out, errb bytes.Buffer
		err := run(ctx, args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "does not exist") && !strings.Contains(err.Error(), "no such file") {
			t.Errorf("%q: %v, want an error saying the directory does not exist", args, err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%q created the directory (%v)", args, err)
		}
	}
}

// testReport returns a report of group g (a small integer) at.
func testReport(g int, at time.Time) cspreport.Report {
	return cspreport.Report{
		GroupFP: fmt.Sprintf("g%031d", g), DetailFP: fmt.Sprintf("d%031d", g),
		Directive: "script-src-elem", Disposition: "enforce", BlockedKind: "url",
		BlockedOrigin: fmt.Sprintf("https://cdn%d.example", g), Blocked: fmt.Sprintf("https://cdn%d.example/a.js", g),
		DocumentURL: "https://app.example/cart", DocumentOrigin: "https://app.example", DocumentPath: "/cart",
		SourceFile: "https://app.example/main.js", Line: 12, Column: 7, Sample: "inj\u202eect",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
		ReceivedAt: at, OccurredAt: at,
	}
}

// reportsRun runs `bulwark reports` with args and returns what it printed.
func reportsRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"reports"}, args...), &out, &errb)
	return out.String(), err
}

// TestReportsWindowAndLimit: reports shows the page's default window
// (dashboard.DefaultWindow), says how many groups of how many it shows,
// and -since all reaches back to the first report.
func TestReportsWindowAndLimit(t *testing.T) {
	now := time.Now()
	var reps []cspreport.Report
	for g := range 5 {
		reps = append(reps, testReport(g, now.Add(-time.Duration(g)*time.Minute)))
	}
	old := testReport(9, now.Add(-dashboard.DefaultWindow-time.Hour))
	reps = append(reps, old)
	db := reportsDB(t, batchOf(reps...))
	tests := []struct {
		args     []string
		want     string
		old      bool // the old group is listed
		wantJSON int  // "matched" with -format json, when non-zero
	}{
		{args: nil, want: "5 of 5 groups shown"},
		{args: []string{"-limit", "2"}, want: "2 of 5 groups shown"},
		{args: []string{"-since", "all", "-limit", "3"}, want: "3 of 6 groups shown"},
		{args: []string{"-since", "all"}, want: "6 of 6 groups shown", old: true},
		{args: []string{"-since", "0"}, want: "6 of 6 groups shown", old: true},
		{args: []string{"-since", "1000h"}, want: "6 of 6 groups shown", old: true},
		{args: []string{"-limit", "2", "-format", "json"}, wantJSON: 5},
	}
	// CSV has no room for "N of M": it goes to stderr.
	var csv, errb bytes.Buffer
	if err := run(context.Background(), []string{"reports", "-db", db, "-format", "csv", "-limit", "2"}, &csv, &errb); err != nil ||
		!strings.Contains(errb.String(), "2 of 5 groups shown") || strings.Contains(csv.String(), "groups shown") {
		t.Errorf("reports -format csv -limit 2: %v, stderr %q, stdout:\n%s", err, errb.String(), csv.String())
	}
	for _, tt := range tests {
		out, err := reportsRun(t, append([]string{"-db", db}, tt.args...)...)
		if err != nil {
			t.Errorf("reports %q: %v", tt.args, err)
			continue
		}
		if tt.wantJSON != 0 {
			var sum dashboard.Summary
			if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Matched != tt.wantJSON || len(sum.Groups) != 2 {
				t.Errorf("reports %q: %v, %d of %d, want 2 of %d", tt.args, err, len(sum.Groups), sum.Matched, tt.wantJSON)
			}
			continue
		}
		if !strings.Contains(out, tt.want) || strings.Contains(out, old.GroupFP) != tt.old {
			t.Errorf("reports %q: want %q, the old group listed %v:\n%s", tt.args, tt.want, tt.old, out)
		}
	}
}

// TestReportsGroupAndMute: -group prints a group's fields, its details and
// raw reports (escaped); -mute and -unmute go through the Store's Mute,
// and an unknown key is an error.
func TestReportsGroupAndMute(t *testing.T) {
	now := time.Now()
	a, b := testReport(1, now), testReport(2, now)
	batch := batchOf(a, a, b)
	batch.Events = []cspreport.Event{{GroupFP: a.GroupFP, DetailFP: a.DetailFP, ReceivedAt: now, Raw: `{"csp-report":{"script-sample":"inj` + "\u202e" + `ect"}}`}}
	db := reportsDB(t, batch)

	out, err := reportsRun(t, "-db", db, "-group", a.GroupFP)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{a.GroupFP, "script-src-elem", "https://cdn1.example", "https://app.example/cart", "Firefox 2",
		"detail 1 of 1: " + a.DetailFP + ", 2 reports", "https://app.example/main.js:12:7", `inj\u202eect`, "raw report "} {
		if !strings.Contains(out, want) {
			t.Errorf("-group lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\u202e") {
		t.Errorf("-group prints a bidirectional override raw:\n%s", out)
	}
	out, err = reportsRun(t, "-db", db, "-group", a.GroupFP, "-format", "json")
	var gd struct {
		Group   cspreport.Group              `json:"group"`
		Details []cspreport.Detail           `json:"details"`
		Events  map[string][]cspreport.Event `json:"events"`
	}
	if err != nil || json.Unmarshal([]byte(out), &gd) != nil || gd.Group.Total != 2 || len(gd.Details) != 1 || len(gd.Events[a.DetailFP]) != 1 || strings.Contains(out, "\u202e") {
		t.Errorf("-group -format json: %v %+v\n%s", err, gd, out)
	}

	if out, err := reportsRun(t, "-db", db, "-mute", a.GroupFP); err != nil || !strings.Contains(out, "muted") {
		t.Fatalf("-mute: %v %q", err, out)
	}
	if out, _ := reportsRun(t, "-db", db); strings.Contains(out, a.GroupFP) || !strings.Contains(out, "1 of 1 groups shown") {
		t.Errorf("a muted group is listed:\n%s", out)
	}
	if out, _ := reportsRun(t, "-db", db, "-muted"); !strings.Contains(out, a.GroupFP) || !strings.Contains(out, "2 of 2 groups shown") {
		t.Errorf("-muted does not list the muted group:\n%s", out)
	}
	if out, err := reportsRun(t, "-db", db, "-group", a.GroupFP); err != nil || !strings.Contains(out, "muted        true") {
		t.Errorf("-group of a muted group: %v\n%s", err, out)
	}
	if _, err := reportsRun(t, "-db", db, "-unmute", a.GroupFP); err != nil {
		t.Fatalf("-unmute: %v", err)
	}
	if out, _ := reportsRun(t, "-db", db); !strings.Contains(out, a.GroupFP) {
		t.Errorf("an unmuted group is not listed:\n%s", out)
	}

	for _, args := range [][]string{
		{"-group", "nosuchgroup"},
		{"-mute", "nosuchgroup"},
		{"-unmute", "nosuchgroup"},
		{"-group", a.GroupFP, "-mute", a.GroupFP},
		{"-group", a.GroupFP, "-format", "csv"},
	} {
		if _, err := reportsRun(t, append([]string{"-db", db}, args...)...); err == nil {
			t.Errorf("reports %q: no error", args)
		}
	}
}
