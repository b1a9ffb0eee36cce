package dnsclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MailExpectation describes the records a mail domain must publish. Empty
// fields skip their check; at least one check must be requested.
type MailExpectation struct {
	// Domain is the mail domain, e.g. "acme.example". Required.
	Domain string
	// MXHost is the host an MX record of Domain must point at.
	MXHost string
	// SPFInclude is the domain the SPF record of Domain must include.
	SPFInclude string
	// DKIMSelector enables the DKIM check at <selector>._domainkey.<Domain>.
	DKIMSelector string
	// DKIMPublicKey is the expected p= value (whitespace ignored); empty
	// accepts any non-revoked key.
	DKIMPublicKey string
	// DMARCPolicy is the expected p= of _dmarc.<Domain> (none, quarantine,
	// reject); "any" accepts any valid DMARC record.
	DMARCPolicy string
	// OwnershipToken is a TXT value that must be present at OwnershipName.
	OwnershipToken string
	// OwnershipName defaults to Domain.
	OwnershipName string
}

// CheckKind names a verification.
type CheckKind string

// Check kinds.
const (
	CheckMX        CheckKind = "mx"
	CheckSPF       CheckKind = "spf"
	CheckDKIM      CheckKind = "dkim"
	CheckDMARC     CheckKind = "dmarc"
	CheckOwnership CheckKind = "ownership"
)

// Status is the outcome of a check.
type Status string

// Check outcomes.
const (
	// StatusOK: the expected record is published.
	StatusOK Status = "ok"
	// StatusMissing: no relevant record exists.
	StatusMissing Status = "missing"
	// StatusMismatch: relevant records exist but none is as expected, or
	// they are invalid.
	StatusMismatch Status = "mismatch"
	// StatusError: the lookup failed; the outcome is unknown.
	StatusError Status = "error"
)

// Check is the result of one verification.
type Check struct {
	Kind CheckKind
	// Name and Type are what was looked up.
	Name string
	Type RecordType
	// OK is Status == StatusOK.
	OK     bool
	Status Status
	// Expected describes the record to publish, e.g. "10 mx.dezky.example"
	// or the full TXT value.
	Expected string
	// Found lists the relevant values that are published.
	Found []string
	// Detail explains a non-OK status.
	Detail string
}

// MailReport is the outcome of VerifyMail.
type MailReport struct {
	Domain string
	// OK reports whether every check is OK.
	OK     bool
	Checks []Check
}

// VerifyMail checks the records described by exp. Lookup failures are
// reported in the affected check; the error is non-nil only for an invalid
// expectation or a canceled context.
func (c *Client) VerifyMail(ctx context.Context, exp MailExpectation) (MailReport, error) {
	const op = "VerifyMail"
	fqdn, err := normalizeName(op, exp.Domain)
	if err != nil {
		return MailReport{}, err
	}
	domain := displayName(fqdn)
	if exp.DMARCPolicy != "" && exp.DMARCPolicy != "any" {
		if _, err := dmarcPolicy(exp.DMARCPolicy); err != nil {
			return MailReport{}, invalidf(op, "DMARC %v", err)
		}
	}
	type step struct {
		enabled bool
		run     func() Check
	}
	steps := []step{
		{exp.MXHost != "", func() Check { return c.checkMX(ctx, domain, exp.MXHost) }},
		{exp.SPFInclude != "", func() Check { return c.checkSPF(ctx, domain, exp.SPFInclude) }},
		{exp.DKIMSelector != "", func() Check { return c.checkDKIM(ctx, domain, exp.DKIMSelector, exp.DKIMPublicKey) }},
		{exp.DMARCPolicy != "", func() Check { return c.checkDMARC(ctx, domain, exp.DMARCPolicy) }},
		{exp.OwnershipToken != "", func() Check {
			name := exp.OwnershipName
			if name == "" {
				name = domain
			}
			return c.checkOwnership(ctx, name, exp.OwnershipToken)
		}},
	}
	report := MailReport{Domain: domain, OK: true}
	for _, s := range steps {
		if !s.enabled {
			continue
		}
		ch := s.run()
		ch.OK = ch.Status == StatusOK
		if ch.Found == nil {
			ch.Found = []string{}
		}
		report.OK = report.OK && ch.OK
		report.Checks = append(report.Checks, ch)
		if err := ctx.Err(); err != nil {
			return MailReport{}, &Error{Op: op, Kind: ErrUnavailable, Name: domain, Rcode: -1, Message: ctxText(err), cause: err}
		}
	}
	if len(report.Checks) == 0 {
		return MailReport{}, invalidf(op, "no check requested")
	}
	return report, nil
}

// lookupForCheck runs a lookup and turns NXDOMAIN into "no records".
func (c *Client) lookupForCheck(ctx context.Context, ch *Check) ([]Record, bool) {
	recs, err := c.Lookup(ctx, ch.Name, ch.Type)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, true
		}
		ch.Status = StatusError
		ch.Detail = err.Error()
		return nil, false
	}
	return recs, true
}

func (c *Client) checkMX(ctx context.Context, domain, host string) Check {
	want := displayName(host)
	ch := Check{Kind: CheckMX, Name: domain, Type: TypeMX, Expected: "MX " + want}
	recs, ok := c.lookupForCheck(ctx, &ch)
	if !ok {
		return ch
	}
	for _, r := range recs {
		ch.Found = append(ch.Found, fmt.Sprintf("%d %s", r.Priority, r.Value))
		if r.Value == want {
			ch.Status = StatusOK
		}
	}
	switch {
	case ch.Status == StatusOK:
	case len(recs) == 0:
		ch.Status, ch.Detail = StatusMissing, "no MX record"
	default:
		ch.Status, ch.Detail = StatusMismatch, "no MX record points at "+want
	}
	return ch
}

