// Package billing is what a tenant's admins (and its partner's staff and
// operators) manage of how the tenant pays, and how the billing provider's
// news reaches the platform:
//
//   - billing details (company name, VAT number, country, billing e-mail),
//     validated and kept here, and mirrored to the provider's customer by
//     the tenant's billing job (package provisioning);
//   - the payment method: a setup intent whose client secret is shown once
//     (never stored, logged, audited or replayed), and the default card as
//     the provider describes it (brand, last four digits, expiry);
//   - invoices, whose source of truth is the provider: cached here, read
//     from the provider periodically and on demand, and kept current by
//     webhooks;
//   - the signed billing webhook, POST /webhooks/billing: verified by the
//     billing plugin, deduplicated by event id (a redelivery writes
//     nothing), applied so that any arrival order leaves the same state
//     (an invoice status never moves back; subscription and card changes
//     older than the last applied one are ignored), and audited as
//     billing.<event type>;
//   - the tenant's dashboard: seats, plan, monthly spend, renewal and
//     recent audit events.
package billing
