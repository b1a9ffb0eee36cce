package maildomains_test

import (
	"context"
	"testing"
	"time"

	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestOneOwnerPerName: the database itself lets any number of tenants
// claim a name while pending but only one hold it verified, also when a
// verification does not look first (a concurrent one).
func TestOneOwnerPerName(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		var ids []int
		for i, slug := range []string{"red", "blue", "green"} {
			tn := d.Client.Tenant.Create().SetSlug(slug).SetName(slug).SaveX(ctx)
			md := d.Client.MailDomain.Create().SetTenantID(tn.ID).SetName("shared.example").SetOwnershipToken(slug + "-token").SaveX(ctx)
			ids = append(ids, md.ID)
			if i == 0 {
				if err := d.Client.MailDomain.Create().SetTenantID(tn.ID).SetName("shared.example").SetOwnershipToken("again").Exec(ctx); !db.IsUniqueViolation(err) {
					t.Fatalf("a tenant claims a name twice: %v", err)
				}
			}
		}
		now := time.Now()
		if err := d.Client.MailDomain.UpdateOneID(ids[1]).SetStatus(maildomain.StatusVerified).SetVerifiedAt(now).Exec(ctx); err != nil {
			t.Fatalf("first verification: %v", err)
		}
		if err := d.Client.MailDomain.UpdateOneID(ids[0]).SetStatus(maildomain.StatusVerified).SetVerifiedAt(now).Exec(ctx); !db.IsUniqueViolation(err) {
			t.Fatalf("second verification: %v, want a unique violation", err)
		}
		// Failing keeps the name owned; removing the owner frees it.
		if err := d.Client.MailDomain.UpdateOneID(ids[1]).SetStatus(maildomain.StatusFailing).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := d.Client.MailDomain.UpdateOneID(ids[2]).SetVerifiedAt(now).Exec(ctx); !db.IsUniqueViolation(err) {
			t.Fatalf("verification while the owner fails: %v", err)
		}
		d.Client.MailDomain.DeleteOneID(ids[1]).ExecX(ctx)
		if err := d.Client.MailDomain.UpdateOneID(ids[2]).SetStatus(maildomain.StatusVerified).SetVerifiedAt(now).Exec(ctx); err != nil {
			t.Fatalf("verification after the owner left: %v", err)
		}
	})
}
