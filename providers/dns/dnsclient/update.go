package dnsclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// DefaultTTL is used for updated records whose TTL is zero.
const DefaultTTL = 300

// tsigFudge is the allowed clock skew for TSIG signatures, in seconds
// (RFC 8945 recommends 300).
const tsigFudge = 300

// UpsertRecord makes rec present in zone. For CNAME the record replaces any
// CNAME at the name; for other types it is added to the record set (adding
// an existing record only refreshes its TTL), so other values at the same
// name, such as an SPF record next to an ownership token, are kept.
func (c *Client) UpsertRecord(ctx context.Context, zone string, rec Record) error {
	const op = "UpsertRecord"
	z, rr, err := c.prepareUpdate(op, zone, rec)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(z)
	if rec.Type == TypeCNAME {
		m.RemoveRRset([]dns.RR{rr})
	}
	m.Insert([]dns.RR{rr})
	return c.sendUpdate(ctx, op, m, rec)
}

// ReplaceRecords atomically replaces the record set of typ at name with
// recs (all of which must have that name and type). An empty recs deletes
// the record set.
func (c *Client) ReplaceRecords(ctx context.Context, zone, name string, typ RecordType, recs []Record) error {
	const op = "ReplaceRecords"
	probe := Record{Name: name, Type: typ, Value: placeholderValue(typ)}
	z, probeRR, err := c.prepareUpdate(op, zone, probe)
	if err != nil {
		return err
	}
	if typ == TypeCNAME && len(recs) > 1 {
		return invalidf(op, "a name can hold only one CNAME")
	}
	rrs := make([]dns.RR, 0, len(recs))
	for _, rec := range recs {
		if rec.Type != typ || dns.CanonicalName(rec.Name) != probeRR.Header().Name {
			return invalidf(op, "record %s %s does not match %s %s", rec.Name, rec.Type, name, typ)
		}
		_, rr, err := c.prepareUpdate(op, zone, rec)
		if err != nil {
			return err
		}
		rrs = append(rrs, rr)
	}
	m := new(dns.Msg)
	m.SetUpdate(z)
	m.RemoveRRset([]dns.RR{probeRR})
	if len(rrs) > 0 {
		m.Insert(rrs)
	}
	return c.sendUpdate(ctx, op, m, probe)
}

// DeleteRecord removes rec from zone. With an empty rec.Value the whole
// record set of rec.Type at rec.Name is removed. Deleting something that
// does not exist succeeds.
func (c *Client) DeleteRecord(ctx context.Context, zone string, rec Record) error {
	const op = "DeleteRecord"
	whole := rec.Value == ""
	if whole {
		rec.Value = placeholderValue(rec.Type)
	}
	z, rr, err := c.prepareUpdate(op, zone, rec)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(z)
	if whole {
		m.RemoveRRset([]dns.RR{rr})
	} else {
		m.Remove([]dns.RR{rr})
	}
	return c.sendUpdate(ctx, op, m, rec)
}

// RecordExists reports whether rec (or, with an empty Value, any record of
// rec.Type at rec.Name) is present, asking the update server directly so
// the answer is authoritative and not cached.
func (c *Client) RecordExists(ctx context.Context, zone string, rec Record) (bool, error) {
	const op = "RecordExists"
	probe := rec
	if probe.Value == "" {
		probe.Value = placeholderValue(rec.Type)
	}
	_, want, err := c.prepareUpdate(op, zone, probe)
	if err != nil {
		return false, err
	}
	recs, _, err := c.resolve(ctx, op, []string{c.updateServer}, rec.Name, rec.Type)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rec.Value == "" {
		return len(recs) > 0, nil
	}
	for _, r := range recs {
		got, err := toRR(want.Header().Name, r)
		if err == nil && dns.IsDuplicate(got, want) {
			return true, nil
		}
	}
	return false, nil
}

// placeholderValue is valid rdata used where only name and type matter.
func placeholderValue(t RecordType) string {
	switch t {
	case TypeA:
		return "0.0.0.0"
	case TypeAAAA:
		return "::"
	case TypeTXT:
		return ""
	default:
		return "."
	}
}

