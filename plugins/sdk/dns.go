package sdk

import "context"

// DNS looks records up against the configured resolvers and, optionally,
// changes records in hosted zones (RFC 2136).
//
// Contract, checked by conformance.RunDNS:
//   - Lookup of a name with no records of the type returns an empty
//     result and no error; resolver failures are UNAVAILABLE; an empty
//     name or unknown type is INVALID.
//   - UpsertRecord replaces the records of (Name, Type) in the zone;
//     DeleteRecord removes a record and fails with NOT_FOUND when it does
//     not exist. Providers without dynamic updates return UNSUPPORTED; an
//     update the server refuses for that zone (it does not host it, or
//     the key may not change it) is UNAUTHENTICATED, so a caller can try
//     the enclosing zones of a name to find the one it may update.
type DNS interface {
	Lookup(ctx context.Context, req LookupRequest) (LookupResult, error)
	UpsertRecord(ctx context.Context, req RecordChange) error
	DeleteRecord(ctx context.Context, req RecordChange) error
}

// LookupRequest asks for the records of Type at Name.
type LookupRequest struct {
	Name string
	Type string
}

// LookupResult holds the records found and the resolver that answered.
type LookupResult struct {
	Records  []DNSRecord
	Resolver string
}

// RecordChange names a zone and one record in it.
type RecordChange struct {
	Zone   string
	Record DNSRecord
}
