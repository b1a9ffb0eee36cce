package viewer_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// systemContextAllowed lists where viewer.SystemContext may be called:
// background work that no request initiated. A request path keeps its
// actor and uses rule.Bypass for the one call that needs it. Entries are
// a directory (with a trailing slash), a file, or file#Func for a single
// function (method names without receiver).
var systemContextAllowed = []string{
	"cmd/",                          // command-line entry points
	"internal/app/",                 // process wiring and CLI commands (token, migrate, seeding at start)
	"internal/demo/",                // demo seeding
	"internal/ingest/",              // ingest workers polling the providers
	"internal/audit/archive/",       // the archiver (periodic, and the operator's run of it)
	"internal/audit/checkpoint.go",  // the checkpointer (periodic and on demand)
	"internal/testing/",             // test harness
	"bench/",                        // the benchmark harness generating its data set
	"internal/webhooks/dispatch.go", // webhook delivery jobs and the loop queueing them
	"internal/auditstream/auditstream.go#kick",      // the loop queueing audit stream exports
	"internal/auditstream/auditstream.go#export",    // the audit stream export job
	"internal/provisioning/service.go#ReconcileAll", // start-up reconciliation of every tenant
	"internal/provisioning/service.go#record",       // audit rows of the worker's provider calls
	"internal/tenantadmin/storage.go#Work",          // the periodic storage usage refresh
	"internal/billing/invoices.go#Work",             // the periodic invoice refresh
	"internal/billing/webhook.go#Ingest",            // the billing provider's signed webhook events, like ingest
	"internal/billing/webhook.go#Work",              // pruning applied webhook event ids
	"internal/payouts/payouts.go#Work",              // the daily payout generation
	"internal/members/worker.go",                    // the member provisioning job worker
	"internal/members/members.go#ReconcileAll",      // start-up reconciliation of every member
}

// provisioningBackground reports whether a file of internal/provisioning
// is worker or job code (everything but the request-facing service.go).
func provisioningBackground(rel string) bool {
	return strings.HasPrefix(rel, "internal/provisioning/") && rel != "internal/provisioning/service.go"
}

// TestSystemContextOnlyInBackgroundWork fails when viewer.SystemContext is
// called outside the allow-list: the system viewer replaces the caller's
// identity, so on a request path it would hide who acted from the audit
// trail and from every later policy.
func TestSystemContextOnlyInBackgroundWork(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	fset := token.NewFileSet()
	calls := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn := ""
			if fd, ok := decl.(*ast.FuncDecl); ok {
				fn = fd.Name.Name
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isSystemContext(call.Fun, f) {
					return true
				}
				calls++
				if !allowed(rel, fn) {
					t.Errorf("%s: viewer.SystemContext in %s outside the background-work allow-list: keep the actor and use rule.Bypass for the one call that needs it", fset.Position(call.Pos()), fn)
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("found no SystemContext call at all: the walk is broken")
	}
}

// isSystemContext reports whether fun is viewer.SystemContext (through
// the package's import name) or SystemContext inside package viewer.
func isSystemContext(fun ast.Expr, f *ast.File) bool {
	switch e := fun.(type) {
	case *ast.SelectorExpr:
		id, ok := e.X.(*ast.Ident)
		return ok && e.Sel.Name == "SystemContext" && id.Name == importName(f, "github.com/dezky/platform/internal/viewer")
	case *ast.Ident:
		return e.Name == "SystemContext" && f.Name.Name == "viewer"
	}
	return false
}

func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return "\x00" // not imported: matches no identifier
}

func allowed(rel, fn string) bool {
	if provisioningBackground(rel) {
		return true
	}
	for _, a := range systemContextAllowed {
		file, fnName, hasFn := strings.Cut(a, "#")
		switch {
		case hasFn:
			if rel == file && fn == fnName {
				return true
			}
		case strings.HasSuffix(file, "/"):
			if strings.HasPrefix(rel, file) {
				return true
			}
		case rel == file:
			return true
		}
	}
	return false
}
