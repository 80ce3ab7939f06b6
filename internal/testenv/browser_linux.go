package testenv

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// killBrowserLeftovers kills the processes whose command line has
// --user-data-dir=dir (Chromium passes it to every child), until none is
// left for a few looks in a row, and returns how many it killed.
func killBrowserLeftovers(dir string) int {
	want := []byte("--user-data-dir=" + dir)
	killed := 0
	quiet := 0
	for end := time.Now().Add(3 * time.Second); quiet < 3 && time.Now().Before(end); {
		n := 0
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return killed
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil {
				continue
			}
			for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
				if bytes.Equal(arg, want) {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						n++
					}
					break
				}
			}
		}
		killed += n
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	return killed
}
