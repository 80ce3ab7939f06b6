// Command collect measures `bulwark collect` under load, on loopback only,
// bounded in time and in requests, and stops by itself.
//
// Throughput mode (the default) builds the bulwark command from the main
// module, starts `bulwark collect -rate-limit 0` on a fresh SQLite file and,
// as a second child process, the floor: a bare net/http server that only
// decodes the JSON and answers 204. The same load generator (16
// connections by default) then posts legacy report-uri bodies and
// Reporting API batches at each, alternating the two servers round after
// round, and prints throughput, p50 and p99 latency, server CPU per report
// and the ratio collector ÷ floor. After every collector run it stops the
// collector with SIGTERM and checks in the database that every report
// that was answered 2xx is stored.
//
//	cd bench && go run ./collect -duration 10s -rounds 3
//
// RSS mode floods the collector with distinct reports for -duration
// (5 minutes by default), samples the child's VmRSS from /proc, prints the
// series and the verdict: flat if every sample after the warm-up is within
// ±20 % of their median.
//
//	cd bench && go run ./collect -mode rss -duration 5m
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bulwark-go/bulwark/cspreport"
	"github.com/bulwark-go/bulwark/cspreport/sqlstore"
	"github.com/bulwark-go/bulwark/sqldb/sqlite"
)

type options struct {
	mode       string
	src        string
	bin        string
	conns      int
	duration   time.Duration
	warmup     time.Duration
	rounds     int
	maxReq     int
	bodies     string
	keys       int
	groups     int
	interval   time.Duration
	collectArg string
	keep       bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve-floor" {
		serveFloor()
		return
	}
	var o options
	flag.StringVar(&o.mode, "mode", "throughput", "throughput (collector and floor side by side) or rss (RSS over a flood of distinct reports)")
	flag.StringVar(&o.src, "src", "..", "the bulwark main module, where cmd/bulwark is built from")
	flag.StringVar(&o.bin, "bin", "", "a bulwark binary to use instead of building one")
	flag.IntVar(&o.conns, "conns", 16, "concurrent connections")
	flag.DurationVar(&o.duration, "duration", 0, "length of each measured run (default 10s; 5m in rss mode)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before each measured run, not counted")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each round measures every body on both servers")
	flag.IntVar(&o.maxReq, "max-requests", 2_000_000, "most requests of one run")
	flag.StringVar(&o.bodies, "bodies", "legacy,batch", "bodies to post, comma-separated: legacy (one report-uri report), batch (a Reporting API array of 5), mixed (3 legacy for 1 batch)")
	flag.IntVar(&o.keys, "keys", 2000, "distinct violations (detail keys) the bodies are drawn from; 0 makes every report distinct")
	flag.IntVar(&o.groups, "groups", 0, "groups (blocked hosts) the keys are spread over (default: 40 keys a group); -keys 10000 -groups 1000 is the distinct-heavy workload")
	flag.DurationVar(&o.interval, "sample", 5*time.Second, "rss mode: time between RSS samples")
	flag.StringVar(&o.collectArg, "collect-args", "", "extra arguments for bulwark collect, space-separated")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (databases, logs)")
	flag.Parse()
	if o.duration == 0 {
		o.duration = 10 * time.Second
		if o.mode == "rss" {
			o.duration = 5 * time.Minute
		}
	}
	if o.conns < 1 || o.rounds < 1 || o.maxReq < 1 || o.duration <= 0 || o.duration > time.Hour || o.keys < 0 || o.groups < 0 {
		fatal(errors.New("-conns, -rounds, -max-requests must be positive, -duration at most 1h, -keys and -groups not negative"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "bulwark-collect-bench-")
	if err != nil {
		fatal(err)
	}
	if o.keep {
		fmt.Println("temporary directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if o.bin == "" {
		o.bin = filepath.Join(dir, "bulwark")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.bin, "./cmd/bulwark")
		build.Dir, build.Stdout, build.Stderr = o.src, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fatal(fmt.Errorf("go build ./cmd/bulwark in %s: %w", o.src, err))
		}
	}
	switch o.mode {
	case "throughput":
		err = throughput(ctx, o, dir)
	case "rss":
		err = rss(ctx, o, dir)
	default:
		err = fmt.Errorf("-mode %q: write throughput or rss", o.mode)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "collect:", err)
	os.Exit(1)
}

