package playground_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/dezky/platform/graph"
)

// examplesDir holds the example operations per persona the playground
// bundles.
const examplesDir = "../../docs/examples"

// examplePersonas maps each example file to the demo user it is written
// for (a `dezky token --as` spec).
var examplePersonas = map[string]string{
	"operator.graphql":      "operator",
	"partner-staff.graphql": "partner:northwind",
	"tenant-admin.graphql":  "admin:acme",
	"member.graphql":        "member:acme",
}

// loadExample parses one example file and validates it against the API
// schema, failing the test on any error.
func loadExample(t *testing.T, name string) (string, *ast.QueryDocument) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	doc, perr := parser.ParseQuery(&ast.Source{Name: name, Input: src})
	if perr != nil {
		t.Fatalf("%s: parse: %v", name, perr)
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	if errs := validator.Validate(schema, doc); len(errs) > 0 {
		t.Fatalf("%s: invalid against the schema: %v", name, errs)
	}
	if len(doc.Operations) == 0 {
		t.Fatalf("%s: no operations", name)
	}
	for _, op := range doc.Operations {
		if op.Name == "" {
			t.Errorf("%s: every example operation needs a name (GraphiQL runs one of several by name)", name)
		}
	}
	return src, doc
}

// TestExamplesValidate: every docs/examples file is one of the personas'
// (the playground bundles exactly these), parses, and validates against
// the schema.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(examplePersonas) {
		t.Errorf("docs/examples has %d files, want the %d persona files %v", len(files), len(examplePersonas), examplePersonas)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".graphql"), func(t *testing.T) {
			if _, ok := examplePersonas[name]; !ok {
				t.Fatalf("%s is no persona's examples (the playground bundles only %v)", name, examplePersonas)
			}
			loadExample(t, name)
		})
	}
}
