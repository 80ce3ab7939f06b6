package sqldb_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDriversChosenByTheUser: the driver is the user's choice. A program
// that uses every SQL store of the suite on SQLite links no PostgreSQL
// driver, and the same program on PostgreSQL links no SQLite; the sqldb
// package itself links neither.
func TestDriversChosenByTheUser(t *testing.T) {
	const (
		pgx    = "github.com/jackc/pgx/"
		sqlite = "modernc.org/sqlite"
	)
	tests := []struct {
		name, pkg, tags string
		want, without   []string
	}{
		{"sqldb", ".", "", nil, []string{pgx, sqlite}},
		{"sqlite app", "./testdata/app", "", []string{sqlite}, []string{pgx}},
		{"postgres app", "./testdata/app", "postgres", []string{pgx}, []string{sqlite}},
	}
	goTool := goCommand(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", "-tags", tt.tags, "-f", "{{.ImportPath}}", tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps -tags %q %s: %v\n%s", tt.tags, tt.pkg, err, out)
			}
			deps := strings.Fields(string(out))
			has := func(prefix string) string {
				for _, d := range deps {
					if strings.HasPrefix(d, prefix) {
						return d
					}
				}
				return ""
			}
			for _, p := range tt.want {
				if has(p) == "" {
					t.Errorf("%s does not link %s: the check below would prove nothing", tt.name, p)
				}
			}
			for _, p := range tt.without {
				if d := has(p); d != "" {
					t.Errorf("%s links %s: a driver the program did not choose", tt.name, d)
				}
			}
		})
	}
}

// goCommand returns the go command of the toolchain running the test.
func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to list the dependencies with: %v", err)
	}
	return p
}