// A child is a server process on loopback.
type child struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startChild runs name args, and reads the first line of its standard
// output that holds "http://" for the address it listens on.
func startChild(name string, args []string, logPath string) (*child, error) {
	cmd := exec.Command(name, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "http://"); i >= 0 {
				select {
				case found <- strings.Fields(sc.Text()[i:])[0]:
				default:
				}
			}
		}
		c.done <- cmd.Wait()
		logf.Close()
	}()
	select {
	case u := <-found:
		c.url = u
	case err := <-c.done:
		return nil, fmt.Errorf("%s exited before listening (%v): see %s", name, err, logPath)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not say where it listens within 30s", name)
	}
	// Loopback only.
	hostPort, _, _ := strings.Cut(strings.TrimPrefix(c.url, "http://"), "/")
	host, _, err := net.SplitHostPort(hostPort)
	if a, perr := netip.ParseAddr(host); err != nil || perr != nil || !a.IsLoopback() {
		c.stop()
		return nil, fmt.Errorf("%s listens on %s, not on loopback", name, c.url)
	}
	return c, nil
}

// stop sends SIGTERM and waits (at most 60s, then SIGKILL) for the exit.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return err
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		return fmt.Errorf("%s did not stop within 60s of SIGTERM", c.cmd.Path)
	}
}

// cpu returns the process's user+system CPU time so far.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// rssKiB returns the process's VmRSS.
func (c *child) rssKiB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

