package testenv_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/bulwark-go/bulwark/internal/testenv"
)

// TestBrowserFlagsAndCleanup checks the command line of the browser, and
// that no process of it is left once its test has ended.
func TestBrowserFlagsAndCleanup(t *testing.T) {
	var pid int
	var userDataDir string
	t.Run("browser", func(t *testing.T) {
		ctx := testenv.Browser(t)
		pid = chromedp.FromContext(ctx).Browser.Process().Pid
		args := cmdline(t, pid)
		if args == nil {
			t.Fatalf("no command line for the browser process %d", pid)
		}
		for _, f := range testenv.BrowserFlags {
			if !slices.Contains(args, "--"+f) {
				t.Errorf("browser command line lacks --%s: %q", f, args)
			}
		}
		for _, a := range args {
			if d, ok := strings.CutPrefix(a, "--user-data-dir="); ok {
				userDataDir = d
			}
		}
		if userDataDir == "" {
			t.Errorf("browser command line has no --user-data-dir: %q", args)
		}
	})
	if t.Failed() || userDataDir == "" {
		return
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("browser process %d still runs after its test ended", pid)
	}
	want := "--user-data-dir=" + userDataDir
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if slices.Contains(cmdline(t, p), want) {
			t.Errorf("process %d of the browser is left after its test ended: %q", p, cmdline(t, p))
		}
	}
	if _, err := os.Stat(userDataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("user data directory %s is left: %v", userDataDir, err)
	}
}

// cmdline returns the arguments of the process pid, or nil.
func cmdline(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}
