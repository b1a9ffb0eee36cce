package host_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// TestHost_Reattach: a plugin started by hand in debug mode prints its
// reattach line; a host given that line attaches to the running process
// instead of launching a binary, serves calls through it, and leaves the
// process running when it closes.
func TestHost_Reattach(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, host.BinaryPrefix+"test"), "--debug")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		<-exited
	})

	var value string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sdk.ReattachEnv+"="); ok {
			value = strings.Trim(v, "'")
			break
		}
	}
	if value == "" {
		t.Fatalf("no %s line on the debug plugin's stdout (%v)", sdk.ReattachEnv, sc.Err())
	}
	reattach, err := sdk.ParseReattach(value)
	if err != nil {
		t.Fatalf("ParseReattach(%s): %v", value, err)
	}
	if r, ok := reattach["test"]; !ok || r.Pid != cmd.Process.Pid {
		t.Fatalf("reattach = %+v, want plugin test at pid %d", reattach, cmd.Process.Pid)
	}

	// An empty plugins directory: the plugin is reached only by reattaching.
	h, err := host.New(host.Config{
		Dir: t.TempDir(), Reattach: reattach,
		Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: "test"}},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := h.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	u, err := identity(t, h).CreateUser(t.Context(), sdk.CreateUserRequest{Username: "debugger", Active: true})
	if err != nil || u.ID == "" {
		t.Fatalf("CreateUser through the reattached plugin = %+v, %v", u, err)
	}
	st := h.Status()[0]
	if st.State != host.StateRunning || st.PID != cmd.Process.Pid || !strings.HasPrefix(st.Path, "reattach:") {
		t.Fatalf("status = %+v, want running at the debug process", st)
	}
	_ = h.Close()
	select {
	case err := <-exited:
		t.Fatalf("the debug plugin exited when the host closed: %v", err)
	default:
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("debug plugin gone after host close: %v", err)
	}
}

func TestParseReattach_Errors(t *testing.T) {
	for _, s := range []string{
		`not json`,
		`{"x":{"protocol":"netrpc","protocolVersion":2,"pid":1,"network":"unix","address":"/tmp/s"}}`,
		`{"x":{"protocol":"grpc","protocolVersion":2,"pid":0,"network":"unix","address":"/tmp/s"}}`,
		`{"x":{"protocol":"grpc","protocolVersion":2,"pid":1,"network":"udp","address":"x"}}`,
	} {
		if _, err := sdk.ParseReattach(s); err == nil {
			t.Errorf("ParseReattach(%s) succeeded", s)
		}
	}
}