func (o options) startCollector(dir, name string) (*child, string, error) {
	db := filepath.Join(dir, name+".db")
	args := []string{"collect", "-addr", "127.0.0.1:0", "-db", db, "-rate-limit", "0"}
	args = append(args, strings.Fields(o.collectArg)...)
	c, err := startChild(o.bin, args, filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	return c, db, nil
}

func (o options) startFloor(dir string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startChild(self, []string{"-serve-floor"}, filepath.Join(dir, "floor.log"))
}

// storedReports sums the group totals of the SQLite database in file, and the
// counters (filtered, other types, invalid items).
func storedReports(ctx context.Context, file string) (violations, counted int64, err error) {
	db, err := sqlite.Open(ctx, file)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	gs, err := s.Groups(ctx, cspreport.GroupQuery{Limit: 1 << 30, Muted: true})
	if err != nil {
		return 0, 0, err
	}
	for _, g := range gs {
		violations += g.Total
	}
	cs, err := s.Counters(ctx, time.Time{})
	if err != nil {
		return 0, 0, err
	}
	for _, c := range cs {
		counted += c.Count
	}
	return violations, counted, nil
}

// result is one measured run.
type result struct {
	server, body      string
	elapsed           time.Duration
	requests, reports int64 // answered 2xx
	refused, errors   int64 // non-2xx answers; transport errors
	uncertain         int64 // reports of requests that failed without an answer
	p50, p99          time.Duration
	cpu               time.Duration
}

func (r result) rate() float64 { return float64(r.reports) / r.elapsed.Seconds() }

func (r result) String() string {
	return fmt.Sprintf("%-9s %-6s %8.0f reports/s %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %5.1f µs/report  non-2xx %d  errors %d",
		r.server, r.body, r.rate(), float64(r.requests)/r.elapsed.Seconds(),
		ms(r.p50), ms(r.p99), float64(r.cpu.Microseconds())/max(1, float64(r.reports)), r.refused, r.errors)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load posts bodies from gen at url from o.conns connections, for d or
// max requests, whichever comes first.
func load(ctx context.Context, o options, url string, gen *generator, body string, d time.Duration, max int) result {
	tr := &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var sent atomic.Int64
	lats := make([][]time.Duration, o.conns)
	res := make([]result, o.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.conns {
		wg.Go(func() {
			r := &res[w]
			for ctx.Err() == nil && sent.Add(1) <= int64(max) {
				b, ctype, n := gen.next(body)
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", url, strings.NewReader(b))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					r.errors++
					r.uncertain += n
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[w] = append(lats[w], time.Since(t0))
				if resp.StatusCode/100 == 2 {
					r.requests++
					r.reports += n
				} else {
					r.refused++
				}
			}
		})
	}
	wg.Wait()
	var out result
	out.elapsed = time.Since(start)
	var all []time.Duration
	for w := range res {
		out.requests += res[w].requests
		out.reports += res[w].reports
		out.refused += res[w].refused
		out.errors += res[w].errors
		out.uncertain += res[w].uncertain
		all = append(all, lats[w]...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		out.p50 = all[len(all)/2]
		out.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return out
}

func throughput(ctx context.Context, o options, dir string) error {
	bodies := strings.Split(o.bodies, ",")
	for _, b := range bodies {
		if b != "legacy" && b != "batch" && b != "mixed" {
			return fmt.Errorf("-bodies: %q: write legacy, batch or mixed", b)
		}
	}
	floor, err := o.startFloor(dir)
	if err != nil {
		return err
	}
	defer floor.stop()
	fmt.Printf("bulwark collect vs floor: %d connections, %v per run after %v of warm-up, %d rounds, keys %d, groups %d, GOMAXPROCS of each process: %d cores\n",
		o.conns, o.duration, o.warmup, o.rounds, o.keys, o.groups, numCPU())
	ratios := map[string][]float64{}
	p99s := map[string][]time.Duration{}
	gen := newGenerator(o.keys, o.groups)
	run := 0
	for round := 1; round <= o.rounds; round++ {
		for _, body := range bodies {
			// Alternate which server goes first.
			order := []string{"collector", "floor"}
			if round%2 == 0 {
				order = []string{"floor", "collector"}
			}
			var col, fl result
			for _, server := range order {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if server == "floor" {
					load(ctx, o, floor.url, gen, body, o.warmup, o.maxReq)
					c0 := floor.cpu()
					fl = load(ctx, o, floor.url, gen, body, o.duration, o.maxReq)
					fl.cpu = floor.cpu() - c0
					fl.server, fl.body = "floor", body
					fmt.Printf("round %d  %v\n", round, fl)
					continue
				}
				run++
				c, db, err := o.startCollector(dir, fmt.Sprintf("run%d", run))
				if err != nil {
					return err
				}
				warm := load(ctx, o, c.url, gen, body, o.warmup, o.maxReq)
				c0 := c.cpu()
				col = load(ctx, o, c.url, gen, body, o.duration, o.maxReq)
				col.cpu = c.cpu() - c0
				col.server, col.body = "collector", body
				if err := c.stop(); err != nil {
					return fmt.Errorf("collector: %w", err)
				}
				fmt.Printf("round %d  %v\n", round, col)
				v, counted, err := storedReports(ctx, db)
				if err != nil {
					return fmt.Errorf("reading %s: %w", db, err)
				}
				acked := warm.reports + col.reports
				unsure := warm.uncertain + col.uncertain
				if v < acked || v > acked+unsure || counted != 0 {
					return fmt.Errorf("run %d: %d reports answered 2xx (and %d unanswered), but %d stored as violations and %d counted apart", run, acked, unsure, v, counted)
				}
				fmt.Printf("          verified: %d reports answered 2xx, %d stored\n", acked, v)
				if !o.keep {
					os.Remove(db)
				}
			}
			ratios[body] = append(ratios[body], col.rate()/fl.rate())
			p99s[body] = append(p99s[body], col.p99)
		}
	}
	fmt.Println()
	for _, body := range bodies {
		r := slices.Clone(ratios[body])
		slices.Sort(r)
		p := slices.Clone(p99s[body])
		slices.Sort(p)
		fmt.Printf("%-6s collector ÷ floor: median %.2f [%.2f–%.2f] over %d rounds; collector p99 median %.2f ms [%.2f–%.2f]\n",
			body, r[len(r)/2], r[0], r[len(r)-1], len(r), ms(p[len(p)/2]), ms(p[0]), ms(p[len(p)-1]))
	}
	return nil
}

func rss(ctx context.Context, o options, dir string) error {
	c, db, err := o.startCollector(dir, "rss")
	if err != nil {
		return err
	}
	gen := newGenerator(0, 0)
	body := "mixed"
	if o.bodies != "legacy,batch" {
		body = o.bodies
	}
	type sample struct {
		at  time.Duration
		kib int64
	}
	var samples []sample
	start := time.Now()
	lctx, cancel := context.WithCancel(ctx)
	resc := make(chan result, 1)
	cpu0 := c.cpu()
	go func() { resc <- load(lctx, o, c.url, gen, body, o.duration, o.maxReq) }()
	t := time.NewTicker(o.interval)
	fmt.Printf("flooding %s with distinct %s bodies from %d connections for %v; VmRSS every %v\n", c.url, body, o.conns, o.duration, o.interval)
	var res result
sampling:
	for {
		select {
		case res = <-resc:
			break sampling
		case <-t.C:
			kib, err := c.rssKiB()
			if err != nil {
				cancel()
				return err
			}
			samples = append(samples, sample{time.Since(start).Round(time.Second), kib})
			fmt.Printf("%6v  VmRSS %7.1f MiB\n", samples[len(samples)-1].at, float64(kib)/1024)
		}
	}
	t.Stop()
	cancel()
	res.cpu = c.cpu() - cpu0
	if err := c.stop(); err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	res.server, res.body = "collector", body
	fmt.Println(res)
	v, counted, err := storedReports(ctx, db)
	if err != nil {
		return err
	}
	if v < res.reports || v > res.reports+res.uncertain || counted != 0 {
		return fmt.Errorf("%d reports answered 2xx (%d unanswered), %d stored, %d counted apart", res.reports, res.uncertain, v, counted)
	}
	if st, err := os.Stat(db); err == nil {
		fmt.Printf("verified: %d reports answered 2xx, %d stored; database %.1f MiB\n", res.reports, v, float64(st.Size())/(1<<20))
	}
	// The verdict: samples after the first 20 % of the run.
	warm := len(samples) / 5
	rest := samples[warm:]
	if len(rest) < 3 {
		return errors.New("too few RSS samples for a verdict: lengthen -duration or shorten -sample")
	}
	vals := make([]int64, len(rest))
	for i, s := range rest {
		vals[i] = s.kib
	}
	slices.Sort(vals)
	med := float64(vals[len(vals)/2])
	lo, hi := float64(vals[0])/med-1, float64(vals[len(vals)-1])/med-1
	verdict := "FLAT"
	if lo < -0.20 || hi > 0.20 {
		verdict = "NOT FLAT"
	}
	fmt.Printf("RSS after the first %v: median %.1f MiB, min %+.1f %%, max %+.1f %% → %s (±20 %%)\n",
		rest[0].at, med/1024, lo*100, hi*100, verdict)
	return nil
}

func numCPU() int {
	b, err := os.ReadFile("/sys/fs/cgroup/cpu.max")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 && f[0] != "max" {
			q, _ := strconv.Atoi(f[0])
			p, _ := strconv.Atoi(f[1])
			if p > 0 {
				return max(1, q/p)
			}
		}
	}
	return runtimeNumCPU()
}
