package host_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// copyPlugin copies the built test plugin into a fresh directory as
// dezky-provider-<name> and returns the directory and the copy's path.
func copyPlugin(t *testing.T, name string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(binDir, host.BinaryPrefix+"test"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, host.BinaryPrefix+name)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestWriteLock_RoundTrip(t *testing.T) {
	dir, path := copyPlugin(t, "pinned")
	pins, err := host.WriteLock(dir)
	if err != nil {
		t.Fatalf("WriteLock: %v", err)
	}
	sum, err := host.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pins) != 1 || pins["pinned"] != sum {
		t.Fatalf("WriteLock = %v, want pinned=%s", pins, sum)
	}
	raw, err := os.ReadFile(filepath.Join(dir, host.LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	if want := sum + "  dezky-provider-pinned\n"; string(raw) != want {
		t.Fatalf("lock file = %q, want %q (sha256sum format)", raw, want)
	}
	read, err := host.ReadLock(dir)
	if err != nil || read["pinned"] != sum {
		t.Fatalf("ReadLock = %v, %v; want pinned=%s", read, err, sum)
	}
	if none, err := host.ReadLock(t.TempDir()); none != nil || err != nil {
		t.Fatalf("ReadLock without a file = %v, %v; want nil, nil", none, err)
	}
}

func TestParseLock_Errors(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for name, text := range map[string]string{
		"ShortSum":  "abcd  dezky-provider-x\n",
		"NotHex":    strings.Repeat("zz", 32) + "  dezky-provider-x\n",
		"OtherFile": sum + "  other-tool\n",
		"Twice":     sum + "  dezky-provider-x\n" + sum + "  dezky-provider-x\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := host.ParseLock("plugins.lock", []byte(text)); err == nil {
				t.Fatalf("ParseLock(%q) succeeded, want an error", text)
			}
		})
	}
	got, err := host.ParseLock("plugins.lock", []byte("# pins\n\n"+strings.ToUpper(sum)+"  dezky-provider-x\n"))
	if err != nil || got["x"] != sum {
		t.Fatalf("ParseLock = %v, %v; want x=%s", got, err, sum)
	}
}

// TestChecksum_PinnedBinaryStarts: a binary matching its pin starts, and
// the status reports the checksum as pinned.
func TestChecksum_PinnedBinaryStarts(t *testing.T) {
	dir, path := copyPlugin(t, "pinned")
	if _, err := host.WriteLock(dir); err != nil {
		t.Fatal(err)
	}
	sum, _ := host.FileSHA256(path)
	h := startIn(t, dir, "pinned")
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st := h.Status()[0]
	if st.State != host.StateRunning || st.Checksum != sum || !st.Pinned {
		t.Fatalf("status = %s checksum %s pinned %v; want running, %s, pinned", st.State, st.Checksum, st.Pinned, sum)
	}
}

// TestChecksum_TamperedBinaryRefused: a binary changed after it was
// pinned is never started; the state and last error say why.
func TestChecksum_TamperedBinaryRefused(t *testing.T) {
	dir, path := copyPlugin(t, "pinned")
	pins, err := host.WriteLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("tampered")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tampered, _ := host.FileSHA256(path)

	h := startIn(t, dir, "pinned")
	err = h.Start(context.Background())
	if err == nil {
		t.Fatal("Start succeeded with a tampered binary")
	}
	st := h.Status()[0]
	if st.State != host.StateRefused || st.PID != 0 {
		t.Fatalf("state = %s pid %d, want refused and no process", st.State, st.PID)
	}
	for _, want := range []string{"refused", tampered, pins["pinned"], host.LockFileName} {
		if !strings.Contains(st.LastError, want) || !strings.Contains(err.Error(), want) {
			t.Errorf("last error %q / start error %q: want it to mention %q", st.LastError, err, want)
		}
	}
	id, err := h.Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := id.GetUser(context.Background(), "u1"); !sdk.IsUnavailable(err) {
		t.Fatalf("call to a refused plugin: %v, want UNAVAILABLE", err)
	}
}

// TestChecksum_UnpinnedPluginRejected: with a lock file, a bound plugin
// missing from it is a configuration error.
func TestChecksum_UnpinnedPluginRejected(t *testing.T) {
	dir, _ := copyPlugin(t, "pinned")
	if err := os.WriteFile(filepath.Join(dir, host.LockFileName), []byte("# nothing pinned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := host.New(host.Config{Dir: dir, Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: "pinned"}}})
	if err == nil || !strings.Contains(err.Error(), "not pinned") {
		t.Fatalf("New = %v, want a not-pinned error", err)
	}
}

func startIn(t *testing.T, dir, plugin string) *host.Host {
	t.Helper()
	h, err := host.New(host.Config{
		Dir:          dir,
		Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: plugin}},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff:      host.Backoff{Initial: time.Hour},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestChecksum_StaysRefused: the supervisor checks a refused binary again
// after every backoff; between and during those checks it stays refused.
func TestChecksum_StaysRefused(t *testing.T) {
	dir, path := copyPlugin(t, "pinned")
	if _, err := host.WriteLock(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Tampered but as large as before: each check hashes the whole binary.
	if err := os.WriteFile(path, append(b, "tampered"...), 0o755); err != nil {
		t.Fatal(err)
	}
	h, err := host.New(host.Config{
		Dir:          dir,
		Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: "pinned"}},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backoff:      host.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	_ = h.Start(context.Background())
	waitFor(t, "several checks", func() bool { return h.Status()[0].Restarts >= 5 })
	for range 200 {
		if st := h.Status()[0]; st.State != host.StateRefused {
			t.Fatalf("state = %s during re-checks, want refused", st.State)
		}
	}
}
