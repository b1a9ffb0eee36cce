package app_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"testing"

	"github.com/dezky/platform/internal/app"
)

// TestServeFlagsMatchREADME: every flag `dezky serve -h` lists names its
// environment variable, and README's flag table has exactly those flags
// with exactly those variables (a new flag needs a README row).
func TestServeFlagsMatchREADME(t *testing.T) {
	var help bytes.Buffer
	if err := app.Run(context.Background(), []string{"serve", "-h"}, io.Discard, &help); err != nil {
		t.Fatalf("serve -h: %v", err)
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	envRef := regexp.MustCompile(`\(env (DEZKY_[A-Z0-9_]+)`)
	fromHelp := map[string]string{}
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
		fromHelp[name] = m[1]
	}
	if len(fromHelp) < 10 {
		t.Fatalf("parsed only %d flags from:\n%s", len(fromHelp), help.String())
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| `(DEZKY_[A-Z0-9_]+)")
	fromREADME := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		fromREADME[m[1]] = m[2]
	}
	for name, env := range fromHelp {
		switch got, ok := fromREADME[name]; {
		case !ok:
			t.Errorf("README's flag table lacks --%s (%s)", name, env)
		case got != env:
			t.Errorf("README gives --%s the variable %s, serve -h %s", name, got, env)
		}
	}
	for name := range fromREADME {
		if _, ok := fromHelp[name]; !ok {
			t.Errorf("README lists --%s, which serve does not have", name)
		}
	}
}
