// Package tenancy owns tenants, partners, users and memberships: their
// validation, lifecycle rules and audit events.
//
// Every write runs in a transaction (joining the GraphQL mutation's when
// there is one) and records its audit event in that same transaction.
// Visibility is enforced by the ent privacy rules (package rule): a tenant or
// partner the viewer cannot see is reported as NOT_FOUND, never FORBIDDEN,
// so its existence does not leak. Operator-only operations check the role
// first, so a non-operator gets FORBIDDEN before any input validation.
//
// Optional string inputs follow one convention: absent leaves a field as it
// is, and blank (or null) unsets it; a blank value is never a validation
// error.
package tenancy
