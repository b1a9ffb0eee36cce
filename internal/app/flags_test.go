package app_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/app"
)

// TestServeFlagsMatchREADME: every flag `dezky serve -h` lists names its
// environment variable, and README's flag table has exactly those flags
// with exactly those variables, and states each default -h prints as the
// first value of its default column (a new flag needs a README row).
func TestServeFlagsMatchREADME(t *testing.T) {
	for _, kv := range os.Environ() { // the defaults -h prints come from the environment
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DEZKY_") && k != "DEZKY_INSTALL_TOOLS" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	var help bytes.Buffer
	if err := app.Run(context.Background(), []string{"serve", "-h"}, io.Discard, &help); err != nil {
		t.Fatalf("serve -h: %v", err)
	}
	type flagDoc struct{ env, def string }
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	envRef := regexp.MustCompile(`\(env (DEZKY_[A-Z0-9_]+)`)
	defRef := regexp.MustCompile(`\(default "?(.*?)"?\)\s*$`)
	fromHelp := map[string]flagDoc{}
	locs := flagLine.FindAllStringSubmatchIndex(help.String(), -1)
	for i, loc := range locs {
		end := len(help.String())
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		name, text := help.String()[loc[2]:loc[3]], help.String()[loc[1]:end]
		m := envRef.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("serve -h: --%s does not name its environment variable", name)
			continue
		}
		d := flagDoc{env: m[1]}
		if m := defRef.FindStringSubmatch(text); m != nil {
			d.def = m[1]
		}
		fromHelp[name] = d
	}
	if len(fromHelp) < 10 {
		t.Fatalf("parsed only %d flags from:\n%s", len(fromHelp), help.String())
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| `(DEZKY_[A-Z0-9_]+)[^|]*\\| ([^\n]*) \\|$")
	fromREADME := map[string]flagDoc{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		fromREADME[m[1]] = flagDoc{env: m[2], def: m[3]}
	}
	for name, h := range fromHelp {
		r, ok := fromREADME[name]
		switch {
		case !ok:
			t.Errorf("README's flag table lacks --%s (%s)", name, h.env)
			continue
		case r.env != h.env:
			t.Errorf("README gives --%s the variable %s, serve -h %s", name, r.env, h.env)
		}
		if h.def != "" && !strings.HasPrefix(r.def, "`"+h.def+"`") {
			t.Errorf("README's default of --%s is %q; serve -h says %q", name, r.def, h.def)
		}
	}
	for name := range fromREADME {
		if _, ok := fromHelp[name]; !ok {
			t.Errorf("README lists --%s, which serve does not have", name)
		}
	}
}
