package seclog

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the catalog table of docs/security-events.md")

const docPath = "../docs/security-events.md"

// catalogTable renders the catalog as the Markdown table of the docs.
func catalogTable() string {
	var b strings.Builder
	b.WriteString("| event | level | OWASP | high-volume | fields | meaning |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, e := range catalog {
		fields := "common only"
		if len(e.Fields) > 0 {
			fields = "`" + strings.Join(e.Fields, "`, `") + "`"
		}
		hv := "no"
		if e.HighVolume {
			hv = "yes"
		}
		b.WriteString("| `" + e.Name + "` | " + e.Level.String() + " | `" + string(e.OWASP) + "` | " + hv + " | " + fields + " | " + e.Meaning + " |\n")
	}
	return b.String()
}

func TestCatalogMatchesDocs(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- catalog:begin -->\n", "<!-- catalog:end -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q and %q not found", docPath, begin, end)
	}
	got := string(doc[i+len(begin) : j])
	want := catalogTable()
	if got == want {
		return
	}
	if *update {
		out := string(doc[:i+len(begin)]) + want + string(doc[j:])
		if err := os.WriteFile(docPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gotRows, wantRows := strings.Split(got, "\n"), strings.Split(want, "\n")
	for _, w := range wantRows {
		if !slices.Contains(gotRows, w) {
			t.Errorf("%s lacks or differs from the catalog row:\n%s", docPath, w)
		}
	}
	for _, g := range gotRows {
		if !slices.Contains(wantRows, g) {
			t.Errorf("%s has a row the catalog does not:\n%s", docPath, g)
		}
	}
	t.Errorf("docs and catalog disagree; run: go test ./seclog -run TestCatalogMatchesDocs -update")
}

func TestCatalogValid(t *testing.T) {
	if len(catalog) == 0 {
		t.Fatal("empty catalog")
	}
	seen := map[string]bool{}
	for i, e := range catalog {
		if err := e.validate(); err != nil {
			t.Error(err)
		}
		if seen[e.Name] {
			t.Errorf("duplicate event %q", e.Name)
		}
		seen[e.Name] = true
		if e.index != i {
			t.Errorf("%s: index %d, want %d", e.Name, e.index, i)
		}
		if byName[e.Name] != e {
			t.Errorf("%s: not in byName", e.Name)
		}
	}
	// Catalog returns a copy.
	c := Catalog()
	c[0] = nil
	if catalog[0] == nil {
		t.Error("Catalog() returned the internal slice")
	}
}

func TestDefineRejects(t *testing.T) {
	for _, e := range []Event{
		{Name: "NoDot", OWASP: AuthzFail, Meaning: "x"},
		{Name: "a.b", OWASP: "made_up", Meaning: "x"},
		{Name: "a.b", OWASP: AuthzFail},
		{Name: "a.b", OWASP: AuthzFail, Meaning: "x", Fields: []string{"path"}},
	} {
		if err := e.validate(); err == nil {
			t.Errorf("validate(%+v) = nil, want an error", e)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("defining an existing name did not panic")
			}
		}()
		define(Event{Name: PathRejected.Name, OWASP: AuthzFail, Meaning: "x"})
	}()
}
