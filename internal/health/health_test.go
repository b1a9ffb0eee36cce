package health_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dezky/platform/internal/health"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

var operator = viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Operator: true})

// pinger answers after delay, or fails while broken is set, or blocks
// until the probe's deadline when hang is set.
type pinger struct {
	delay  time.Duration
	broken atomic.Bool
	hang   bool
	pings  atomic.Int64
}

func (p *pinger) PingContext(ctx context.Context) error {
	p.pings.Add(1)
	if p.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if p.broken.Load() {
		return errors.New("connection refused")
	}
	select {
	case <-time.After(p.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func only(t *testing.T, r health.Report) health.Service {
	t.Helper()
	if len(r.Services) != 1 {
		t.Fatalf("services: %+v", r.Services)
	}
	return r.Services[0]
}

func TestGrades(t *testing.T) {
	ok := health.New(health.Config{DBName: "DB", DB: &pinger{}})
	if s := only(t, ok.Check(context.Background())); s.Status != health.StatusOK || s.Name != "DB" {
		t.Fatalf("fast probe: %+v", s)
	}
	slow := health.New(health.Config{DB: &pinger{delay: 200 * time.Millisecond}, OKWithin: 10 * time.Millisecond, Timeout: 5 * time.Second})
	if s := only(t, slow.Check(context.Background())); s.Status != health.StatusWarn {
		t.Fatalf("slow probe: %+v", s)
	}
	hung := health.New(health.Config{DB: &pinger{hang: true}, Timeout: 50 * time.Millisecond})
	if s := only(t, hung.Check(context.Background())); s.Status != health.StatusBad {
		t.Fatalf("hung probe: %+v", s)
	}
	p := &pinger{}
	p.broken.Store(true)
	bad := health.New(health.Config{DB: p})
	if s := only(t, bad.Check(context.Background())); s.Status != health.StatusBad || !strings.Contains(s.Message, "connection refused") {
		t.Fatalf("failing probe: %+v", s)
	}
	if err := bad.Ready(context.Background()); err == nil {
		t.Fatal("Ready with a failing database: want an error")
	}
	if r := ok.Check(context.Background()); len(r.Planned) != 5 || r.Planned[0].Name != "Jitsi" {
		t.Fatalf("planned: %+v", r.Planned)
	}
}

func TestOperatorsOnly(t *testing.T) {
	c := health.New(health.Config{DB: &pinger{}})
	member := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "m", Tenants: map[int]viewer.Role{1: viewer.RoleAdmin}})
	if _, err := c.Report(member); err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Fatalf("member report: %v", err)
	}
	if _, err := c.Subscribe(member); err == nil {
		t.Fatal("member subscribe: want FORBIDDEN")
	}
	if _, err := c.Report(operator); err != nil {
		t.Fatal(err)
	}
}

// TestChangePushed: a subscriber gets the current report, then the report
// of the probe that saw a status change, and no report in between. It
// subscribes before the loop's first probe and breaks the database only
// after the loop has published that probe, so the subscriber's own check
// and the loop's first, unchanged, report both happen before the change.
func TestChangePushed(t *testing.T) {
	p := &pinger{}
	c := health.New(health.Config{DB: p, Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(operator)
	defer cancel()
	ch, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := <-ch
	if only(t, *first).Status != health.StatusOK {
		t.Fatalf("first report: %+v", first)
	}
	go c.Run(ctx)
	// Ping 1 was the subscriber's check; the loop publishes its first
	// probe (ping 2) before it starts the second.
	deadline := time.Now().Add(time.Minute)
	for p.pings.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the health loop did not probe")
		}
		time.Sleep(time.Millisecond)
	}
	p.broken.Store(true)
	select {
	case r := <-ch:
		if only(t, *r).Status != health.StatusBad {
			t.Fatalf("pushed report: %+v", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("no report pushed after the database broke")
	}
}

// TestPlugins probes real plugin processes: a healthy one is OK, one whose
// upstream reports unhealthy is BAD with the provider's message, and a
// required plugin that is stopped makes Ready fail.
func TestPlugins(t *testing.T) {
	dir := t.TempDir()
	conformance.BuildProvider(t, "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", "test", dir)
	conformance.BuildProvider(t, "github.com/dezky/platform/plugins/internal/testprovider/cmd/dezky-provider-test", "sick", dir)
	h, err := host.New(host.Config{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Capabilities: map[sdk.Capability]host.Binding{
		sdk.CapabilityIdentity: {Plugin: "test"},
		sdk.CapabilityBilling:  {Plugin: "sick", Settings: map[string]string{"unhealthy": "yes", "name": "sick"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := health.New(health.Config{DBName: "DB", DB: &pinger{}, Plugins: h, Required: []sdk.Capability{sdk.CapabilityIdentity}})
	got := map[string]health.Service{}
	for _, s := range c.Check(context.Background()).Services {
		got[s.Name] = s
	}
	if s := got["test (identity)"]; s.Status != health.StatusOK {
		t.Fatalf("healthy plugin: %+v (all: %+v)", s, got)
	}
	if s := got["sick (billing)"]; s.Status != health.StatusBad || !strings.Contains(s.Message, "unhealthy") {
		t.Fatalf("unhealthy upstream: %+v", s)
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Fatalf("Ready with the required plugin running: %v", err)
	}
	h.Close()
	if err := c.Ready(context.Background()); err == nil {
		t.Fatal("Ready with the required plugin stopped: want an error")
	}
	for _, s := range c.Check(context.Background()).Services {
		if s.Name != "DB" && s.Status != health.StatusBad {
			t.Fatalf("stopped plugin: %+v", s)
		}
	}
}