func (c *Client) prepareUpdate(op, zone string, rec Record) (string, dns.RR, error) {
	if c.updateServer == "" {
		return "", nil, invalidf(op, "updates are not configured (no update server)")
	}
	z, err := normalizeName(op, zone)
	if err != nil {
		return "", nil, err
	}
	name, err := normalizeName(op, rec.Name)
	if err != nil {
		return "", nil, err
	}
	if !dns.IsSubDomain(z, name) {
		return "", nil, invalidf(op, "%s is not inside zone %s", displayName(name), displayName(z))
	}
	rr, err := toRR(name, rec)
	if err != nil {
		return "", nil, &Error{Op: op, Kind: ErrInvalid, Name: displayName(name), Type: rec.Type, Rcode: -1, Message: err.Error()}
	}
	return z, rr, nil
}

// toRR builds typed rdata, never parsing presentation text, so values
// cannot smuggle extra records or fields.
func toRR(name string, rec Record) (dns.RR, error) {
	ttl := rec.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	qtype, ok := rec.Type.qtype()
	if !ok {
		return nil, fmt.Errorf("record type %q is not supported", rec.Type)
	}
	hdr := dns.RR_Header{Name: name, Rrtype: qtype, Class: dns.ClassINET, Ttl: ttl}
	switch rec.Type {
	case TypeA, TypeAAAA:
		a, err := netip.ParseAddr(rec.Value)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", rec.Value)
		}
		if rec.Type == TypeA {
			if !a.Is4() {
				return nil, fmt.Errorf("%q is not an IPv4 address", rec.Value)
			}
			return &dns.A{Hdr: hdr, A: a.AsSlice()}, nil
		}
		if !a.Is6() || a.Is4In6() {
			return nil, fmt.Errorf("%q is not an IPv6 address", rec.Value)
		}
		return &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()}, nil
	case TypeCNAME, TypeMX:
		target := rec.Value
		if target != "." {
			t, err := normalizeName("", target)
			if err != nil {
				return nil, fmt.Errorf("target %q is not a valid domain name", rec.Value)
			}
			target = t
		}
		if rec.Type == TypeCNAME {
			return &dns.CNAME{Hdr: hdr, Target: target}, nil
		}
		return &dns.MX{Hdr: hdr, Preference: rec.Priority, Mx: target}, nil
	case TypeTXT:
		if len(rec.Value) > 4000 {
			return nil, fmt.Errorf("TXT value is longer than 4000 bytes")
		}
		return &dns.TXT{Hdr: hdr, Txt: splitTXT(rec.Value)}, nil
	}
	return nil, fmt.Errorf("record type %q is not supported", rec.Type)
}

// splitTXT splits a value into escaped character-strings of at most 255
// bytes each.
func splitTXT(v string) []string {
	parts := []string{}
	for len(v) > 255 {
		parts = append(parts, escapeTXT(v[:255]))
		v = v[255:]
	}
	return append(parts, escapeTXT(v))
}

func (c *Client) sendUpdate(ctx context.Context, op string, m *dns.Msg, rec Record) error {
	m.SetTsig(c.tsigName, dns.HmacSHA256, tsigFudge, time.Now().Unix())
	dc := &dns.Client{Net: "tcp", TsigSecret: map[string]string{c.tsigName: c.tsigSecret}}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	base := Error{Op: op, Name: displayName(dns.CanonicalName(rec.Name)), Type: rec.Type, Server: c.updateServer, Rcode: -1}
	resp, _, err := dc.ExchangeContext(actx, m, c.updateServer)
	if err != nil {
		e := base
		e.cause = err
		switch {
		case ctx.Err() != nil:
			e.Kind, e.Message, e.cause = ErrUnavailable, ctxText(ctx.Err()), ctx.Err()
		case errors.Is(err, dns.ErrAuth):
			// A signed NOTAUTH answer: the key is valid but not allowed here.
			e.Kind, e.Rcode, e.Message = ErrRefused, dns.RcodeNotAuth, "server answered NOTAUTH"
		case isTSIGError(err):
			e.Kind, e.Message = ErrRefused, "TSIG verification of the answer failed: "+err.Error()
		default:
			e.Kind, e.Message = ErrUnavailable, err.Error()
		}
		return &e
	}
	if resp.Rcode != dns.RcodeSuccess {
		e := base
		e.Kind, e.Rcode = rcodeKind(resp.Rcode), resp.Rcode
		e.Message = "server answered " + rcodeText(resp.Rcode)
		if t := resp.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
			e.Kind = ErrRefused
			e.Message += " (TSIG " + rcodeText(int(t.Error)) + ")"
		}
		return &e
	}
	c.log.InfoContext(ctx, "dns record updated", "op", op, "name", base.Name, "type", rec.Type)
	return nil
}

func validBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}
