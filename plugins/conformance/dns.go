package conformance

import (
	"slices"

	"github.com/dezky/platform/plugins/sdk"
)

// dnsSuite checks p against the sdk.DNS contract. The record-change checks
// run only with WithDNSZone.
func dnsSuite(t T, p sdk.DNS, opts ...Option) {
	o := apply(opts)
	ctx := testContext(t)

	t.Run("LookupErrors", func(t T) {
		_, err := p.Lookup(ctx, sdk.LookupRequest{Type: "TXT"})
		wantCode(t, err, sdk.CodeInvalid, "Lookup without name")
		_, err = p.Lookup(ctx, sdk.LookupRequest{Name: "example.test", Type: "BOGUS"})
		wantCode(t, err, sdk.CodeInvalid, "Lookup unknown type")
	})

	t.Run("LookupMissing", func(t T) {
		name := o.prefix + ".missing.invalid"
		if o.dnsZone != "" {
			name = o.prefix + "-missing." + o.dnsZone
		}
		res, err := p.Lookup(ctx, sdk.LookupRequest{Name: name, Type: "TXT"})
		must(t, err, "Lookup of a name without records")
		if len(res.Records) != 0 {
			t.Errorf("Lookup(%s) = %+v, want no records", name, res.Records)
		}
	})

	t.Run("RecordChanges", func(t T) {
		if o.dnsZone == "" {
			t.Skip("no zone (WithDNSZone)")
		}
		name := o.prefix + "-verify." + o.dnsZone
		rec := sdk.DNSRecord{Name: name, Type: "TXT", Value: "dezky-verify=" + o.prefix, TTL: 60}
		err := p.UpsertRecord(ctx, sdk.RecordChange{Zone: o.dnsZone, Record: rec})
		if sdk.IsUnsupported(err) {
			t.Skipf("provider has no dynamic updates: %v", err)
		}
		must(t, err, "UpsertRecord")
		lookup := func() []string {
			res, err := p.Lookup(ctx, sdk.LookupRequest{Name: name, Type: "TXT"})
			must(t, err, "Lookup")
			var vals []string
			for _, r := range res.Records {
				vals = append(vals, r.Value)
			}
			return vals
		}
		if got := lookup(); !slices.Contains(got, rec.Value) {
			t.Errorf("Lookup after UpsertRecord = %q, want %q", got, rec.Value)
		}
		rec2 := rec
		rec2.Value = "dezky-verify=" + o.prefix + "-2"
		must(t, p.UpsertRecord(ctx, sdk.RecordChange{Zone: o.dnsZone, Record: rec2}), "UpsertRecord replace")
		if got := lookup(); !slices.Equal(got, []string{rec2.Value}) {
			t.Errorf("Lookup after replacing = %q, want only %q", got, rec2.Value)
		}
		must(t, p.DeleteRecord(ctx, sdk.RecordChange{Zone: o.dnsZone, Record: rec2}), "DeleteRecord")
		if got := lookup(); len(got) != 0 {
			t.Errorf("Lookup after DeleteRecord = %q, want none", got)
		}
		wantCode(t, p.DeleteRecord(ctx, sdk.RecordChange{Zone: o.dnsZone, Record: rec2}), sdk.CodeNotFound, "DeleteRecord again")
	})

	t.Run("ConcurrentLookup", func(t T) {
		name := o.prefix + "-parallel.missing.invalid"
		if o.dnsZone != "" {
			name = o.prefix + "-parallel." + o.dnsZone
		}
		parallel(t, o.parallel, func(int) error {
			_, err := p.Lookup(ctx, sdk.LookupRequest{Name: name, Type: "TXT"})
			return err
		})
	})
}
