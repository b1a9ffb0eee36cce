package webhooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/testing/testserver"
)

// BenchmarkDelivery100Endpoints measures delivery throughput of one
// replica: each iteration records 10 audit events (tenant.updated) and
// delivers them to 100 PLATFORM endpoints, 1,000 signed POSTs to a local
// receiver, timed from the first mutation until the receiver has every
// message. Run:
//
//	go test -run '^$' -bench Delivery100 -benchtime 3x ./internal/webhooks
func BenchmarkDelivery100Endpoints(b *testing.B) {
	const endpoints, events = 100, 10
	for _, d := range testdb.Dialects {
		b.Run(d, func(b *testing.B) {
			s := testserver.StartWith(b, d, func(cfg *app.ServeConfig) {
				cfg.WebhooksAllowPrivate = true
				cfg.Webhooks.PollInterval = 50 * time.Millisecond
			})
			var got atomic.Int64
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(rcv.Close)
			tok := s.Token("operator")
			for i := 0; i < endpoints; i++ {
				s.Do(testserver.Request{Token: tok, Query: createMutation, Variables: map[string]any{"in": map[string]any{
					"url": fmt.Sprintf("%s/e%d", rcv.URL, i), "eventTypes": []string{"tenant.updated"}}}}).Decode(b, &struct{}{})
			}
			wait := func(n int64) {
				deadline := time.Now().Add(5 * time.Minute)
				for got.Load() < n {
					if time.Now().After(deadline) {
						b.Fatalf("delivered %d of %d", got.Load(), n)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				target := got.Load() + endpoints*events
				// The events are recorded through the API while the
				// deliveries of the first ones already run.
				for e := 0; e < events; e++ {
					s.Do(testserver.Request{Token: tok, Query: fmt.Sprintf(
						`mutation { updateTenant(slug: "acme", input: {industry: "bench %d-%d"}) { id } }`, i, e)}).Decode(b, &struct{}{})
				}
				wait(target)
			}
			elapsed := time.Since(start)
			b.ReportMetric(float64(b.N*endpoints*events)/elapsed.Seconds(), "deliveries/s")
		})
	}
}
