package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var p50ns = regexp.MustCompile(`([0-9.]+) p50-ns`)

// comparePlugin compares the p50 of a provider call through the plugin
// host and a plugin process (the plugins' own RoundTrip benchmark, run with
// the go tool) with the p50 of a bare gRPC health check over a unix socket.
func comparePlugin(ctx context.Context) (row, error) {
	name := "plugin round trip (Identity.GetUser via host + plugin process), p50 (vs bare gRPC over a unix socket; lower is better)"
	out, err := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "RoundTrip/plugin", "-benchtime", "2000x", "./plugins/host").CombinedOutput()
	if err != nil {
		return row{}, fmt.Errorf("plugin benchmark: %w: %s", err, out)
	}
	m := p50ns.FindSubmatch(out)
	if m == nil {
		return row{}, fmt.Errorf("plugin benchmark: no p50 in %s", out)
	}
	ns, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return row{}, err
	}
	ours := time.Duration(ns)
	base, err := bareGRPC(ctx, 10_000)
	if err != nil {
		return row{}, fmt.Errorf("bare gRPC: %w", err)
	}
	return row{name: name, ours: fmt.Sprintf("%.0f µs", float64(ours.Microseconds())), base: fmt.Sprintf("%.0f µs", float64(base.Microseconds())),
		ratio: float64(ours) / float64(base)}, nil
}

// bareGRPC serves the standard gRPC health service on a unix socket and
// returns the p50 of n unary calls to it.
func bareGRPC(ctx context.Context, n int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "dezky-bench-grpc-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return 0, err
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	defer srv.Stop()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	lat := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		if _, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			return 0, err
		}
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	return lat[len(lat)/2], nil
}
