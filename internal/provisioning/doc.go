// Package provisioning drives a tenant's upstream integrations through the
// provider plugins and records the outcome per integration.
//
// # Integrations and steps
//
// Four integrations are provisioned, each by one idempotent step that
// converges the upstream to the tenant's current state:
//
//   - IDENTITY (identity capability): the tenant's group, ensured by name
//     "tenant-<slug>".
//   - STORAGE (storage capability): the tenant's project space, ensured by
//     tenant key <slug> with the plan's quota (Catalog).
//   - BILLING (billing capability): the customer (external key
//     "tenant:<slug>") and, for a priced plan with seats ≥ 1, a
//     send_invoice subscription whose quantity follows the seats, paused
//     while the tenant is suspended and canceled when it is deleted.
//   - MAIL (mail capability): the primary (first) domain, when the tenant
//     has one.
//
// Every upstream object is keyed by a stable external key derived from the
// tenant slug, so a step may run any number of times and a crash at any
// point (in the plugin, the upstream or this process) converges on the
// next run without orphaned or duplicated objects. ReconcileTenant simply
// re-drives every step; Plan reports what a reconcile would change using
// read-only provider calls only.
//
// The recorded status per integration is PENDING (queued or running), OK,
// ERROR (with the provider's message; the job is retried with backoff) or
// SKIPPED (no plugin is configured for the capability). The upstream IDs a
// step produced are stored with the status.
//
// # Durable jobs
//
// A change that needs provisioning (tenant created, plan, seats, domains,
// name or status changed, reconcile requested) inserts one job row per
// affected integration in the same transaction as the change, through the
// tenancy.Lifecycle hook: the change and its jobs commit or roll back
// together, so no crash can lose them. An unclaimed job for the same
// tenant and integration is reused instead of duplicated (steps read the
// tenant's current state when they run).
//
// Worker (Run) claims one due job at a time: on PostgreSQL with SELECT …
// FOR UPDATE SKIP LOCKED, so any number of replicas share the queue and
// each job runs on exactly one of them; on SQLite the database has a single
// writer (the embedded deployment is one process). A claim is a lease
// (Config.Lease): a job whose worker died becomes claimable again when the
// lease expires (on SQLite, Run releases every claim at start: the one
// process that could hold them is gone). A step is cancelled before its
// lease ends, so a slow step is retried rather than run twice at once. A
// successful job is deleted; a failed one is rescheduled with exponential
// backoff (Config.Backoff) and dropped after Config.MaxAttempts, leaving
// the integration in ERROR until the next change or reconcile. A request
// the provider rejects as INVALID is not retried (the same request cannot
// succeed): ERROR until the next change or reconcile. Committed jobs wake
// the local worker at once; other replicas find them by polling
// (Config.Poll).
//
// A maintained queue (river, which serves PostgreSQL and SQLite) was
// evaluated first and not adopted: its jobs can only be inserted in the
// same transaction through its own driver transaction (pgx or
// database/sql), not through an ent transaction, and its tables are
// managed by its own migrator outside the versioned migration files that
// db.Migrate applies and that the schema test checks. The queue here is
// two ent tables (ProvisioningJob, ProvisioningState) and one claim query.
//
// # Audit
//
// Every provider call a step makes is recorded as an audit event
// "provider.<integration>.<what>" (for example
// provider.billing.subscription_created) with outcome SUCCESS or FAILURE,
// attributed to the system viewer and scoped to the tenant, in its own
// transaction after the call: the upstream change happened whether or not
// anything else commits. Plan's read-only calls change nothing and are not
// recorded.
//
// # Access
//
// Tenant visibility is the tenancy service's: a tenant the viewer cannot
// see is NOT_FOUND. ReconcileTenant and Plan are for operators and for
// partner staff on their partner's tenants (FORBIDDEN for others);
// Statuses for anyone who can see the tenant.
package provisioning
