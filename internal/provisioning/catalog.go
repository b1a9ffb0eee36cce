package provisioning

import "github.com/dezky/platform/ent/tenant"

// PlanSpec is what a plan provisions: the storage quota and the per-seat
// monthly price (UnitAmount 0: the plan is not billed).
type PlanSpec struct {
	Name       string
	QuotaBytes int64
	Currency   string // ISO 4217, lower case
	UnitAmount int64  // minor units per seat and month
}

// Priced reports whether the plan is billed.
func (p PlanSpec) Priced() bool { return p.UnitAmount > 0 }

const gib = int64(1) << 30

// DefaultCatalog is the plan catalog used when Config.Catalog is nil.
var DefaultCatalog = map[tenant.Plan]PlanSpec{
	tenant.PlanFree:       {Name: "Dezky Free", QuotaBytes: 5 * gib, Currency: "eur"},
	tenant.PlanStarter:    {Name: "Dezky Starter", QuotaBytes: 100 * gib, Currency: "eur", UnitAmount: 600},
	tenant.PlanBusiness:   {Name: "Dezky Business", QuotaBytes: 1024 * gib, Currency: "eur", UnitAmount: 1200},
	tenant.PlanEnterprise: {Name: "Dezky Enterprise", QuotaBytes: 5 * 1024 * gib, Currency: "eur", UnitAmount: 2400},
}
