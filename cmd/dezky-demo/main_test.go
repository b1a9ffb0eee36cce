package main_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDemoBinaryLinksTheSimulators is the counterpart of cmd/dezky's
// check: the demo binary is the one that carries the simulators.
func TestDemoBinaryLinksTheSimulators(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/dezky/platform/cmd/dezky-demo").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	for _, pkg := range []string{
		"github.com/dezky/platform/providers/authentik/authentiksim",
		"github.com/dezky/platform/providers/ocis/ocissim",
		"github.com/dezky/platform/providers/stalwart/stalwartsim",
		"github.com/dezky/platform/internal/app/demoupstreams",
	} {
		if !deps[pkg] {
			t.Errorf("the demo binary does not link %s", pkg)
		}
	}
}
