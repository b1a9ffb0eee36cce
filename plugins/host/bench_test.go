package host_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/internal/testprovider"
	"github.com/dezky/platform/plugins/sdk"
)

// minSamples is the number of calls the percentiles are computed over.
const minSamples = 10_000

// BenchmarkRoundTrip measures Identity.GetUser through the host and a
// plugin process against the same call on the provider in-process. Each
// op is one call; p50 and p99 come from at least 10,000 timed calls.
//
//	go test -run '^$' -bench RoundTrip ./plugins/host
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("plugin", func(b *testing.B) {
		h, _ := MustStart(b, host.Config{Capabilities: map[sdk.Capability]host.Binding{sdk.CapabilityIdentity: {Plugin: "test"}}})
		benchGetUser(b, identity(b, h))
	})
	b.Run("in-process", func(b *testing.B) {
		benchGetUser(b, testprovider.New())
	})
}

func benchGetUser(b *testing.B, id sdk.Identity) {
	ctx := context.Background()
	u, err := id.CreateUser(ctx, sdk.CreateUserRequest{Username: "bench", Email: "bench@example.test", Active: true})
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
	b.ReportMetric(float64(len(lat)), "samples")
}
