package flags_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// TestFlagCacheFollowsEveryWrite: two services on one database (two
// replicas) evaluate from their caches, and each sees every flag change
// at once: made through the other service, by a direct write, or deleted;
// a change rolled back never reaches a cache.
func TestFlagCacheFollowsEveryWrite(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.NewContext(context.Background(), &viewer.Viewer{Subject: "op", Email: "ops@dezky.example", Operator: true})
		sys := viewer.SystemContext(context.Background())
		d.Client.Tenant.Create().SetSlug("acme").SetName("Acme").SaveX(sys)
		a, b := flags.New(d.Client, "production"), flags.New(d.Client, "production")
		enabled := func(s *flags.Service, key string) bool {
			t.Helper()
			evs, err := s.EvaluateAll(ctx, "acme", "")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.Key == key {
					return e.Enabled
				}
			}
			t.Fatalf("flag %s not evaluated (%d flags)", key, len(evs))
			return false
		}
		on, off := flag.StateOn, flag.StateOff
		if _, err := a.Create(ctx, flags.CreateFlagInput{Key: "new_editor", State: &off}); err != nil {
			t.Fatal(err)
		}
		if enabled(a, "new_editor") || enabled(b, "new_editor") {
			t.Fatal("an OFF flag evaluates on")
		}
		// Changed through the other replica.
		if _, err := b.Update(ctx, "new_editor", flags.UpdateFlagInput{State: &on}); err != nil {
			t.Fatal(err)
		}
		if !enabled(a, "new_editor") || !enabled(b, "new_editor") {
			t.Fatal("a change through the other replica is not seen")
		}
		// A direct write (not through the service) is seen too.
		if err := d.Client.Flag.Update().Where(flag.Key("new_editor")).SetState(flag.StateOff).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if enabled(a, "new_editor") || enabled(b, "new_editor") {
			t.Fatal("a direct write is not seen")
		}
		// A change inside a transaction is seen there, and forgotten when
		// it rolls back.
		errRollback := errors.New("roll back")
		err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
			if err := ent.FromContext(ctx).Flag.Update().Where(flag.Key("new_editor")).SetState(flag.StateOn).Exec(ctx); err != nil {
				return err
			}
			evs, err := a.EvaluateAll(ctx, "acme", "")
			if err != nil {
				return err
			}
			if len(evs) != 1 || !evs[0].Enabled {
				t.Errorf("inside the transaction: %+v", evs)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		if enabled(a, "new_editor") || enabled(b, "new_editor") {
			t.Fatal("a rolled-back change reached a cache")
		}
		// Deleted.
		if _, err := a.Create(ctx, flags.CreateFlagInput{Key: "other", State: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Delete(ctx, "new_editor"); err != nil {
			t.Fatal(err)
		}
		evs, err := a.EvaluateAll(ctx, "acme", "")
		if err != nil || len(evs) != 1 || evs[0].Key != "other" {
			t.Fatalf("after delete: %+v, %v", evs, err)
		}
	})
}
