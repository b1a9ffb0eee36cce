package main_test

import (
	"context"
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/testing/gobuild"
)

// TestProductionBinaryHasNoTestDoubles builds the production binary and
// reads its build information (what `go version -m` prints) and its symbol
// table (`go tool nm`): no upstream simulator, fake or test server may be
// linked into it (the demo's live in cmd/dezky-demo).
func TestProductionBinaryHasNoTestDoubles(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dezky")
	if err := gobuild.Build(context.Background(), "github.com/dezky/platform/cmd/dezky", bin); err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	if info.Path != "github.com/dezky/platform/cmd/dezky" || len(info.Deps) == 0 {
		t.Fatalf("build info of %s with %d modules: the check would prove nothing", info.Path, len(info.Deps))
	}
	for _, m := range info.Deps {
		if m.Path == "github.com/johannesboyne/gofakes3" {
			t.Errorf("the production binary depends on the module %s", m.Path)
		}
	}
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	if !strings.Contains(syms, "github.com/dezky/platform/internal/app.") {
		t.Fatal("symbol table without the app package: the check would prove nothing")
	}
	for _, pkg := range []string{
		"github.com/dezky/platform/providers/authentik/authentiksim.",
		"github.com/dezky/platform/providers/ocis/ocissim.",
		"github.com/dezky/platform/providers/stalwart/stalwartsim.",
		"github.com/dezky/platform/providers/internal/simfault.",
		"github.com/dezky/platform/providers/simtest.",
		"github.com/dezky/platform/providers/dns/dnstest.",
		"github.com/dezky/platform/providers/stripe/stripetest.",
		"github.com/dezky/platform/internal/app/demoupstreams.",
		"github.com/dezky/platform/internal/testing/",
		"github.com/johannesboyne/gofakes3.",
		"net/http/httptest.",
	} {
		if strings.Contains(syms, pkg) {
			t.Errorf("the production binary links %s", strings.TrimSuffix(pkg, "."))
		}
	}
}
