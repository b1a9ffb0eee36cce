// Package graph is the GraphQL layer: gqlgen resolvers that only translate
// between GraphQL and the domain services (tenancy, flags, audit,
// provisioning, members, health) or the ent client. They hold no business rules and build no SQL; tenancy is enforced
// by the ent privacy rules underneath, so a resolver cannot leak.
package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/auditstream"
	"github.com/dezky/platform/internal/billing"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/health"
	"github.com/dezky/platform/internal/maildomains"
	"github.com/dezky/platform/internal/members"
	"github.com/dezky/platform/internal/payouts"
	"github.com/dezky/platform/internal/pricing"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/reports"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/tenantadmin"
	"github.com/dezky/platform/internal/webhooks"
)

// Resolver is the root resolver.
type Resolver struct {
	client       *ent.Client
	tenancy      *tenancy.Service
	flags        *flags.Service
	provisioning *provisioning.Service
	pricing      *pricing.Service
	health       *health.Checker
	webhooks     *webhooks.Service
	streams      *auditstream.Service
	audit        *audit.Service
	auditFeed    *audit.Feed
	archive      *archive.Service
	admin        *tenantadmin.Service
	members      *members.Service
	mailDomains  *maildomains.Service
	billing      *billing.Service
	payouts      *payouts.Service
	reports      *reports.Service
}

// Services are what the resolvers delegate to.
type Services struct {
	Client       *ent.Client
	Tenancy      *tenancy.Service
	Flags        *flags.Service
	Provisioning *provisioning.Service
	Pricing      *pricing.Service
	Health       *health.Checker
	Audit        *audit.Service
	AuditFeed    *audit.Feed
	Archive      *archive.Service
	Admin        *tenantadmin.Service
	Members      *members.Service
	MailDomains  *maildomains.Service
	Billing      *billing.Service
	Payouts      *payouts.Service
	Reports      *reports.Service
	Webhooks     *webhooks.Service
	Streams      *auditstream.Service
}

// NewSchema returns the executable schema.
func NewSchema(c Services) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: &Resolver{
		client: c.Client, tenancy: c.Tenancy, flags: c.Flags, provisioning: c.Provisioning, pricing: c.Pricing, health: c.Health, audit: c.Audit, auditFeed: c.AuditFeed, archive: c.Archive, members: c.Members,
		admin:       c.Admin,
		mailDomains: c.MailDomains,
		billing:     c.Billing,
		payouts:     c.Payouts,
		reports:     c.Reports,
		webhooks:    c.Webhooks, streams: c.Streams,
	}})
}
