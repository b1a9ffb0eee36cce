package host_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/internal/testing/gobuild"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

const (
	testPkg   = "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test"
	legacyPkg = "github.com/dezky/platform/plugins/internal/v1fixture"
)

// binDir holds the plugin binaries, built once per test binary run.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dezky-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for name, pkg := range map[string]string{"test": testPkg, "legacy": legacyPkg} {
		if err := gobuild.Build(context.Background(), pkg, filepath.Join(dir, host.BinaryPrefix+name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	binDir = dir
	return m.Run()
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// MustStart starts a host over the built binaries with cfg (Dir and
// Logger filled in) and returns it with its captured log.
func MustStart(tb testing.TB, cfg host.Config) (*host.Host, *syncBuffer) {
	tb.Helper()
	logs := &syncBuffer{}
	cfg.Dir = binDir
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := host.New(cfg)
	if err != nil {
		tb.Fatalf("host.New: %v", err)
	}
	tb.Cleanup(func() { _ = h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		tb.Fatalf("Start: %v\nlogs:\n%s", err, logs)
	}
	return h, logs
}

// bindAll binds every capability to plugin with the given settings and
// secrets.
func bindAll(plugin string, settings map[string]string, secrets host.Secrets) map[sdk.Capability]host.Binding {
	out := map[sdk.Capability]host.Binding{}
	for _, c := range sdk.Capabilities {
		out[c] = host.Binding{Plugin: plugin, Settings: settings, Secrets: secrets}
	}
	return out
}

// waitFor polls cond until it holds; the generous limit only guards
// against a hung test and is not a timing assertion.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func status(tb testing.TB, h *host.Host, plugin string) host.Status {
	tb.Helper()
	for _, s := range h.Status() {
		if s.Plugin == plugin {
			return s
		}
	}
	tb.Fatalf("no status for plugin %s", plugin)
	return host.Status{}
}

func identity(tb testing.TB, h *host.Host) sdk.Identity {
	tb.Helper()
	p, err := h.Identity()
	if err != nil {
		tb.Fatalf("Identity: %v", err)
	}
	return p
}

func countLines(s, substr string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
