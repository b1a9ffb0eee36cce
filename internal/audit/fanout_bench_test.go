package audit_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// BenchmarkFeedFanout measures how long a newly chained event takes to
// reach 1,000 live subscribers of the audit feed: from the chainer's
// publish until each subscriber has received the event (every subscriber
// reads the event from the database itself, as in production). It reports
// the p50, p99 and slowest delivery over all iterations.
func BenchmarkFeedFanout(b *testing.B) {
	const subscribers = 1000
	for _, name := range testdb.Dialects {
		b.Run(name, func(b *testing.B) {
			d := benchDB(b, name)
			ctx, cancel := context.WithCancel(viewer.SystemContext(context.Background()))
			defer cancel()
			feed := audit.NewFeed(d, quiet)
			chainer := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
			go feed.Run(ctx)

			var mu sync.Mutex
			var wg sync.WaitGroup
			var published time.Time
			var lat []time.Duration
			for range subscribers {
				ch, err := feed.Subscribe(ctx, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					for range ch {
						mu.Lock()
						lat = append(lat, time.Since(published))
						mu.Unlock()
						wg.Done()
					}
				}()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := write(ctx, d, i, map[string]any{"i": i}); err != nil {
					b.Fatal(err)
				}
				wg.Add(subscribers)
				mu.Lock()
				published = time.Now()
				mu.Unlock()
				if _, err := chainer.ChainPending(ctx); err != nil {
					b.Fatal(err)
				}
				head, _, err := audit.Head(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				feed.Publish(head)
				wg.Wait()
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(ms(1), "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
