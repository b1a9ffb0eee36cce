// Package schematype holds the Go types stored in JSON columns of the ent
// schema and bound to GraphQL types by gqlgen.
package schematype

import "time"

// FlagScope narrows a targeted or rollout flag. An empty axis matches
// everything; a targeted flag needs at least one non-empty axis.
type FlagScope struct {
	Plans        []string `json:"plans"`
	TenantSlugs  []string `json:"tenantSlugs"`
	PartnerSlugs []string `json:"partnerSlugs"`
	Environments []string `json:"environments"`
}

// Empty reports whether no axis is set.
func (s FlagScope) Empty() bool {
	return len(s.Plans) == 0 && len(s.TenantSlugs) == 0 && len(s.PartnerSlugs) == 0 && len(s.Environments) == 0
}

// FlagChange is one entry of a flag's change history.
type FlagChange struct {
	At         time.Time `json:"at"`
	ActorID    string    `json:"actorId"`
	ActorEmail string    `json:"actorEmail"`
	State      string    `json:"state"`
	Pct        int       `json:"pct"`
	Note       string    `json:"note"`
}

// EmailTemplate overrides one transactional e-mail: Key is one of the fixed
// template keys (package tenantadmin lists them), Subject and Body are Go
// text/template sources using only that key's placeholders.
type EmailTemplate struct {
	Key     string `json:"key"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// DNSRecordCheck is one DNS record a mail domain needs, with what the last
// check found: Purpose is OWNERSHIP, MX, SPF, DKIM or DMARC; Expected the
// value to publish at Name (type Type); Found the values the resolver
// answered; Status OK, MISSING (nothing of the kind published) or MISMATCH
// (published, but not the expected value).
type DNSRecordCheck struct {
	Purpose  string   `json:"purpose"`
	Type     string   `json:"type"`
	Name     string   `json:"name"`
	Expected string   `json:"expected"`
	Found    []string `json:"found"`
	Status   string   `json:"status"`
}

// Money is an amount in minor units (cents) of an ISO 4217 currency
// (upper case, e.g. EUR). Money is never a float.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ProviderPrice is the billing provider's price object minted for one
// currency of a catalog price, with the amount it was minted at. Provider
// prices are immutable: an amount change mints a new one and replaces the
// entry.
type ProviderPrice struct {
	Currency        string `json:"currency"`
	ProviderPriceID string `json:"providerPriceId"`
	Amount          int64  `json:"amount"`
}
