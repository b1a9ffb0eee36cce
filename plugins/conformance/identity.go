package conformance

import (
	"slices"

	"github.com/dezky/platform/plugins/sdk"
)

// identitySuite checks p against the sdk.Identity contract.
func identitySuite(t T, p sdk.Identity, opts ...Option) {
	o := apply(opts)
	ctx := testContext(t)
	const missing = "cf-missing-0000"

	var group, other sdk.Group
	t.Run("EnsureGroup", func(t T) {
		var err error
		group, err = p.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: o.prefix + "-staff"})
		must(t, err, "EnsureGroup")
		if group.ID == "" || group.Name != o.prefix+"-staff" {
			t.Fatalf("EnsureGroup = %+v, want an ID and name %q", group, o.prefix+"-staff")
		}
		again, err := p.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: o.prefix + "-staff"})
		must(t, err, "EnsureGroup again")
		o.stateful(func() {
			if again.ID != group.ID {
				t.Errorf("EnsureGroup again: ID = %q, want %q", again.ID, group.ID)
			}
		})
		other, err = p.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: o.prefix + "-other"})
		must(t, err, "EnsureGroup other")
		_, err = p.EnsureGroup(ctx, sdk.EnsureGroupRequest{})
		wantCode(t, err, sdk.CodeInvalid, "EnsureGroup without name")
	})
	if group.ID == "" {
		t.Fatal("no group; later checks need one")
	}

	var user sdk.User
	username := o.prefix + "-alice"
	t.Run("CreateUser", func(t T) {
		var err error
		user, err = p.CreateUser(ctx, sdk.CreateUserRequest{
			Username: username, Name: "Alice", Email: username + "@example.test", Active: true,
			Attributes: map[string]string{"tenant": o.prefix},
		})
		must(t, err, "CreateUser")
		if user.ID == "" || user.Username != username {
			t.Fatalf("CreateUser = %+v, want an ID and username %q", user, username)
		}
		again, err := p.CreateUser(ctx, sdk.CreateUserRequest{Username: username, Name: "Alice", Email: username + "@example.test", Active: true})
		must(t, err, "CreateUser again")
		o.stateful(func() {
			if again.ID != user.ID {
				t.Errorf("CreateUser again: ID = %q, want %q (idempotent on username)", again.ID, user.ID)
			}
		})
		_, err = p.CreateUser(ctx, sdk.CreateUserRequest{Name: "No Username"})
		wantCode(t, err, sdk.CodeInvalid, "CreateUser without username")
	})
	if user.ID == "" {
		t.Fatal("no user; later checks need one")
	}

	t.Run("GetUser", func(t T) {
		got, err := p.GetUser(ctx, user.ID)
		must(t, err, "GetUser")
		o.stateful(func() {
			if got.ID != user.ID || got.Username != username || got.Email != username+"@example.test" || !got.Active {
				t.Errorf("GetUser = %+v, want the created user", got)
			}
			if got.Attributes["tenant"] != o.prefix {
				t.Errorf("GetUser attributes = %v, want tenant=%s", got.Attributes, o.prefix)
			}
		})
	})

	t.Run("UpdateUser", func(t T) {
		name, inactive := "Alice Updated", false
		got, err := p.UpdateUser(ctx, sdk.UpdateUserRequest{ID: user.ID, Name: &name, Attributes: map[string]string{"plan": "pro"}})
		must(t, err, "UpdateUser")
		o.stateful(func() {
			want := map[string]string{"tenant": o.prefix, "plan": "pro"}
			if got.Name != name || !containsAll(got.Attributes, want) {
				t.Errorf("UpdateUser = %+v, want name %q and attributes merged to include %v", got, name, want)
			}
		})
		got, err = p.UpdateUser(ctx, sdk.UpdateUserRequest{ID: user.ID, Active: &inactive, RemoveAttributes: []string{"plan"}})
		must(t, err, "UpdateUser deactivate")
		o.stateful(func() {
			if got.Active || got.Attributes["plan"] != "" || got.Attributes["tenant"] != o.prefix || got.Name != name {
				t.Errorf("UpdateUser deactivate = %+v, want inactive, plan removed, tenant and name kept", got)
			}
			read, err := p.GetUser(ctx, user.ID)
			must(t, err, "GetUser after update")
			if read.Active || read.Name != name {
				t.Errorf("GetUser after update = %+v, want inactive %q", read, name)
			}
		})
		active := true
		_, err = p.UpdateUser(ctx, sdk.UpdateUserRequest{ID: user.ID, Active: &active})
		must(t, err, "UpdateUser reactivate")
	})

	t.Run("SetPassword", func(t T) {
		must(t, p.SetPassword(ctx, sdk.SetPasswordRequest{UserID: user.ID, Password: "Correct-Horse-9"}), "SetPassword")
		must(t, p.SetPassword(ctx, sdk.SetPasswordRequest{UserID: user.ID, Password: "Correct-Horse-10", Expired: true}), "SetPassword expired")
		wantCode(t, p.SetPassword(ctx, sdk.SetPasswordRequest{UserID: user.ID}), sdk.CodeInvalid, "SetPassword empty")
	})

	t.Run("GroupMembers", func(t T) {
		must(t, p.AddGroupMember(ctx, group.ID, user.ID), "AddGroupMember")
		must(t, p.AddGroupMember(ctx, group.ID, user.ID), "AddGroupMember again")
		o.stateful(func() {
			got, err := p.GetUser(ctx, user.ID)
			must(t, err, "GetUser")
			if !slices.Contains(got.GroupIDs, group.ID) {
				t.Errorf("GetUser groups = %v, want %s after AddGroupMember", got.GroupIDs, group.ID)
			}
		})
		must(t, p.RemoveGroupMember(ctx, group.ID, user.ID), "RemoveGroupMember")
		o.stateful(func() {
			got, err := p.GetUser(ctx, user.ID)
			must(t, err, "GetUser")
			if slices.Contains(got.GroupIDs, group.ID) {
				t.Errorf("GetUser groups = %v, want %s gone after RemoveGroupMember", got.GroupIDs, group.ID)
			}
		})
	})

	t.Run("SessionsAndAuthenticators", func(t T) {
		n, err := p.TerminateSessions(ctx, user.ID)
		must(t, err, "TerminateSessions")
		if n < 0 {
			t.Errorf("TerminateSessions = %d, want >= 0", n)
		}
		c, err := p.CountAuthenticators(ctx, user.ID)
		must(t, err, "CountAuthenticators")
		sum := 0
		for _, v := range c.ByType {
			sum += v
		}
		if c.Total < 0 || (len(c.ByType) > 0 && sum != c.Total) {
			t.Errorf("CountAuthenticators = %+v, want Total >= 0 equal to the sum of ByType", c)
		}
	})

	t.Run("Recovery", func(t T) {
		link, err := p.RecoveryLink(ctx, user.ID)
		must(t, err, "RecoveryLink")
		if link.OK == (link.URL == "") || (!link.OK && link.Reason == "") {
			t.Errorf("RecoveryLink = %+v, want a URL when OK, a Reason otherwise", link)
		}
		flow, err := p.EnsureRecoveryFlow(ctx)
		must(t, err, "EnsureRecoveryFlow")
		again, err := p.EnsureRecoveryFlow(ctx)
		must(t, err, "EnsureRecoveryFlow again")
		o.stateful(func() {
			if flow.ID == "" || again.ID != flow.ID || again.Created {
				t.Errorf("EnsureRecoveryFlow = %+v then %+v, want the same flow, not created twice", flow, again)
			}
			link, err := p.RecoveryLink(ctx, user.ID)
			must(t, err, "RecoveryLink with flow")
			if !link.OK || link.URL == "" {
				t.Errorf("RecoveryLink after EnsureRecoveryFlow = %+v, want OK with a URL", link)
			}
		})
	})

	t.Run("OIDCApp", func(t T) {
		req := sdk.CreateOIDCAppRequest{
			Slug: o.prefix + "-app", Name: "Conformance App", GroupID: group.ID,
			RedirectURIs: []string{"https://app.example.test/callback"}, LaunchURL: "https://app.example.test/",
		}
		app, err := p.CreateOIDCApp(ctx, req)
		must(t, err, "CreateOIDCApp")
		if app.ID == "" || app.ClientID == "" || app.ClientSecret == "" {
			t.Fatalf("CreateOIDCApp = %+v, want ID, client ID and the one-time client secret", app)
		}
		o.stateful(func() {
			again, err := p.CreateOIDCApp(ctx, req)
			must(t, err, "CreateOIDCApp again")
			if again.ID != app.ID || again.ClientSecret != "" {
				t.Errorf("CreateOIDCApp again = %+v, want ID %q and no client secret", again, app.ID)
			}
			moved := req
			moved.GroupID = other.ID
			_, err = p.CreateOIDCApp(ctx, moved)
			wantCode(t, err, sdk.CodeConflict, "CreateOIDCApp same slug, other group")
			unknown := req
			unknown.Slug, unknown.GroupID = o.prefix+"-app2", missing
			_, err = p.CreateOIDCApp(ctx, unknown)
			wantCode(t, err, sdk.CodeNotFound, "CreateOIDCApp unknown group")
		})
		_, err = p.CreateOIDCApp(ctx, sdk.CreateOIDCAppRequest{Name: "no slug", GroupID: group.ID})
		wantCode(t, err, sdk.CodeInvalid, "CreateOIDCApp without slug")
		must(t, p.DeleteOIDCApp(ctx, app.ID), "DeleteOIDCApp")
		o.stateful(func() {
			wantCode(t, p.DeleteOIDCApp(ctx, app.ID), sdk.CodeNotFound, "DeleteOIDCApp again")
		})
	})

	t.Run("NotFound", func(t T) {
		if o.stateless {
			t.Skip("stateless upstream")
		}
		_, err := p.GetUser(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "GetUser unknown")
		_, err = p.UpdateUser(ctx, sdk.UpdateUserRequest{ID: missing})
		wantCode(t, err, sdk.CodeNotFound, "UpdateUser unknown")
		wantCode(t, p.SetPassword(ctx, sdk.SetPasswordRequest{UserID: missing, Password: "x-Password-1"}), sdk.CodeNotFound, "SetPassword unknown")
		_, err = p.RecoveryLink(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "RecoveryLink unknown")
		_, err = p.TerminateSessions(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "TerminateSessions unknown")
		_, err = p.CountAuthenticators(ctx, missing)
		wantCode(t, err, sdk.CodeNotFound, "CountAuthenticators unknown")
		wantCode(t, p.AddGroupMember(ctx, missing, user.ID), sdk.CodeNotFound, "AddGroupMember unknown group")
		wantCode(t, p.AddGroupMember(ctx, group.ID, missing), sdk.CodeNotFound, "AddGroupMember unknown user")
		wantCode(t, p.RemoveGroupMember(ctx, group.ID, missing), sdk.CodeNotFound, "RemoveGroupMember unknown user")
		wantCode(t, p.DeleteOIDCApp(ctx, missing), sdk.CodeNotFound, "DeleteOIDCApp unknown")
	})

	t.Run("ListEvents", func(t T) {
		seen := map[string]bool{}
		cursor := ""
		for page := 0; page < 3; page++ {
			got, err := p.ListEvents(ctx, sdk.ListEventsRequest{Cursor: cursor, Limit: 2})
			must(t, err, "ListEvents")
			if len(got.Events) > 2 {
				t.Fatalf("ListEvents(limit 2) returned %d events", len(got.Events))
			}
			for _, e := range got.Events {
				if e.ID == "" || e.Action == "" {
					t.Errorf("ListEvents event %+v: want ID and Action", e)
				}
				if seen[e.ID] {
					t.Errorf("ListEvents: event %s returned twice while paging", e.ID)
				}
				seen[e.ID] = true
			}
			if len(got.Events) == 0 {
				break
			}
			cursor = got.NextCursor
		}
		o.stateful(func() {
			if len(seen) == 0 {
				t.Errorf("ListEvents: no events after creating and changing users")
			}
		})
	})

	t.Run("DeleteUser", func(t T) {
		must(t, p.DeleteUser(ctx, user.ID), "DeleteUser")
		o.stateful(func() {
			_, err := p.GetUser(ctx, user.ID)
			wantCode(t, err, sdk.CodeNotFound, "GetUser after delete")
			wantCode(t, p.DeleteUser(ctx, user.ID), sdk.CodeNotFound, "DeleteUser again")
		})
	})

	t.Run("ConcurrentEnsure", func(t T) {
		ids := make([]string, o.parallel)
		parallel(t, o.parallel, func(i int) error {
			g, err := p.EnsureGroup(ctx, sdk.EnsureGroupRequest{Name: o.prefix + "-parallel"})
			ids[i] = g.ID
			return err
		})
		o.stateful(func() { sameIDs(t, "EnsureGroup", ids) })
	})
}

func containsAll(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