func (c *Client) checkSPF(ctx context.Context, domain, include string) Check {
	inc := displayName(include)
	ch := Check{Kind: CheckSPF, Name: domain, Type: TypeTXT, Expected: "v=spf1 include:" + inc + " ~all"}
	recs, ok := c.lookupForCheck(ctx, &ch)
	if !ok {
		return ch
	}
	var spfs []string
	for _, r := range recs {
		if isSPF(r.Value) {
			spfs = append(spfs, r.Value)
		}
	}
	ch.Found = spfs
	switch len(spfs) {
	case 0:
		ch.Status, ch.Detail = StatusMissing, "no SPF record"
		return ch
	case 1:
	default:
		// RFC 7208 section 4.5: more than one record is a permanent error.
		ch.Status, ch.Detail = StatusMismatch, "more than one SPF record"
		return ch
	}
	spf, err := ParseSPF(spfs[0])
	switch {
	case err != nil:
		ch.Status, ch.Detail = StatusMismatch, "invalid SPF record: "+err.Error()
	case !spf.Includes(inc):
		ch.Status, ch.Detail = StatusMismatch, "SPF record does not include "+inc
	default:
		ch.Status = StatusOK
	}
	return ch
}

func isSPF(v string) bool {
	f := strings.Fields(v)
	return len(f) > 0 && strings.EqualFold(f[0], "v=spf1")
}

func (c *Client) checkDKIM(ctx context.Context, domain, selector, key string) Check {
	name := strings.ToLower(selector) + "._domainkey." + domain
	ch := Check{Kind: CheckDKIM, Name: name, Type: TypeTXT, Expected: "v=DKIM1; k=rsa; p=" + stripSpace(key)}
	if key == "" {
		ch.Expected = "v=DKIM1; p=<public key>"
	}
	if _, err := normalizeName("", name); err != nil {
		ch.Status, ch.Detail = StatusError, "invalid selector "+selector
		return ch
	}
	recs, ok := c.lookupForCheck(ctx, &ch)
	if !ok {
		return ch
	}
	var details []string
	for _, r := range recs {
		ch.Found = append(ch.Found, r.Value)
		k, err := ParseDKIM(r.Value)
		switch {
		case err != nil:
			details = append(details, "invalid DKIM record: "+err.Error())
		case k.PublicKey == "":
			details = append(details, "key is revoked (empty p=)")
		case key != "" && k.PublicKey != stripSpace(key):
			details = append(details, "public key differs")
		default:
			ch.Status = StatusOK
		}
	}
	switch {
	case ch.Status == StatusOK:
	case len(recs) == 0:
		ch.Status, ch.Detail = StatusMissing, "no DKIM record"
	default:
		ch.Status, ch.Detail = StatusMismatch, strings.Join(details, "; ")
	}
	return ch
}

func (c *Client) checkDMARC(ctx context.Context, domain, policy string) Check {
	ch := Check{Kind: CheckDMARC, Name: "_dmarc." + domain, Type: TypeTXT}
	if policy == "any" {
		ch.Expected = "v=DMARC1; p=<policy>"
	} else {
		ch.Expected = "v=DMARC1; p=" + strings.ToLower(policy)
	}
	recs, ok := c.lookupForCheck(ctx, &ch)
	if !ok {
		return ch
	}
	var dmarcs []string
	for _, r := range recs {
		if strings.HasPrefix(strings.TrimSpace(r.Value), "v=DMARC1") {
			dmarcs = append(dmarcs, r.Value)
		}
	}
	ch.Found = dmarcs
	switch len(dmarcs) {
	case 0:
		ch.Status, ch.Detail = StatusMissing, "no DMARC record"
		return ch
	case 1:
	default:
		// RFC 7489 section 6.6.3: several records mean no policy applies.
		ch.Status, ch.Detail = StatusMismatch, "more than one DMARC record"
		return ch
	}
	d, err := ParseDMARC(dmarcs[0])
	switch {
	case err != nil:
		ch.Status, ch.Detail = StatusMismatch, "invalid DMARC record: "+err.Error()
	case policy != "any" && d.Policy != strings.ToLower(policy):
		ch.Status, ch.Detail = StatusMismatch, "policy is "+d.Policy
	default:
		ch.Status = StatusOK
	}
	return ch
}

func (c *Client) checkOwnership(ctx context.Context, name, token string) Check {
	ch := Check{Kind: CheckOwnership, Name: displayName(name), Type: TypeTXT, Expected: token}
	if _, err := normalizeName("", name); err != nil {
		ch.Status, ch.Detail = StatusError, "invalid ownership record name "+name
		return ch
	}
	recs, ok := c.lookupForCheck(ctx, &ch)
	if !ok {
		return ch
	}
	for _, r := range recs {
		ch.Found = append(ch.Found, r.Value)
		if strings.TrimSpace(r.Value) == token {
			ch.Status = StatusOK
		}
	}
	switch {
	case ch.Status == StatusOK:
	case len(recs) == 0:
		ch.Status, ch.Detail = StatusMissing, "no TXT record"
	default:
		ch.Status, ch.Detail = StatusMismatch, "token not found"
	}
	return ch
}
