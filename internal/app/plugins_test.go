package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/plugins/host"
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
