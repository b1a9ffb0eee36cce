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
// # Jobs on river
//
// Provisioning runs as river jobs (package jobs, kind JobKind), one per
// tenant and integration, so each integration's status stays its own. A
// change that needs provisioning (tenant created, plan, seats, domains,
// name or status changed, reconcile requested) marks the affected
// integrations PENDING and inserts their jobs with jobs.Engine.InsertTx in
// the same transaction as the change, through the tenancy.Lifecycle hook:
// the change and its jobs commit or roll back together, so no crash can
// lose them and a rolled-back change never runs anything.
//
// Deduplication is river's unique jobs, keyed by tenant, integration and
// generation. Each status row carries the integration's generation: a
// change queues the job of the current generation, merging with it while
// it exists unfinished (steps read the tenant's current state when they
// run), and a job moves the generation on when it starts. A change
// committed while a job runs (which may have read the tenant already)
// therefore queues a job of the next generation instead of merging into
// the running one. The status row is locked by the change's upsert until
// it commits, so a job cannot start between reading the generation and
// committing the job. A retry of a job that a later generation's job has
// started since is superseded and ends without calling the provider.
//
// River runs each job on exactly one replica at a time. A failed step is
// retried by river at Config.Backoff (exponential, NextRetry) up to
// Config.MaxAttempts; then river discards the job and the integration
// stays in ERROR, with the provider's message, until the next change or a
// reconcile re-drives it. A request the provider rejects as INVALID is not
// retried (the same request cannot succeed): the job is cancelled, ERROR
// until the next change or reconcile. A step runs at most
// Config.StepTimeout; a job whose replica died mid-step is handed back by
// river's rescuer after the engine's RescueAfter and retried on any
// replica. Steps are idempotent (see above), so a step cut short by a
// crash converges on its retry.
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
