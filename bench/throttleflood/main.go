// Command throttleflood measures what a flood of wrong passwords costs the
// demo (`bulwark demo`) with login throttling, against the cost of the
// password hashes it would have computed without: docs/performance.md,
// "throttle". It runs the demo on 127.0.0.1 and talks to it only there,
// from source addresses 127.0.0.2 … (the whole 127/8 is loopback on
// Linux), so that each flooding client is a client of its own.
//
//	cd bench && go run ./throttleflood            # 10,000 wrong logins from 100 clients, 1,000 hashes
//	cd bench && go run ./throttleflood -clients 10 -per 100 -hashes 100   # a quicker run
//
// It reports: the demo's CPU time during the flood (from /proc, Linux
// only), the CPU time of the same number of hashes computed here (PBKDF2-
// HMAC-SHA-256, 600,000 iterations, the demo's), and the latency of alice's
// login from the browser she logged in with before, quiet and during the
// flood.
package main

import (
	"bufio"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "throttleflood:", err)
		os.Exit(1)
	}
}

func run() error {
	clients := flag.Int("clients", 100, "flooding clients (source addresses 127.0.0.2 …), at most 200")
	per := flag.Int("per", 100, "wrong logins per client")
	hashes := flag.Int("hashes", 1000, "password hashes to compare with")
	quiet := flag.Int("quiet", 10, "logins measured before the flood")
	bin := flag.String("bin", "", "the bulwark binary (default: built from ../cmd/bulwark)")
	flag.Parse()
	if *clients < 1 || *clients > 200 || *per < 1 || *hashes < 1 || *quiet < 1 {
		return errors.New("bad flags: -clients 1…200, -per, -hashes and -quiet at least 1")
	}
	dir, err := os.MkdirTemp("", "throttleflood")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "bulwark")
		build := exec.Command("go", "build", "-o", *bin, "./cmd/bulwark")
		build.Dir = ".."
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build the demo: %w", err)
		}
	}
	demo, base, err := startDemo(*bin, dir)
	if err != nil {
		return err
	}
	defer func() { demo.Process.Kill(); demo.Wait() }()

	// alice logs in once from her browser (127.0.0.250): it gets a device cookie.
	owner := newClient(250)
	device, status, err := owner.login(base, "alice", "alice-password", nil)
	if err != nil || status != http.StatusSeeOther || device == nil {
		return fmt.Errorf("alice's first login: %d, %v (device cookie %v)", status, err, device)
	}
	var quietLat []time.Duration
	for range *quiet {
		start := time.Now()
		d, status, err := owner.login(base, "alice", "alice-password", device)
		if err != nil || status != http.StatusSeeOther {
			return fmt.Errorf("quiet login: %d, %v", status, err)
		}
		quietLat = append(quietLat, time.Since(start))
		device = d
	}

	cpu0, err := procCPU(demo.Process.Pid)
	if err != nil {
		return err
	}
	codes := make([]map[int]int, *clients)
	var errMu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	floodStart := time.Now()
	for c := range *clients {
		codes[c] = map[int]int{}
		cl := newClient(2 + c)
		wg.Go(func() {
			for range *per {
				_, status, err := cl.login(base, "alice", "not-her-password", nil)
				if err != nil {
					status = -1
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
				codes[c][status]++
			}
		})
	}
	// alice logs in from her browser, one login after another, while the
	// flood lasts.
	done := make(chan struct{})
	var floodLat []time.Duration
	var ownerErr error
	var owg sync.WaitGroup
	owg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			start := time.Now()
			d, status, err := owner.login(base, "alice", "alice-password", device)
			if err != nil || status != http.StatusSeeOther {
				ownerErr = fmt.Errorf("alice's login during the flood: %d, %v", status, err)
				return
			}
			floodLat = append(floodLat, time.Since(start))
			device = d
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Wait()
	floodWall := time.Since(floodStart)
	close(done)
	owg.Wait()
	cpu1, err := procCPU(demo.Process.Pid)
	if err != nil {
		return err
	}
	if ownerErr != nil {
		return ownerErr
	}
	total := map[int]int{}
	for _, m := range codes {
		for k, v := range m {
			total[k] += v
		}
	}

	// The same machine, now: the CPU time of the hashes.
	hashCPU, hashWall := hashCost(*hashes)

	fmt.Printf("flood: %d wrong logins for alice from %d clients in %v\n", *clients**per, *clients, floodWall.Round(time.Millisecond))
	fmt.Printf("  answers: %v (200 = the password was hashed and was wrong; 429 = refused before any hash)\n", total)
	if firstErr != nil {
		fmt.Printf("  -1: no answer; the first error: %v\n", firstErr)
	}
	fmt.Printf("  demo CPU time during the flood: %v\n", cpu1-cpu0)
	fmt.Printf("%d password hashes (PBKDF2-SHA256, 600,000 iterations) here: CPU %v (wall %v, %d goroutines)\n", *hashes, hashCPU.Round(time.Millisecond), hashWall.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	fmt.Printf("  flood CPU / hashes CPU = %.3f\n", float64(cpu1-cpu0)/float64(hashCPU))
	q, f, f90 := median(quietLat), median(floodLat), quantile(floodLat, 0.9)
	over := 0
	for _, d := range floodLat {
		if d > 2*q {
			over++
		}
	}
	fmt.Printf("alice's login from her browser: quiet median %v (%d logins); during the flood median %v, p90 %v, max %v (%d logins, %d over 2× the quiet median)\n",
		q.Round(time.Millisecond), len(quietLat), f.Round(time.Millisecond), f90.Round(time.Millisecond), slices.Max(floodLat).Round(time.Millisecond), len(floodLat), over)
	fmt.Printf("  ratios to the quiet median: median %.2f, p90 %.2f, max %.2f\n", float64(f)/float64(q), float64(f90)/float64(q), float64(slices.Max(floodLat))/float64(q))
	return nil
}

// startDemo runs the demo on a free port of 127.0.0.1 and returns its URL.
func startDemo(bin, dir string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin, "demo", "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "demo.db"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = io.Discard // the security log: thousands of lines
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(out)
	re := regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+)/`)
	for range 20 {
		line, err := br.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			return nil, "", fmt.Errorf("the demo stopped: %w", err)
		}
		if m := re.FindStringSubmatch(line); m != nil {
			go io.Copy(io.Discard, br)
			return cmd, m[1], nil
		}
	}
	cmd.Process.Kill()
	return nil, "", errors.New("the demo printed no URL")
}

// client is an HTTP client whose connections come from 127.0.0.n.
type client struct{ c *http.Client }

func newClient(n int) client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}, Timeout: 10 * time.Second}
	return client{&http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 2},
		Timeout:   5 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// login posts the login form (with the device cookie, if any) and
// returns the device cookie it got back (or the one it sent) and the status.
func (c client) login(base, user, password string, device *http.Cookie) (*http.Cookie, int, error) {
	form := url.Values{"username": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(context.Background(), "POST", base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if device != nil {
		req.AddCookie(device)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if strings.HasPrefix(ck.Name, "bulwark_device_") {
			return ck, resp.StatusCode, nil
		}
	}
	return device, resp.StatusCode, nil
}

// procCPU returns the user and system CPU time of process pid
// (/proc/PID/stat, in clock ticks of 1/100 s, Linux's USER_HZ).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the demo's CPU time (Linux only): %w", err)
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14 of stat
	stime, err2 := strconv.ParseInt(fields[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// hashCost computes n hashes as the demo checks a password, on every
// processor, and returns the CPU time and the wall time they took.
func hashCost(n int) (cpu, wall time.Duration) {
	salt := []byte("0123456789abcdef")
	before := selfCPU()
	start := time.Now()
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for range jobs {
				_, _ = pbkdf2.Key(sha256.New, "not-her-password", salt, 600_000, 32)
			}
		})
	}
	wg.Wait()
	return selfCPU() - before, time.Since(start)
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration { return quantile(d, 0.5) }

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
