package app_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// TestPluginsLockCommand: `dezky plugins lock` pins every plugin binary
// in the directory, in the format the host reads.
func TestPluginsLockCommand(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"alpha", "beta"} {
		if err := os.WriteFile(filepath.Join(dir, host.BinaryPrefix+name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := app.Run(context.Background(), []string{"plugins", "lock", "--plugins-dir", dir}, &out, &errb); err != nil {
		t.Fatalf("plugins lock: %v (%s)", err, errb.String())
	}
	pins, err := host.ReadLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alpha", "beta"} {
		sum, _ := host.FileSHA256(filepath.Join(dir, host.BinaryPrefix+name))
		if pins[name] != sum || !strings.Contains(out.String(), sum+"  "+host.BinaryPrefix+name) {
			t.Errorf("pin of %s = %q (output %q), want %s", name, pins[name], out.String(), sum)
		}
	}
	if err := app.Run(context.Background(), []string{"plugins", "nope"}, &out, &errb); err == nil {
		t.Error("plugins nope succeeded")
	}
}

// TestPluginsConformanceCommand: `dezky plugins conformance <binary>`
// launches the binary, runs the kit and prints a per-capability report;
// a failing plugin makes the command fail.
func TestPluginsConformanceCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "dezky-provider-test")
	legacy := filepath.Join(dir, "some-legacy-binary")
	for pkg, out := range map[string]string{
		"github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test": good,
		"github.com/dezky/platform/plugins/internal/v1fixture":                            legacy,
	} {
		if err := gobuild.Build(t.Context(), pkg, out); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if err := app.Run(t.Context(), []string{"plugins", "conformance", "--capability", "identity,dns", good}, &out, &errb); err != nil {
		t.Fatalf("conformance of the test provider: %v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"protocols  2", "PASS  transport", "PASS  identity", "PASS  dns", "SKIP dns/RecordChanges"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "PASS  billing") {
		t.Errorf("report covers billing, which was not asked for:\n%s", out.String())
	}
	out.Reset()
	if err := app.Run(t.Context(), []string{"plugins", "conformance", legacy}, &out, &errb); err == nil {
		t.Fatalf("conformance of a protocol 1 identity plugin passed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "protocols  1 ") || !strings.Contains(out.String(), "FAIL  identity") {
		t.Errorf("report of the legacy plugin:\n%s", out.String())
	}
}

// TestPluginsNewCommand: `dezky plugins new` writes the provider, its
// conformance test and, with --module, go.mod (that the result compiles
// and conforms is TestGenerate_CompilesAndConforms in internal/scaffold).
func TestPluginsNewCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acme")
	var out, errb bytes.Buffer
	args := []string{"plugins", "new", "--capability", "identity", "--name", "acme", "--dir", dir, "--module", "example.com/acme", "--replace", "."}
	if err := app.Run(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("plugins new: %v (%s)", err, errb.String())
	}
	for _, f := range []string{"main.go", "store.go", "identity.go", "provider_test.go", "go.mod"} {
		if !strings.Contains(out.String(), filepath.Join(dir, f)) {
			t.Errorf("plugins new did not write %s:\n%s", f, out.String())
		}
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(mod), "module example.com/acme") || !strings.Contains(string(mod), "replace github.com/dezky/platform => /") {
		t.Fatalf("go.mod = %s, %v", mod, err)
	}
	if err := app.Run(t.Context(), []string{"plugins", "new", "--capability", "telepathy", "--name", "acme2", "--dir", t.TempDir()}, &out, &errb); err == nil {
		t.Error("plugins new for an unknown capability succeeded")
	}
}

// TestServePluginReattach: with PluginReattach (--plugin-reattach) the
// server attaches to a provider started by hand in debug mode instead of
// launching a binary from the plugins directory.
func TestServePluginReattach(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dezky-provider-test")
	if err := gobuild.Build(t.Context(), "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", bin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), sdk.DebugEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	var value string
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), sdk.ReattachEnv+"="); ok {
			value = strings.Trim(v, "'")
			break
		}
	}
	if value == "" {
		t.Fatal("the debug plugin printed no reattach line")
	}
	s, err := app.Start(t.Context(), app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: testdb.URL(t, dialect.SQLite),
		PluginsDir: t.TempDir(), PluginReattach: value,
		Providers: app.ProvidersConfig{sdk.CapabilityIdentity: {Plugin: "test"}},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	st := s.Plugins.Status()
	if len(st) != 1 || st[0].State != host.StateRunning || st[0].PID != cmd.Process.Pid {
		t.Fatalf("plugin status = %+v, want test running at the debug process %d", st, cmd.Process.Pid)
	}
	bad := app.ServeConfig{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: testdb.URL(t, dialect.SQLite), PluginsDir: t.TempDir(),
		PluginReattach: "{not json", Providers: app.ProvidersConfig{sdk.CapabilityIdentity: {Plugin: "test"}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if s, err := app.Start(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "reattach") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Start with a bad reattach value = %v, want a reattach error", err)
	}
}
