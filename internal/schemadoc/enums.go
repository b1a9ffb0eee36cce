package schemadoc

// enumValues describes the values of the enums ent generates from enum
// fields (ent has no place for per-value comments), keyed "Enum.VALUE".
var enumValues = map[string]string{
	"TenantPlan.FREE":       "Free plan: no billing subscription.",
	"TenantPlan.STARTER":    "Starter plan.",
	"TenantPlan.BUSINESS":   "Business plan.",
	"TenantPlan.ENTERPRISE": "Enterprise plan.",

	"TenantStatus.PENDING":   "Created and not yet in service.",
	"TenantStatus.ACTIVE":    "In service.",
	"TenantStatus.SUSPENDED": "Suspended: its services are paused upstream until resumed.",
	"TenantStatus.DELETED":   "Deleted (soft): hidden from lists; the slug stays reserved.",

	"PartnerStatus.ACTIVE":     "Selling and serving customers.",
	"PartnerStatus.ONBOARDING": "Being set up; not selling yet.",
	"PartnerStatus.SUSPENDED":  "Suspended by the platform.",
	"PartnerStatus.TERMINATED": "Terminated (soft delete): the partnership ended.",

	"MembershipRole.ADMIN":  "Administers the tenant: its settings, members and audit trail.",
	"MembershipRole.MEMBER": "Uses the tenant's services; sees only their own membership.",

	"FlagState.OFF":      "Off for everyone.",
	"FlagState.ON":       "On for everyone.",
	"FlagState.TARGETED": "On for tenants in the flag's scope (which must not be empty).",
	"FlagState.ROLLOUT":  "On for pct percent of the tenants in scope, chosen by a stable per-tenant bucket.",

	"MembershipStatus.PENDING":   "Added; its integrations are being provisioned for the first time.",
	"MembershipStatus.ACTIVE":    "In service.",
	"MembershipStatus.SUSPENDED": "Suspended: SSO user deactivated and mailbox frozen; the password is kept.",
	"MembershipStatus.REMOVING":  "Being removed: the teardown runs and the membership grants no access.",

	"UserAccessLevel.ADMIN": "Partner staff who manage the partner's team.",
	"UserAccessLevel.STAFF": "Partner staff who serve the partner's customers.",

	"AuditStreamKind.HTTP":      "Batched JSON POSTs to an HTTP collector.",
	"AuditStreamKind.S3":        "One JSON Lines object per batch in S3-compatible storage.",
	"AuditStreamScope.TENANT":   "The events of one tenant (configured by its admins).",
	"AuditStreamScope.PLATFORM": "Every event (operators).",

	"WebhookEndpointStatus.ACTIVE":   "Receiving deliveries.",
	"WebhookEndpointStatus.DISABLED": "Not receiving: turned off, or failing past the retry horizon. Re-enabling resumes at its cursor.",
	"WebhookDeliveryKind.EVENT":      "An audit event, in seq order.",
	"WebhookDeliveryKind.TEST":       "A test message from sendTestWebhook.",
	"WebhookDeliveryKind.REDELIVERY": "An event sent again by redeliverWebhook.",
	"WebhookEndpointScope.TENANT":    "The events of one tenant.",
	"WebhookEndpointScope.PARTNER":   "The events of a partner and its tenants.",
	"WebhookEndpointScope.PLATFORM":  "Every event (operators).",

	"AuditEventOutcome.SUCCESS": "The action succeeded.",
	"AuditEventOutcome.FAILURE": "The action failed.",
	"AuditEventOutcome.DENIED":  "The action was refused (authentication or authorisation).",
}
