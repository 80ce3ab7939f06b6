package bulwark_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEExample extracts the program of the README's "Example" section
// and builds it against this module: the example compiles as written.
func TestREADMEExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Example\n\n```go\n")
	if !ok {
		t.Fatal(`README.md has no "## Example" section starting with a go block`)
	}
	program, _, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatal("README.md: the example's go block is not closed")
	}
	// A directory whose name starts with "_" is inside the module but
	// outside ./... .
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGo(t, ".", "build", "-o", os.DevNull, "./"+filepath.Base(dir))
}
