package audit_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/testing/testdb"
	"github.com/dezky/platform/internal/viewer"
)

// TestFeedSharesReadsOnlyWithinAClass subscribes viewers of different
// reaches and filters at the same cursor, many of each, so reads are
// shared, and checks that every subscriber gets exactly the events its
// own viewer and filter select, in order.
func TestFeedSharesReadsOnlyWithinAClass(t *testing.T) {
	for _, name := range testdb.Dialects {
		t.Run(name, func(t *testing.T) {
			d := testdb.Open(t, name)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sys := viewer.SystemContext(ctx)
			p := d.Client.Partner.Create().SetSlug("feed-partner").SetName("Feed Partner").SaveX(sys)
			a := d.Client.Tenant.Create().SetSlug("feed-a").SetName("Feed A").SetPartnerID(p.ID).SaveX(sys)
			b := d.Client.Tenant.Create().SetSlug("feed-b").SetName("Feed B").SaveX(sys)
			feed := audit.NewFeed(d, quiet)
			chainer := audit.NewChainer(d, audit.ChainerOptions{Logger: quiet})
			go feed.Run(ctx)

			prefix := func(s string) *ent.AuditEventWhereInput { return &ent.AuditEventWhereInput{ActionHasPrefix: &s} }
			subs := []struct {
				name  string
				v     *viewer.Viewer
				where *ent.AuditEventWhereInput
				want  []string
			}{
				{"operator", &viewer.Viewer{Subject: "op", Operator: true}, nil, []string{"a.one", "b.one", "a.two", "none.one"}},
				{"operator, a.*", &viewer.Viewer{Subject: "op", Operator: true}, prefix("a."), []string{"a.one", "a.two"}},
				{"operator, b.*", &viewer.Viewer{Subject: "op", Operator: true}, prefix("b."), []string{"b.one"}},
				{"admin of a", &viewer.Viewer{Subject: "ua", Tenants: map[int]viewer.Role{a.ID: viewer.RoleAdmin}}, nil, []string{"a.one", "a.two"}},
				{"admin of b", &viewer.Viewer{Subject: "ub", Tenants: map[int]viewer.Role{b.ID: viewer.RoleAdmin}}, nil, []string{"b.one"}},
				{"member of b", &viewer.Viewer{Subject: "mb", Tenants: map[int]viewer.Role{b.ID: viewer.RoleMember}}, nil, nil},
				{"partner staff", &viewer.Viewer{Subject: "ps", PartnerID: p.ID}, nil, []string{"a.one", "a.two"}},
			}
			const copies = 5
			type stream struct {
				name string
				ch   <-chan *ent.AuditEvent
				want []string
			}
			var streams []stream
			for _, s := range subs {
				for range copies {
					ch, err := feed.Subscribe(viewer.NewContext(ctx, s.v), 0, s.where)
					if err != nil {
						t.Fatalf("%s: %v", s.name, err)
					}
					streams = append(streams, stream{s.name, ch, s.want})
				}
			}
			for _, ev := range []struct {
				action string
				tenant *ent.Tenant
			}{{"a.one", a}, {"b.one", b}, {"a.two", a}, {"none.one", nil}} {
				err := db.WithTx(sys, d.Client, func(ctx context.Context) error {
					return audit.Record(ctx, audit.Event{Action: ev.action, ResourceType: "Thing", Tenant: ev.tenant})
				})
				if err != nil {
					t.Fatal(err)
				}
				// One head per event: every event is a page of its own.
				if _, err := chainer.ChainPending(sys); err != nil {
					t.Fatal(err)
				}
				head, _, err := audit.Head(sys, d)
				if err != nil {
					t.Fatal(err)
				}
				feed.Publish(head)
			}
			for _, s := range streams {
				var got []string
				for len(got) < len(s.want) {
					select {
					case e := <-s.ch:
						got = append(got, e.Action)
					case <-ctx.Done():
						t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
					}
				}
				if !slices.Equal(got, s.want) {
					t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
				}
			}
			// Nothing more arrives for anyone.
			time.Sleep(200 * time.Millisecond)
			for _, s := range streams {
				select {
				case e := <-s.ch:
					t.Fatalf("%s: unexpected event %s", s.name, e.Action)
				default:
				}
			}
		})
	}
}
