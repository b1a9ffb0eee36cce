package provisioning_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestStatusesOfIsOneStatement checks that the statuses of a page of
// tenants cost one statement at page sizes 5 and 50, and that they are the
// statuses Statuses reports for each tenant alone.
func TestStatusesOfIsOneStatement(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		var statements atomic.Int64
		counting := ent.NewClient(ent.Driver(dialect.DebugWithContext(entsql.OpenDB(d.Dialect, d.SQL),
			func(context.Context, ...any) { statements.Add(1) })))
		svc := provisioning.New(provisioning.Config{Client: counting, Jobs: jobs.New(jobs.Config{DB: d})}) // the engine is never started: only reads

		var tenants []*ent.Tenant
		for i := range 50 {
			tn, err := d.Client.Tenant.Create().SetSlug(fmt.Sprintf("loader-%02d", i)).SetName("Loader").Save(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tenants = append(tenants, tn)
			if i%3 == 0 { // some tenants have stored states, some none
				if _, err := d.Client.ProvisioningState.Create().SetTenantID(tn.ID).
					SetIntegration(provisioningstate.Integration(provisioning.Integrations[i%len(provisioning.Integrations)])).
					SetStatus(provisioningstate.StatusOk).SetMessage(fmt.Sprint("done ", i)).
					SetExternal(map[string]string{"id": fmt.Sprint(i)}).Save(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, size := range []int{5, 50} {
			statements.Store(0)
			got, err := svc.StatusesOf(ctx, tenants[:size])
			if err != nil {
				t.Fatal(err)
			}
			if n := statements.Load(); n != 1 {
				t.Errorf("page of %d: %d statements, want 1", size, n)
			}
			if len(got) != size {
				t.Fatalf("page of %d: statuses of %d tenants", size, len(got))
			}
			for _, tn := range tenants[:size] {
				one, err := svc.Statuses(ctx, tn)
				if err != nil {
					t.Fatal(err)
				}
				if a, b := fmt.Sprint(deref(one)), fmt.Sprint(deref(got[tn.ID])); a != b {
					t.Errorf("%s: batched %s, alone %s", tn.Slug, b, a)
				}
			}
		}
	})
}

func deref(ss []*provisioning.IntegrationStatus) []provisioning.IntegrationStatus {
	out := make([]provisioning.IntegrationStatus, len(ss))
	for i, s := range ss {
		out[i] = *s
	}
	return out
}
