package metrics_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPrometheusLinkedOnlyHere: package cspreport, which counts, links no
// Prometheus library: a program that does not export metrics does not
// link client_golang. This package, which exports them, does (so that
// the check proves something).
func TestPrometheusLinkedOnlyHere(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to list the dependencies with: %v", err)
	}
	for _, c := range []struct {
		pkg  string
		want bool
	}{{"..", false}, {".", true}} {
		out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-f", "{{.ImportPath}}", c.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", c.pkg, err, out)
		}
		if got := strings.Contains(string(out), "github.com/prometheus/"); got != c.want {
			t.Errorf("go list -deps %s: links github.com/prometheus/… %v, want %v", c.pkg, got, c.want)
		}
	}
}
