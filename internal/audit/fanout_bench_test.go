package audit_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// BenchmarkFeedFanout measures how long a newly chained event takes to
// reach 1,000 live subscribers of the audit feed: from the chainer's
// publish until each subscriber has received the event. Every subscriber
// sees the event under its own viewer: "1-class" are 1,000 operators,
// "100-classes" 1,000 viewers of 100 different reaches (operators, the
// tenant's partner staff, admins of the tenant and of other tenants), ten
// of each. It reports the p50, p99 and slowest delivery over all
// iterations.
func BenchmarkFeedFanout(b *testing.B) {
	const subscribers = 1000
	for _, name := range testdb.Dialects {
		for _, classes := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/%d-classes", name, classes), func(b *testing.B) {
				benchFanout(b, benchDB(b, name), subscribers, classes)
			})
		}
	}
}

func benchFanout(b *testing.B, d *db.DB, subscribers, classes int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sys := viewer.SystemContext(ctx)
	p := d.Client.Partner.Create().SetSlug("fanout-partner").SetName("Fanout Partner").SaveX(sys)
	t := d.Client.Tenant.Create().SetSlug("fanout-tenant").SetName("Fanout Tenant").SetPartnerID(p.ID).SaveX(sys)
	// viewerOf returns the viewer of class c; all of them see t's events.
	viewerOf := func(c int) *viewer.Viewer {
		v := &viewer.Viewer{Subject: fmt.Sprintf("class-%d", c), Email: "viewer@example.com"}
		switch {
		case c == 0:
			v.Operator = true
		case c%2 == 1:
			v.PartnerID = p.ID
			v.Tenants = map[int]viewer.Role{1_000_000 + c: viewer.RoleAdmin}
		default:
			v.Tenants = map[int]viewer.Role{t.ID: viewer.RoleAdmin, 1_000_000 + c: viewer.RoleAdmin}
		}
		return v
	}
	feed := audit.NewFeed(d, quiet)
	chainer := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
	go feed.Run(ctx)

	var mu sync.Mutex
	var wg sync.WaitGroup
	var published time.Time
	var lat []time.Duration
	for i := range subscribers {
		ch, err := feed.Subscribe(viewer.NewContext(ctx, viewerOf(i%classes)), 0, nil)
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
		err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
			return audit.Record(ctx, audit.Event{Action: "test.write", ResourceType: "Thing", ResourceID: fmt.Sprint(i),
				Tenant: t, Metadata: map[string]any{"i": i}})
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(subscribers)
		mu.Lock()
		published = time.Now()
		mu.Unlock()
		if _, err := chainer.ChainPending(sys); err != nil {
			b.Fatal(err)
		}
		head, _, err := audit.Head(sys, d)
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
}
