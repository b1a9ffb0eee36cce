package gobuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// module writes a two-package module whose binary prints greeting.Text.
func module(t *testing.T, dir, text string) {
	t.Helper()
	files := map[string]string{
		"go.mod":               "module example.test/hello\n\ngo 1.22\n",
		"main.go":              "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/hello/greeting\"\n)\n\nfunc main() { fmt.Print(greeting.Text) }\n",
		"greeting/greeting.go": "package greeting\n\nconst Text = " + `"` + text + `"` + "\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func output(t *testing.T, bin string) string {
	t.Helper()
	b, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, b)
	}
	return string(b)
}

func cached(t *testing.T, cache string) []string {
	t.Helper()
	var bins []string
	entries, err := os.ReadDir(filepath.Join(cache, "dezky", "test-binaries"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".") {
			bins = append(bins, e.Name())
		}
	}
	return bins
}

// TestRebuildsOnSourceChange: a change in a dependency of the main package
// gives a new binary, never the cached one; unchanged sources reuse it,
// also from concurrent callers.
func TestRebuildsOnSourceChange(t *testing.T) {
	cache := t.TempDir()
	userCacheDir = func() (string, error) { return cache, nil }
	t.Cleanup(func() { userCacheDir = os.UserCacheDir })
	src := t.TempDir()
	module(t, src, "one")
	t.Chdir(src)
	ctx := context.Background()
	out := t.TempDir()

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Build(ctx, ".", filepath.Join(out, "hello"+string(rune('a'+i))))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if got := output(t, filepath.Join(out, "hello"+string(rune('a'+i)))); got != "one" {
			t.Fatalf("binary %d prints %q, want one", i, got)
		}
	}
	if n := len(cached(t, cache)); n != 1 {
		t.Fatalf("%d cached binaries after building one source four times, want 1", n)
	}

	module(t, src, "two")
	bin := filepath.Join(out, "hello")
	if err := Build(ctx, ".", bin); err != nil {
		t.Fatal(err)
	}
	if got := output(t, bin); got != "two" {
		t.Fatalf("after changing a dependency the binary prints %q, want two", got)
	}
	if n := len(cached(t, cache)); n != 2 {
		t.Fatalf("%d cached binaries after a change, want 2", n)
	}

	if err := os.WriteFile(filepath.Join(src, "greeting", "greeting.go"), []byte("package greeting\n\nconst Text = 3 +\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Build(ctx, ".", bin); err == nil {
		t.Fatal("Build of a broken package succeeded")
	}
}
