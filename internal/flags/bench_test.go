package flags_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// BenchmarkEvaluateAll evaluates 1,000 flags for one tenant through the
// service: "cached" reuses one service (the flags' generation is read,
// the definitions come from its cache), "uncached" builds a service per
// evaluation (every definition is read and decoded, as before the cache).
func BenchmarkEvaluateAll(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			d := testdb.Open(b, dialect)
			sys := viewer.SystemContext(context.Background())
			d.Client.Tenant.Create().SetSlug("acme").SetName("Acme").SaveX(sys)
			bulk := make([]*ent.FlagCreate, 1000)
			for i := range bulk {
				bulk[i] = d.Client.Flag.Create().SetKey(fmt.Sprintf("flag_%04d", i)).SetState(flag.StateRollout).SetPct(i % 100).
					SetScope(schematype.FlagScope{Plans: []string{"BUSINESS", "ENTERPRISE"}, Environments: []string{"production"}})
			}
			d.Client.Flag.CreateBulk(bulk...).ExecX(sys)
			ctx := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Operator: true})
			s := flags.New(d.Client, "production")
			b.Run("cached", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.EvaluateAll(ctx, "acme", ""); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("uncached", func(b *testing.B) {
				for b.Loop() {
					if _, err := flags.New(d.Client, "production").EvaluateAll(ctx, "acme", ""); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
