package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestReapPrivatePG: a cluster whose test process died (its owner.pid
// names a process that is gone) is killed and its directory removed by
// the next PrivatePostgres; a live owner's cluster is left alone.
func TestReapPrivatePG(t *testing.T) {
	orphan := PrivatePostgres(t)
	live := PrivatePostgres(t)
	orphan.Stop() // as a test that died paused it
	pm, err := orphan.postmaster()
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan.dir, "owner.pid"), []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	orphan.stopped = nil // its cleanup has nothing to resume: as if it never ran

	reapPrivatePG()
	if _, err := os.Stat(orphan.dir); !os.IsNotExist(err) {
		t.Errorf("the orphan's directory: %v, want it removed", err)
	}
	if alive(pm) {
		t.Errorf("the orphan's postmaster %d is alive", pm)
	}
	if _, err := os.Stat(filepath.Join(live.data, "postmaster.pid")); err != nil {
		t.Errorf("the live cluster: %v", err)
	}
	if pm, err := live.postmaster(); err != nil || !alive(pm) {
		t.Errorf("the live cluster's postmaster: %d, %v", pm, err)
	}
}

// TestPgBin: the newest version by number (16 before 9), only where both
// initdb and pg_ctl are executable; none at all is "".
func TestPgBin(t *testing.T) {
	root := t.TempDir()
	t.Setenv("PATH", "")
	if got := pgBin(root); got != "" {
		t.Errorf("pgBin of an empty root: %q", got)
	}
	for _, v := range []string{"9", "16", "17"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		progs := []string{"initdb", "pg_ctl"}
		if v == "17" {
			progs = progs[:1] // a client-only install: no server
		}
		for _, p := range progs {
			if err := os.WriteFile(filepath.Join(bin, p), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := pgBin(root), filepath.Join(root, "16", "bin"); got != want {
		t.Errorf("pgBin = %q, want %q", got, want)
	}
}
