// Package demo seeds the embedded default with demo data, once: an
// operator; partner "northwind" with one staff user (access level ADMIN); tenants "acme" (partner
// northwind) and "globex" (direct), each with an admin and a member; and the
// ten seed feature flags. Seeding goes through the domain services as the
// system viewer, so it is audited like any other change. A database that
// already holds the demo operator is left alone.
package demo

import (
	"context"
	"fmt"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
)

// Subjects of the demo users (the OIDC sub claim of their tokens).
const (
	OperatorSubject = "demo-operator"
)

// User is one demo user.
type User struct {
	Subject, Email, Name string
	PlatformAdmin        bool
	Partner              string // partner slug the user is staff of
	Tenant               string // tenant slug of the membership
	Role                 membership.Role
}

// Users are the demo users.
var Users = []User{
	{Subject: OperatorSubject, Email: "operator@dezky.local", Name: "Olga Operator", PlatformAdmin: true},
	{Subject: "demo-northwind-staff", Email: "staff@northwind.example", Name: "Nils Northwind", Partner: "northwind"},
	{Subject: "demo-acme-admin", Email: "admin@acme.example", Name: "Ada Acme", Tenant: "acme", Role: membership.RoleAdmin},
	{Subject: "demo-acme-member", Email: "member@acme.example", Name: "Max Acme", Tenant: "acme", Role: membership.RoleMember},
	{Subject: "demo-globex-admin", Email: "admin@globex.example", Name: "Greta Globex", Tenant: "globex", Role: membership.RoleAdmin},
	{Subject: "demo-globex-member", Email: "member@globex.example", Name: "Gus Globex", Tenant: "globex", Role: membership.RoleMember},
}

// Flags are the ten seed feature flags.
var Flags = []flags.CreateFlagInput{
	newFlag("jmap_native_v2", "Native JMAP client for webmail", flag.StateRollout, 25, schematype.FlagScope{}),
	newFlag("gdpr_export_v2", "Self-service GDPR data export", flag.StateTargeted, 0, schematype.FlagScope{Plans: []string{"BUSINESS", "ENTERPRISE"}}),
	newFlag("new_billing_engine", "Stripe-backed billing engine", flag.StateOff, 0, schematype.FlagScope{}),
	newFlag("oci_versioning", "File versioning in storage spaces", flag.StateOn, 0, schematype.FlagScope{}),
	newFlag("collabora_editing", "Collaborative office editing", flag.StateTargeted, 0, schematype.FlagScope{Environments: []string{"development", "staging"}}),
	newFlag("mfa_enforcement", "Tenant-wide MFA enforcement policy", flag.StateRollout, 50, schematype.FlagScope{Plans: []string{"ENTERPRISE", "BUSINESS"}}),
	newFlag("partner_whitelabel", "Partner white-label branding", flag.StateTargeted, 0, schematype.FlagScope{PartnerSlugs: []string{"northwind"}}),
	newFlag("audit_cold_storage", "Audit archive to object storage", flag.StateOff, 0, schematype.FlagScope{}),
	newFlag("sso_apps", "Customer SSO applications (Dezky as IdP)", flag.StateOn, 0, schematype.FlagScope{}),
	newFlag("storage_quota_alerts", "Storage quota alert e-mails", flag.StateRollout, 10, schematype.FlagScope{}),
}

func newFlag(key, desc string, st flag.State, pct int, scope schematype.FlagScope) flags.CreateFlagInput {
	return flags.CreateFlagInput{Key: key, Description: &desc, State: &st, Pct: &pct, Scope: &scope}
}

// Seed writes the demo data unless it is already there, creating the
// tenants through ts (so its lifecycle hook, such as provisioning, sees
// them). It reports whether it seeded.
func Seed(ctx context.Context, client *ent.Client, ts *tenancy.Service, environment string) (bool, error) {
	ctx = viewer.SystemContext(ctx)
	if n, err := client.User.Query().Where(user.Subject(OperatorSubject)).Count(ctx); err != nil {
		return false, fmt.Errorf("demo: check: %w", err)
	} else if n > 0 {
		return false, nil
	}
	fs := flags.New(client, environment)
	err := db.WithTx(ctx, client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		partner, err := ts.CreatePartner(ctx, tenancy.CreatePartnerInput{
			Slug: "northwind", Name: "Northwind Reseller", Domain: ptr("northwind.example"),
			MarginPct: ptr(25), ContactName: ptr("Nils Northwind"), ContactEmail: ptr("staff@northwind.example"),
			BillingCountry: ptr("NL"),
		})
		if err != nil {
			return err
		}
		business, starter := tenant.PlanBusiness, tenant.PlanStarter
		tenants := map[string]*ent.Tenant{}
		for _, in := range []tenancy.CreateTenantInput{
			{Slug: "acme", Name: "Acme GmbH", Plan: &business, Seats: ptr(25), PartnerSlug: &partner.Slug, Domains: []string{"acme.example"}},
			{Slug: "globex", Name: "Globex B.V.", Plan: &starter, Seats: ptr(10), Domains: []string{"globex.example"}},
		} {
			t, err := ts.CreateTenant(ctx, in)
			if err != nil {
				return err
			}
			tenants[t.Slug] = t
		}
		for _, u := range Users {
			create := c.User.Create().SetSubject(u.Subject).SetEmail(u.Email).SetName(u.Name).SetPlatformAdmin(u.PlatformAdmin)
			if u.Partner != "" {
				create.SetPartnerID(partner.ID).SetAccessLevel(user.AccessLevelAdmin)
			}
			row, err := create.Save(ctx)
			if err != nil {
				return fmt.Errorf("create user %s: %w", u.Email, err)
			}
			if u.Tenant != "" {
				if _, err := c.Membership.Create().SetUserID(row.ID).SetTenantID(tenants[u.Tenant].ID).SetRole(u.Role).Save(ctx); err != nil {
					return fmt.Errorf("create membership %s: %w", u.Email, err)
				}
			}
		}
		for _, f := range Flags {
			if _, err := fs.Create(ctx, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("demo: seed: %w", err)
	}
	return true, nil
}

func ptr[T any](v T) *T { return &v }
