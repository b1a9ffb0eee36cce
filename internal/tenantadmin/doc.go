// Package tenantadmin implements the customer-admin and partner settings
// of a tenant: its security policy, its SSO applications at the identity
// provider, its branding and e-mail templates (with the partner's
// white-label branding and settings), and its storage usage.
//
// Every change runs in the caller's transaction (the GraphQL mutation's),
// is validated before anything is written (BAD_USER_INPUT naming the
// field), and is recorded in the audit trail in that transaction. Access
// is checked here, with a clear FORBIDDEN, and again by the ent privacy
// rules of the rows (package rule): tenant admins, the staff of the
// tenant's partner and operators change a tenant's settings; partner
// staff and operators a partner's.
package tenantadmin
