package scaffold_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/scaffold"
	"github.com/dezky/platform/plugins/sdk"
)

// TestGenerate_CompilesAndConforms scaffolds a provider serving every
// capability into a fresh module that replaces the platform module with
// this checkout, then builds it and runs its generated tests, which launch
// it as a plugin and run the conformance kit.
func TestGenerate_CompilesAndConforms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new module")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	files, err := scaffold.Generate(scaffold.Options{
		Name: "acme", Capabilities: sdk.Capabilities, Dir: dir,
		Module: "example.com/dezky-provider-acme", PlatformVersion: "v0.0.0-00010101000000-000000000000",
		Replace: root, GoVersion: goVersion(t, root),
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(files) != 10 {
		t.Fatalf("Generate wrote %v, want main, store, identity, mail, storage, dns, billing, webhook, test and go.mod", files)
	}
	copyGoSum(t, root, dir)
	// -mod=mod (in goCmd) records the requirements the build needs; `go mod
	// tidy` would also want the test dependencies of every dependency.
	goCmd(t, dir, "vet", "./...")
	goCmd(t, dir, "build", "-o", filepath.Join(dir, "dezky-provider-acme"), ".")
	out := goCmd(t, dir, "test", "-count=1", "-v", "-run", "TestConformance|TestWebhookSignature", ".")
	want := []string{"--- PASS: TestConformance ", "--- PASS: TestConformance/transport/Protocols", "--- PASS: TestConformance_InProcess", "--- PASS: TestWebhookSignature"}
	for _, c := range sdk.Capabilities {
		concurrent := "/ConcurrentEnsure"
		if c == sdk.CapabilityDNS {
			concurrent = "/ConcurrentLookup"
		}
		want = append(want, "--- PASS: TestConformance/"+string(c)+concurrent, "--- PASS: TestConformance_InProcess/"+string(c)+" ")
	}
	want = append(want, "--- PASS: TestConformance/mail/DeleteDomainInUse", "--- PASS: TestConformance/mail/Webhook", "--- PASS: TestConformance/billing/Webhook", "--- PASS: TestConformance/billing/NotFound", "--- PASS: TestConformance/dns/RecordChanges")
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("go test output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "--- FAIL") {
		t.Errorf("go test output has a failure:\n%s", out)
	}
}

// TestGenerate_WithoutWebhooks type-checks a provider serving neither
// mail nor billing: it gets no webhook code and no webhook secret, and
// still compiles with its tests.
func TestGenerate_WithoutWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new module")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	files, err := scaffold.Generate(scaffold.Options{
		Name: "acme-dns", Capabilities: []sdk.Capability{sdk.CapabilityDNS}, Dir: dir,
		Module: "example.com/dezky-provider-acme-dns", PlatformVersion: "v0.0.0-00010101000000-000000000000",
		Replace: root, GoVersion: goVersion(t, root),
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if len(files) != 5 {
		t.Fatalf("Generate wrote %v, want main, store, dns, test and go.mod", files)
	}
	copyGoSum(t, root, dir)
	goCmd(t, dir, "vet", "./...")
}

// copyGoSum gives the module in dir the platform's go.sum, which covers
// every module the provider needs, so it resolves without a network.
func copyGoSum(t *testing.T, root, dir string) {
	t.Helper()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGenerate_Refuses(t *testing.T) {
	dir := t.TempDir()
	for name, o := range map[string]scaffold.Options{
		"BadName":       {Name: "Acme Corp", Capabilities: []sdk.Capability{sdk.CapabilityIdentity}, Dir: dir},
		"NoCapability":  {Name: "acme", Dir: dir},
		"UnknownCap":    {Name: "acme", Capabilities: []sdk.Capability{"telepathy"}, Dir: dir},
		"ModNoVersions": {Name: "acme", Capabilities: []sdk.Capability{sdk.CapabilityIdentity}, Dir: dir, Module: "example.com/x"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := scaffold.Generate(o); err == nil {
				t.Fatal("Generate succeeded")
			}
		})
	}
	o := scaffold.Options{Name: "acme", Capabilities: []sdk.Capability{sdk.CapabilityDNS}, Dir: dir}
	if _, err := scaffold.Generate(o); err != nil {
		t.Fatal(err)
	}
	if _, err := scaffold.Generate(o); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Generate = %v, want it to refuse overwriting", err)
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func goVersion(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "edit", "-json", filepath.Join(root, "go.mod")).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(out), `"Go": "`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
