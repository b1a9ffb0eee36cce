package testprovider

import (
	"context"
	"slices"
	"strings"

	"github.com/dezky/platform/plugins/sdk"
)

var recordTypes = []string{"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SRV", "TXT"}

func normName(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func recordKey(name, typ string) string { return normName(name) + "|" + strings.ToUpper(typ) }

func checkRecord(name, typ string) error {
	if normName(name) == "" {
		return sdk.Invalid("record name is required")
	}
	if !slices.Contains(recordTypes, strings.ToUpper(typ)) {
		return sdk.Invalid("unsupported record type %q", typ)
	}
	return nil
}

// Lookup implements sdk.DNS against the in-memory zone data.
func (p *Provider) Lookup(_ context.Context, req sdk.LookupRequest) (sdk.LookupResult, error) {
	if err := checkRecord(req.Name, req.Type); err != nil {
		return sdk.LookupResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return sdk.LookupResult{Records: slices.Clone(p.records[recordKey(req.Name, req.Type)]), Resolver: "memory"}, nil
}

func inZone(zone, name string) bool {
	z, n := normName(zone), normName(name)
	return z != "" && (n == z || strings.HasSuffix(n, "."+z))
}

// UpsertRecord implements sdk.DNS: it replaces the records of the name
// and type with the given one.
func (p *Provider) UpsertRecord(_ context.Context, req sdk.RecordChange) error {
	r := req.Record
	if err := checkRecord(r.Name, r.Type); err != nil {
		return err
	}
	if !inZone(req.Zone, r.Name) {
		return sdk.Invalid("record %q is outside zone %q", r.Name, req.Zone)
	}
	r.Name, r.Type = normName(r.Name), strings.ToUpper(r.Type)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records[recordKey(r.Name, r.Type)] = []sdk.DNSRecord{r}
	return nil
}

// DeleteRecord implements sdk.DNS. An empty Value deletes every record of
// the name and type.
func (p *Provider) DeleteRecord(_ context.Context, req sdk.RecordChange) error {
	r := req.Record
	if err := checkRecord(r.Name, r.Type); err != nil {
		return err
	}
	key := recordKey(r.Name, r.Type)
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := p.records[key]
	kept := slices.DeleteFunc(slices.Clone(rs), func(x sdk.DNSRecord) bool { return r.Value == "" || x.Value == r.Value })
	if len(kept) == len(rs) {
		return sdk.NotFound("no %s record %q with that value", r.Type, r.Name)
	}
	if len(kept) == 0 {
		delete(p.records, key)
	} else {
		p.records[key] = kept
	}
	return nil
}
