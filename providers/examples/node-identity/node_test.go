// Package nodeidentity_test runs the conformance kit against the
// TypeScript identity provider in this directory, proving the plugin
// protocol is usable without Go. It needs Node.js 20+ and npm: the test
// installs the pinned dependencies (npm ci) and compiles the sources
// (tsc). Without node or npm it skips locally and fails under CI=true.
package nodeidentity_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	pb "github.com/dezky/platform/plugins/proto/v2"
	"github.com/dezky/platform/plugins/sdk"
)

const pluginName = "node-identity"

var (
	prepareOnce sync.Once
	prepareErr  error
	skipReason  string
)

// prepare installs the npm dependencies when node_modules is missing or
// older than package-lock.json, and compiles the TypeScript sources.
func prepare(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		tb.Fatal(err)
	}
	prepareOnce.Do(func() {
		for _, tool := range []string{"node", "npm"} {
			if _, err := exec.LookPath(tool); err != nil {
				skipReason = tool + " is not installed (Node.js 20+ with npm is needed for the TypeScript provider)"
				return
			}
		}
		out, err := exec.Command("node", "-p", "process.versions.node").Output()
		if err != nil {
			prepareErr = err
			return
		}
		if major, _ := strconv.Atoi(strings.Split(strings.TrimSpace(string(out)), ".")[0]); major < 20 {
			skipReason = "node " + strings.TrimSpace(string(out)) + " is older than 20"
			return
		}
		if stale(filepath.Join(dir, "package-lock.json"), filepath.Join(dir, "node_modules", ".package-lock.json")) {
			if prepareErr = run(dir, "npm", "ci", "--no-audit", "--no-fund"); prepareErr != nil {
				return
			}
		}
		prepareErr = run(dir, "npm", "run", "--silent", "build")
	})
	if skipReason != "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI requires the TypeScript provider to run: %s", skipReason)
		}
		tb.Skipf("skipping the TypeScript provider: %s", skipReason)
	}
	if prepareErr != nil {
		tb.Fatalf("prepare the TypeScript provider: %v", prepareErr)
	}
	return dir
}

// stale reports whether target is missing or older than source.
func stale(source, target string) bool {
	s, err := os.Stat(source)
	if err != nil {
		return true
	}
	t, err := os.Stat(target)
	return err != nil || t.ModTime().Before(s.ModTime())
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &cmdError{cmd: name + " " + strings.Join(args, " "), err: err, out: string(out)}
	}
	return nil
}

type cmdError struct {
	cmd, out string
	err      error
}

func (e *cmdError) Error() string { return e.cmd + ": " + e.err.Error() + "\n" + e.out }

// TestConformance: the TypeScript provider passes the same conformance kit
// as the Go providers, through a real host with AutoMTLS.
func TestConformance(t *testing.T) {
	dir := prepare(t)
	h := conformance.Start(t, dir, conformance.Plugin{Name: pluginName, Capabilities: []sdk.Capability{sdk.CapabilityIdentity}})
	conformance.RunAll(t, h)
}

// TestProtocolDetails checks what the kit sees only through the SDK: the
// connection is mutual TLS (a plaintext client gets nothing), errors carry
// the SDK's ErrorInfo detail, the standard health service answers for
// "plugin", and a protocol the plugin does not speak is refused.
func TestProtocolDetails(t *testing.T) {
	dir := prepare(t)
	bin := filepath.Join(dir, host.BinaryPrefix+pluginName)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		VersionedPlugins: sdk.HostPluginSets(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Stderr:           io.Discard,
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if client.NegotiatedVersion() != sdk.ProtocolVersion {
		t.Errorf("negotiated protocol %d, want %d", client.NegotiatedVersion(), sdk.ProtocolVersion)
	}
	conn := rpc.(*plugin.GRPCClient).Conn
	ctx := t.Context()

	hs, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: plugin.GRPCServiceName})
	if err != nil || hs.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc.health.v1 Check(plugin) = %v, %v; want SERVING", hs, err)
	}
	if err := rpc.Ping(); err != nil {
		t.Errorf("go-plugin Ping: %v", err)
	}

	if _, err := pb.NewProviderClient(conn).Configure(ctx, &pb.ConfigureRequest{}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	_, err = pb.NewIdentityClient(conn).GetUser(ctx, &pb.IDRequest{Id: "missing"})
	st, _ := status.FromError(err)
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info == nil || info.GetReason() != string(sdk.CodeNotFound) || info.GetDomain() != sdk.ErrorDomain {
		t.Errorf("GetUser(missing) status %v details %v; want an ErrorInfo NOT_FOUND in %s", st, st.Details(), sdk.ErrorDomain)
	}

	addr := client.ReattachConfig().Addr.String()
	plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := pb.NewProviderClient(plain).Describe(ctx, &pb.Empty{}); err == nil {
		t.Error("a plaintext client got an answer; want mutual TLS only")
	}

	protocols, err := conformance.ProbeProtocols(ctx, bin)
	if err != nil || !slices.Equal(protocols, []int{2}) {
		t.Errorf("ProbeProtocols = %v, %v; want [2] (a host offering only protocol 1 is refused)", protocols, err)
	}
}

// BenchmarkPlugin compares the TypeScript provider with a Go provider (the
// in-memory test provider) through the same host: "start" is one launch,
// handshake, Describe and Configure (and stop); "call" is one
// Identity.GetUser round trip, with p50 and p99 over at least 10,000
// calls.
//
//	go test -run '^$' -bench . ./providers/examples/node-identity
func BenchmarkPlugin(b *testing.B) {
	nodeDir := prepare(b)
	goDir := b.TempDir()
	conformance.BuildProvider(b, "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", "test", goDir)
	for _, tc := range []struct{ lang, dir, plugin string }{{"node", nodeDir, pluginName}, {"go", goDir, "test"}} {
		cfg := host.Config{
			Dir: tc.dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: tc.plugin}},
		}
		b.Run(tc.lang+"/start", func(b *testing.B) {
			for range b.N {
				h, err := host.New(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := h.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				_ = h.Close()
			}
		})
		b.Run(tc.lang+"/call", func(b *testing.B) {
			h, err := host.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			if err := h.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			id, err := h.Identity()
			if err != nil {
				b.Fatal(err)
			}
			benchGetUser(b, id)
		})
	}
}

const minSamples = 10_000

func benchGetUser(b *testing.B, id sdk.Identity) {
	ctx := context.Background()
	u, err := id.CreateUser(ctx, sdk.CreateUserRequest{Username: "bench", Active: true})
	if err != nil {
		b.Fatalf("CreateUser: %v", err)
	}
	call := func() time.Duration {
		began := time.Now()
		if _, err := id.GetUser(ctx, u.ID); err != nil {
			b.Fatalf("GetUser: %v", err)
		}
		return time.Since(began)
	}
	lat := make([]time.Duration, 0, max(b.N, minSamples))
	b.ResetTimer()
	for range b.N {
		lat = append(lat, call())
	}
	b.StopTimer()
	for len(lat) < minSamples {
		lat = append(lat, call())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
