package rule_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dezky/platform/ent/privacy"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/demo"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestBasePolicyOnEverySchema checks the BaseMixin contract on every
// entity: no viewer reads nothing, the system viewer reads everything; and
// the narrow cases around it: system-only and operator-only data, the
// append-only audit trail (not even the system updates it), and
// rule.Bypass keeping the viewer while allowing one call.
func TestBasePolicyOnEverySchema(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		c := d.Client
		if _, err := demo.Seed(context.Background(), c, tenancy.New(c), "test"); err != nil {
			t.Fatal(err)
		}
		counts := map[string]func(context.Context) (int, error){
			"AuditArchive":      c.AuditArchive.Query().Count,
			"AuditCheckpoint":   c.AuditCheckpoint.Query().Count,
			"AuditEvent":        c.AuditEvent.Query().Count,
			"Flag":              c.Flag.Query().Count,
			"IdempotencyKey":    c.IdempotencyKey.Query().Count,
			"IngestCursor":      c.IngestCursor.Query().Count,
			"Membership":        c.Membership.Query().Count,
			"Partner":           c.Partner.Query().Count,
			"ProvisioningState": c.ProvisioningState.Query().Count,
			"Tenant":            c.Tenant.Query().Count,
			"User":              c.User.Query().Count,
		}
		sys := viewer.SystemContext(context.Background())
		for name, count := range counts {
			if _, err := count(context.Background()); !errors.Is(err, privacy.Deny) {
				t.Errorf("%s without a viewer: err = %v, want privacy.Deny", name, err)
			}
			if _, err := count(sys); err != nil {
				t.Errorf("%s as the system: err = %v, want a count", name, err)
			}
		}

		operator := viewer.NewContext(context.Background(), viewerFor(t, c, demo.OperatorSubject, true))
		admin := viewerFor(t, c, "demo-acme-admin", false)
		adminCtx := viewer.NewContext(context.Background(), admin)
		for _, tc := range []struct {
			name string
			err  error
			ok   bool
		}{
			{"operator reads ingest cursors", errOf(c.IngestCursor.Query().Count(operator)), false},
			{"operator writes an ingest cursor", c.IngestCursor.Create().SetSource("x").Exec(operator), false},
			{"system writes an ingest cursor", c.IngestCursor.Create().SetSource("x").Exec(sys), true},
			{"admin reads flags", errOf(c.Flag.Query().Count(adminCtx)), false},
			{"operator reads flags", errOf(c.Flag.Query().Count(operator)), true},
			{"admin reads idempotency keys", errOf(c.IdempotencyKey.Query().Count(adminCtx)), false},
			{"admin reads idempotency keys through rule.Bypass", errOf(c.IdempotencyKey.Query().Count(rule.Bypass(adminCtx))), true},
			{"system updates audit events", errOf(c.AuditEvent.Update().SetPrevHash("x").Save(sys)), false},
			{"operator reads checkpoints", errOf(c.AuditCheckpoint.Query().Count(operator)), true},
			{"admin writes a provisioning state", c.ProvisioningState.Create().SetTenantID(admin.TenantIDs()[0]).
				SetIntegration(provisioningstate.IntegrationIdentity).SetMessage("x").Exec(adminCtx), false},
		} {
			if (tc.err == nil) != tc.ok {
				t.Errorf("%s: err = %v, want ok=%v", tc.name, tc.err, tc.ok)
			}
		}
		if got := viewer.FromContext(rule.Bypass(adminCtx)); got != admin {
			t.Errorf("rule.Bypass replaced the viewer: %+v", got)
		}
	})
}

func errOf[T any](_ T, err error) error { return err }
