package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/tenantadmin"
	"github.com/dezky/platform/internal/viewer"
)

// SeedSettings gives the demo tenants a security policy and branding:
// acme requires MFA from two countries and one office network, partner
// northwind white-labels its customers and acme overrides the accent
// colour and the invitation e-mail. Call it once, right after Seed seeded.
func SeedSettings(ctx context.Context, admin *tenantadmin.Service) error {
	ctx = viewer.SystemContext(ctx)
	required := tenantadmin.MfaRequired
	idle, hours := 30, 10
	if _, err := admin.UpdateSecurityPolicy(ctx, "acme", tenantadmin.UpdateSecurityPolicyInput{
		MfaMode: &required, SessionIdleMinutes: &idle, SessionMaxHours: &hours,
		AllowedCountries: []string{"DE", "NL"}, IPAllowlist: []string{"203.0.113.0/24"},
	}); err != nil {
		return fmt.Errorf("demo: security policy: %w", err)
	}
	set := func(v string) tenancy.Clearable { return tenancy.Clearable{Set: true, Value: &v} }
	if _, err := admin.UpdatePartnerBranding(ctx, "northwind", tenantadmin.BrandingInput{
		ProductName: set("Northwind Workspace"), AccentColor: set("#0e7490"), LogoURL: set("https://northwind.example/logo.svg"),
	}); err != nil {
		return fmt.Errorf("demo: partner branding: %w", err)
	}
	if _, err := admin.UpdateTenantBranding(ctx, "acme", tenantadmin.BrandingInput{
		AccentColor: set("#f59e0b"),
		EmailTemplates: []schematype.EmailTemplate{{Key: "member_invite", Subject: "Welcome to {{.TenantName}}",
			Body: "Hello {{.MemberName}},\n\n{{.InviterName}} added you to {{.TenantName}} on {{.ProductName}}: {{.InviteURL}}\n"}},
	}); err != nil {
		return fmt.Errorf("demo: tenant branding: %w", err)
	}
	return nil
}

// DemoSsoAppName is the SSO application the demo creates for acme.
const DemoSsoAppName = "Acme Wiki"

// SeedSsoApp creates acme's demo SSO application once acme's identity
// group is provisioned (polling until ctx ends or a minute passed). Its
// client secret is not kept: create another app to see one.
func SeedSsoApp(ctx context.Context, admin *tenantadmin.Service, prov *provisioning.Service, ts *tenancy.Service) error {
	ctx = viewer.SystemContext(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		t, err := ts.TenantBySlug(ctx, "acme")
		if err != nil {
			return err
		}
		sts, err := prov.Statuses(ctx, t)
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.Integration == provisioning.Identity && st.Status == provisioning.StatusOK {
				apps, err := admin.SsoApps(ctx, t)
				if err != nil || len(apps) > 0 {
					return err
				}
				_, err = admin.CreateSsoApp(ctx, "acme", tenantadmin.CreateSsoAppInput{
					Name: DemoSsoAppName, RedirectURIs: []string{"https://wiki.acme.example/oidc/callback", "http://localhost:3000/callback"}})
				return err
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: acme's identity group was not provisioned within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
