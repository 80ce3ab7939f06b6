package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgBin returns the directory of the newest PostgreSQL server binaries
// under root (Debian's /usr/lib/postgresql/<version>/bin), else in PATH,
// or "" if there are none.
func pgBin(root string) string {
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "bin"))
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(a) - pgMajor(b) })
	for _, d := range slices.Backward(dirs) {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && isExec(filepath.Join(filepath.Dir(p), "pg_ctl")) {
		return filepath.Dir(p)
	}
	return ""
}

// pgMajor is the version number in /usr/lib/postgresql/<version>/bin.
func pgMajor(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func startPrivatePG(t testing.TB) *PrivatePG {
	t.Helper()
	bin := pgBin("/usr/lib/postgresql")
	if bin == "" {
		Missing(t, "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or in PATH: this test starts a PostgreSQL of its own (apt-get install postgresql)")
	}
	p := &PrivatePG{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Missing(t, "running as root and there is no user postgres to run a PostgreSQL of the test's own as: "+err.Error())
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.asUser = &pgUser{uint32(uid), uint32(gid)}
	}
	reapPrivatePG()
	// Not t.TempDir(): it is 0700 under a 0700 parent, which the user
	// postgres cannot reach.
	dir, err := os.MkdirTemp("", pgDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(p.cleanup)
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	p.data = filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	for _, d := range []string{p.data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if p.asUser != nil {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{p.data, sock} {
			if err := os.Chown(d, int(p.asUser.uid), int(p.asUser.gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	// A port found free can be taken before the server binds it: try
	// another, a few times.
	logFile := filepath.Join(sock, "postgres.log")
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, sock)
		out, err := p.run("pg_ctl", "-D", p.data, "-l", logFile, "-w", "-t", "30", "-o", opts, "start")
		if err == nil {
			p.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return p
		}
		if try == 3 {
			log, _ := os.ReadFile(logFile)
			t.Fatalf("testenv: pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
}

// pgDirPrefix begins the name of each private cluster's directory in
// os.TempDir(); the directory holds owner.pid, the test process's pid.
const pgDirPrefix = "bulwark-pg-"

// reapPrivatePG kills the clusters, and removes the directories, that a
// test process left behind when it died before its cleanup ran (a go
// test -timeout panic, a SIGKILL): their owner.pid names no live process.
// A directory without owner.pid is left alone for a minute, as another
// test process may be about to write it.
func reapPrivatePG() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), pgDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < time.Minute {
				continue
			}
		} else if owner, err := strconv.Atoi(string(b)); err == nil && alive(owner) {
			continue
		}
		data := filepath.Join(dir, "data")
		p := &PrivatePG{dir: dir, data: data}
		// Only a postmaster whose command line names this data
		// directory: after a reboot its pid may be another program's.
		if pm, err := p.postmaster(); err == nil {
			if cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pm) + "/cmdline"); err == nil && bytes.Contains(cmd, []byte(data)) {
				procs := append(descendants(pm), pm)
				for _, pid := range procs {
					_ = syscall.Kill(pid, syscall.SIGKILL) // stopped or not
				}
				for _, pid := range procs {
					for end := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(end); {
						time.Sleep(time.Millisecond)
					}
				}
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// run runs one of the server's programs, as the user postgres when the
// test runs as root.
func (p *PrivatePG) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, prog), args...)
	cmd.Dir = p.dir
	if p.asUser != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: p.asUser.uid, Gid: p.asUser.gid}}
	}
	// pg_ctl start leaves the server running with the output file open:
	// write to a file, not a pipe that CombinedOutput would wait on.
	f, err := os.CreateTemp(p.dir, prog+"-*.out")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return out, err
}

// freePort returns a loopback TCP port that nothing listened on a moment
// ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop pauses the whole cluster with SIGSTOP, the postmaster first (so
// that it starts no new process) and then every process under it, and
// returns once each is stopped: connections are then accepted by the
// kernel's listen queue and go unanswered, and open sessions hang, as
// with a frozen server. Stopping a stopped cluster stops what is new.
// A failure to do so fails the test.
func (p *PrivatePG) Stop() {
	t := p.t
	t.Helper()
	pm, err := p.postmaster()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.stop(pm); err != nil {
		t.Fatal(err)
	}
	// The postmaster stopped cannot fork: its descendants now are all
	// there will be until Cont.
	for _, pid := range descendants(pm) {
		if err := p.stop(pid); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatal(err)
		}
	}
	for _, pid := range p.stopped {
		if err := waitStopped(pid, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *PrivatePG) stop(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("testenv: SIGSTOP %d: %w", pid, err)
	}
	if !slices.Contains(p.stopped, pid) {
		p.stopped = append(p.stopped, pid)
	}
	return nil
}

// Cont resumes what Stop paused (SIGCONT), the postmaster last.
func (p *PrivatePG) Cont() {
	p.t.Helper()
	if err := p.cont(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *PrivatePG) cont() error {
	var errs []error
	for _, pid := range slices.Backward(p.stopped) {
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("testenv: SIGCONT %d: %w", pid, err))
		}
	}
	p.stopped = nil
	return errors.Join(errs...)
}

// postmaster reads the server's pid from the first line of postmaster.pid.
func (p *PrivatePG) postmaster() (int, error) {
	b, err := os.ReadFile(filepath.Join(p.data, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("testenv: the private PostgreSQL is not running: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("testenv: postmaster.pid begins with %q, not a pid", line)
	}
	return pid, nil
}

// descendants returns the pids of every process under root, found
// through each process's parent in /proc/<pid>/stat.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	for queue := children[root]; len(queue) > 0; queue = queue[1:] {
		out = append(out, queue[0])
		queue = append(queue, children[queue[0]]...)
	}
	return out
}

// procStat returns the parent and the state letter of pid, from
// /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces
// and parentheses, so the fields are read after the last ')').
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// waitStopped returns when pid is stopped (state T) or gone.
func waitStopped(pid int, limit time.Duration) error {
	for end := time.Now().Add(limit); ; {
		_, state, ok := procStat(pid)
		if !ok || state == 'T' || state == 'Z' || state == 'X' {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("testenv: process %d is still in state %c %v after SIGSTOP", pid, state, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// cleanup resumes the cluster if it is paused, stops it at once
// (pg_ctl stop -m immediate; SIGKILL of the postmaster and its processes
// if that fails) and removes its directory.
func (p *PrivatePG) cleanup() {
	_ = p.cont()
	if pm, err := p.postmaster(); err == nil {
		if _, err := p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "-t", "20", "stop"); err != nil {
			for _, pid := range append(descendants(pm), pm) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = os.RemoveAll(p.dir)
}
