package conformance

import (
	"github.com/dezky/platform/plugins/sdk"
)

// storageSuite checks p against the sdk.Storage contract.
func storageSuite(t T, p sdk.Storage, opts ...Option) {
	o := apply(opts)
	ctx := testContext(t)
	const gib = int64(1) << 30

	var space sdk.Space
	t.Run("EnsureSpace", func(t T) {
		var err error
		space, err = p.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: o.prefix, Name: "Conformance " + o.prefix, QuotaBytes: gib})
		must(t, err, "EnsureSpace")
		if space.ID == "" {
			t.Fatalf("EnsureSpace = %+v, want an ID", space)
		}
		again, err := p.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: o.prefix, Name: "Conformance " + o.prefix, QuotaBytes: gib})
		must(t, err, "EnsureSpace again")
		o.stateful(func() {
			if again.ID != space.ID {
				t.Errorf("EnsureSpace again ID = %q, want %q (idempotent on tenant key)", again.ID, space.ID)
			}
		})
		_, err = p.EnsureSpace(ctx, sdk.EnsureSpaceRequest{Name: "no key", QuotaBytes: gib})
		wantCode(t, err, sdk.CodeInvalid, "EnsureSpace without tenant key")
		_, err = p.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: o.prefix + "-neg", QuotaBytes: -1})
		wantCode(t, err, sdk.CodeInvalid, "EnsureSpace negative quota")
	})
	if space.ID == "" {
		t.Fatal("no space; later checks need one")
	}

	t.Run("Quota", func(t T) {
		u, err := p.GetUsage(ctx, space.ID)
		must(t, err, "GetUsage")
		o.stateful(func() {
			if u.Total != gib || u.Used < 0 || u.Remaining > u.Total || u.State == "" {
				t.Errorf("GetUsage = %+v, want Total %d, Used >= 0, Remaining <= Total and a State", u, gib)
			}
		})
		must(t, p.SetQuota(ctx, space.ID, 2*gib), "SetQuota")
		o.stateful(func() {
			u, err := p.GetUsage(ctx, space.ID)
			must(t, err, "GetUsage after SetQuota")
			if u.Total != 2*gib {
				t.Errorf("GetUsage after SetQuota: Total = %d, want %d", u.Total, 2*gib)
			}
		})
		wantCode(t, p.SetQuota(ctx, space.ID, -1), sdk.CodeInvalid, "SetQuota negative")
	})

	t.Run("StorageUser", func(t T) {
		u, err := p.CreateStorageUser(ctx, sdk.CreateStorageUserRequest{Username: o.prefix + "-alice", Name: "Alice", Email: o.prefix + "-alice@example.test"})
		must(t, err, "CreateStorageUser")
		if u.ID == "" {
			t.Fatalf("CreateStorageUser = %+v, want an ID", u)
		}
		again, err := p.CreateStorageUser(ctx, sdk.CreateStorageUserRequest{Username: o.prefix + "-alice", Name: "Alice", Email: o.prefix + "-alice@example.test"})
		must(t, err, "CreateStorageUser again")
		o.stateful(func() {
			if again.ID != u.ID {
				t.Errorf("CreateStorageUser again ID = %q, want %q", again.ID, u.ID)
			}
		})
		_, err = p.CreateStorageUser(ctx, sdk.CreateStorageUserRequest{Name: "No Username"})
		wantCode(t, err, sdk.CodeInvalid, "CreateStorageUser without username")
		must(t, p.DeleteStorageUser(ctx, u.ID), "DeleteStorageUser")
		o.stateful(func() {
			wantCode(t, p.DeleteStorageUser(ctx, u.ID), sdk.CodeNotFound, "DeleteStorageUser again")
		})
	})

	t.Run("AuditLog", func(t T) {
		page, err := p.ReadAuditLog(ctx, sdk.ReadAuditLogRequest{Max: 2})
		must(t, err, "ReadAuditLog")
		if len(page.Lines) > 2 {
			t.Errorf("ReadAuditLog(max 2) returned %d lines", len(page.Lines))
		}
		if len(page.LineIDs) != 0 && len(page.LineIDs) != len(page.Lines) {
			t.Errorf("ReadAuditLog returned %d line ids for %d lines", len(page.LineIDs), len(page.Lines))
		}
		if len(page.Lines) > 0 {
			next, err := p.ReadAuditLog(ctx, sdk.ReadAuditLogRequest{Cursor: page.NextCursor, Max: 2})
			must(t, err, "ReadAuditLog next page")
			if len(next.Lines) > 0 && next.Lines[0] == page.Lines[0] && next.NextCursor == page.NextCursor {
				t.Errorf("ReadAuditLog next page repeats the first page")
			}
		}
	})

	t.Run("DisableAndDelete", func(t T) {
		must(t, p.DisableSpace(ctx, space.ID), "DisableSpace")
		must(t, p.DeleteSpace(ctx, space.ID), "DeleteSpace")
		o.stateful(func() {
			_, err := p.GetUsage(ctx, space.ID)
			wantCode(t, err, sdk.CodeNotFound, "GetUsage after delete")
			wantCode(t, p.DeleteSpace(ctx, space.ID), sdk.CodeNotFound, "DeleteSpace again")
			wantCode(t, p.SetQuota(ctx, space.ID, gib), sdk.CodeNotFound, "SetQuota deleted")
			wantCode(t, p.DisableSpace(ctx, space.ID), sdk.CodeNotFound, "DisableSpace deleted")
		})
	})

	t.Run("ConcurrentEnsure", func(t T) {
		ids := make([]string, o.parallel)
		parallel(t, o.parallel, func(i int) error {
			s, err := p.EnsureSpace(ctx, sdk.EnsureSpaceRequest{TenantKey: o.prefix + "-parallel", Name: "Parallel " + o.prefix, QuotaBytes: gib})
			ids[i] = s.ID
			return err
		})
		o.stateful(func() { sameIDs(t, "EnsureSpace", ids) })
		seen := map[string]bool{}
		for _, id := range ids {
			if id != "" && !seen[id] {
				seen[id] = true
				must(t, p.DeleteSpace(ctx, id), "DeleteSpace of the parallel space")
			}
		}
	})
}
