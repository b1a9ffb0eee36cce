package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

func TestRecordExternal(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := viewer.SystemContext(context.Background())
		if _, err := audit.RecordExternal(ctx, audit.ExternalEvent{Source: "up", ExternalID: "1", Action: "up.x"}); !errors.Is(err, audit.ErrNoTransaction) {
			t.Fatalf("outside a transaction: %v", err)
		}
		at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
		write := func(id string) bool {
			var ok bool
			err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
				var err error
				ok, err = audit.RecordExternal(ctx, audit.ExternalEvent{Source: "up", ExternalID: id, At: at, Action: "up.x",
					ActorID: "jane", ActorIP: "192.0.2.1", Metadata: map[string]any{"k": "v"}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !write("1") || !write("2") {
			t.Fatal("new external events were not written")
		}
		if write("1") {
			t.Fatal("a re-delivered event was written again")
		}
		evs, err := d.Client.AuditEvent.Query().Where(auditevent.Source("up")).All(ctx)
		if err != nil || len(evs) != 2 {
			t.Fatalf("stored %d events (%v), want 2", len(evs), err)
		}
		if e := evs[0]; !e.At.Equal(at.Truncate(time.Microsecond)) || e.ActorType != "user" || e.ActorIP != "192.0.2.1" {
			t.Fatalf("stored event = %+v", e)
		}
		for _, bad := range []audit.ExternalEvent{{Source: "platform", ExternalID: "1", Action: "x"}, {Source: "up", Action: "x"}, {Source: "up", ExternalID: "3"}} {
			err := db.WithTx(ctx, d.Client, func(ctx context.Context) error {
				_, err := audit.RecordExternal(ctx, bad)
				return err
			})
			if err == nil {
				t.Errorf("RecordExternal(%+v) succeeded", bad)
			}
		}
		if _, err := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet}).ChainPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := verifyDB(t, d); !r.OK || r.EventsVerified != 2 {
			t.Fatalf("Verify = %+v", r)
		}
	})
}
