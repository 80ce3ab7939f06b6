package bulwark_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExternalModule builds, vets and tests testdata/externalapp, a site
// in a module of its own: what it imports of the suite is public API (the
// go command refuses an internal package of another module). It is an
// SQLite-only program, so it must not link the PostgreSQL driver.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a program")
	}
	dir := filepath.Join("testdata", "externalapp")
	runGo(t, dir, "vet", "./...")
	runGo(t, dir, "test", "-count=1", "./...")
	for _, dep := range strings.Fields(runGo(t, dir, "list", "-deps", ".")) {
		if strings.HasPrefix(dep, "github.com/jackc/pgx") {
			t.Errorf("the SQLite-only app links %s", dep)
		}
	}
}

// runGo runs the go command in dir, outside any workspace and without
// touching go.mod or go.sum, and returns its output; it fails the test
// with that output when the command fails.
func runGo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}
