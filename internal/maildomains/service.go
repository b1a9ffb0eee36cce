package maildomains

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/maildomain"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/domainname"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// Providers are the capabilities the service calls; the plugin host
// implements them. A capability without a plugin fails with UNSUPPORTED.
type Providers interface {
	Mail() (sdk.Mail, error)
	DNS() (sdk.DNS, error)
}

// Config configures a Service.
type Config struct {
	Client  *ent.Client
	Tenancy *tenancy.Service
	// Providers may be nil: then adding and verifying domains is
	// UNAVAILABLE.
	Providers Providers
	Log       *slog.Logger
}

// Service implements the mail domain operations.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{cfg: cfg}
}

// Status is a mail domain's verification status.
type Status = maildomain.Status

// DMARCPolicy is a DMARC p= policy.
type DMARCPolicy = maildomain.DmarcPolicy

// Domain is a mail domain as the API shows it.
type Domain struct {
	Name             string
	Status           Status
	Primary          bool
	Records          []RecordCheck
	DmarcPolicy      *DMARCPolicy
	DmarcReportEmail *string
	CheckedAt        *time.Time
	VerifiedAt       *time.Time
	ManagedDNS       bool
	// Message explains the state when it needs explaining; nil otherwise.
	Message *string
}

// RecordCheck is one record to publish and what the last check found.
type RecordCheck struct {
	Purpose  Purpose
	Type     string
	Name     string
	Expected string
	Found    []string
	Status   CheckStatus
}

// takenMessage tells a pending claim that another tenant verified the name.
const takenMessage = "another tenant verified this domain first; this claim cannot be verified (remove it)"

// view builds the API view of d; taken says another tenant owns its name.
func view(d *ent.MailDomain, taken bool) *Domain {
	out := &Domain{Name: d.Name, Status: d.Status, Primary: d.Primary, DmarcPolicy: d.DmarcPolicy,
		CheckedAt: d.CheckedAt, VerifiedAt: d.VerifiedAt, ManagedDNS: d.ManagedDNS, Records: make([]RecordCheck, 0, len(d.Records))}
	if d.DmarcReportEmail != "" {
		out.DmarcReportEmail = &d.DmarcReportEmail
	}
	for _, r := range d.Records {
		found := r.Found
		if found == nil {
			found = []string{}
		}
		out.Records = append(out.Records, RecordCheck{Purpose: Purpose(r.Purpose), Type: r.Type, Name: r.Name,
			Expected: r.Expected, Found: found, Status: CheckStatus(r.Status)})
	}
	msg := d.Message
	if taken && d.VerifiedAt == nil {
		msg = takenMessage
	}
	if msg != "" {
		out.Message = &msg
	}
	return out
}

// List returns the tenant's mail domains, primary first, then by name.
func (s *Service) List(ctx context.Context, t *ent.Tenant) ([]*Domain, error) {
	c := db.Client(ctx, s.cfg.Client)
	ds, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID)).
		Order(ent.Desc(maildomain.FieldPrimary), ent.Asc(maildomain.FieldName)).All(ctx)
	if err != nil {
		return nil, apperr.About(err, "mail domain")
	}
	var pending []string
	for _, d := range ds {
		if d.VerifiedAt == nil {
			pending = append(pending, d.Name)
		}
	}
	taken, err := tenancy.OwnedElsewhere(ctx, c, t.ID, pending...)
	if err != nil {
		return nil, err
	}
	out := make([]*Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, view(d, slices.Contains(taken, d.Name)))
	}
	return out, nil
}

// Attention counts the tenant's mail domains that need attention: not
// VERIFIED, or with a record that is not OK.
func (s *Service) Attention(ctx context.Context, slug string) (int, error) {
	t, err := s.cfg.Tenancy.TenantBySlug(ctx, slug)
	if err != nil {
		return 0, err
	}
	ds, err := db.Client(ctx, s.cfg.Client).MailDomain.Query().Where(maildomain.TenantID(t.ID)).All(ctx)
	if err != nil {
		return 0, apperr.About(err, "mail domain")
	}
	n := 0
	for _, d := range ds {
		if needsAttention(d) {
			n++
		}
	}
	return n, nil
}

func needsAttention(d *ent.MailDomain) bool {
	if d.Status != maildomain.StatusVerified {
		return true
	}
	for _, r := range d.Records {
		if r.Status != string(CheckOK) {
			return true
		}
	}
	return false
}

// manageable returns the tenant by slug when the viewer may manage its
// mail domains: operators, the tenant's admins and its partner's staff.
// Others who can see the tenant are FORBIDDEN; those who cannot, NOT_FOUND.
func (s *Service) manageable(ctx context.Context, slug string) (*ent.Tenant, error) {
	t, err := s.cfg.Tenancy.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	role, member := v.RoleIn(t.ID)
	switch {
	case v.Privileged():
	case member && role == viewer.RoleAdmin:
	case v.PartnerID != 0 && t.PartnerID != nil && *t.PartnerID == v.PartnerID:
	default:
		return nil, apperr.Forbiddenf("only the tenant's admins, its partner and operators manage its mail domains")
	}
	if t.Status == tenant.StatusDeleted {
		return nil, apperr.Conflictf("tenant %q is deleted", slug)
	}
	return t, nil
}

// normalizeName validates and normalises a domain name argument.
func normalizeName(name string) (string, error) {
	n, err := domainname.Normalize("name", name)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", apperr.Invalid("name", "a domain name is required")
	}
	if domainname.Consumer(n) {
		return "", apperr.Invalid("name", "%q is a public mail provider's domain; add a domain the organisation owns", n)
	}
	return n, nil
}

// domainOf loads the tenant's domain name (NOT_FOUND when it has none).
func domainOf(ctx context.Context, c *ent.Client, t *ent.Tenant, name string) (*ent.MailDomain, error) {
	n, err := domainname.Normalize("name", name)
	if err != nil {
		return nil, err
	}
	d, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID), maildomain.Name(n)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFoundf("tenant %q has no mail domain %q", t.Slug, n)
	}
	return d, apperr.About(err, "mail domain")
}

// providerError maps a plugin error to the caller's error.
func providerError(what string, err error) error {
	switch sdk.ErrorCode(err) {
	case sdk.CodeUnsupported:
		return apperr.New(apperr.Unavailable, "no %s provider is configured", what)
	case sdk.CodeUnavailable:
		return &apperr.Error{Code: apperr.Unavailable, Message: "the " + what + " provider is unavailable; try again later", Err: err}
	case sdk.CodeInvalid:
		return &apperr.Error{Code: apperr.BadUserInput, Field: "name", Message: "the " + what + " provider refused the domain: " + sdkMessage(err), Err: err}
	case sdk.CodeInUse, sdk.CodeConflict:
		return &apperr.Error{Code: apperr.Conflict, Message: sdkMessage(err), Err: err}
	}
	return fmt.Errorf("%s provider: %w", what, err)
}

// sdkMessage is the message of a plugin error, without its code, made
// fit for a stored one-line message: control characters become spaces
// and it is cut to 500 bytes.
func sdkMessage(err error) string {
	msg := err.Error()
	var e *sdk.Error
	if errors.As(err, &e) && e.Message != "" {
		msg = e.Message
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 500 {
		cut := 500
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

func (s *Service) mail() (sdk.Mail, error) {
	if s.cfg.Providers == nil {
		return nil, sdk.Unsupported("no providers")
	}
	return s.cfg.Providers.Mail()
}

func (s *Service) dns() (sdk.DNS, error) {
	if s.cfg.Providers == nil {
		return nil, sdk.Unsupported("no providers")
	}
	return s.cfg.Providers.DNS()
}

// Add adds name to the tenant's mail domains: created at the mail provider
// (DKIM generated there), the records to publish listed with an ownership
// record of its own, published through the dns capability where it can
// change the zone, and checked at once when a dns capability is configured.
func (s *Service) Add(ctx context.Context, slug, name string) (*Domain, error) {
	var out *Domain
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.manageable(ctx, slug)
		if err != nil {
			return err
		}
		n, err := normalizeName(name)
		if err != nil {
			return err
		}
		if ok, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID), maildomain.Name(n)).Exist(ctx); err != nil {
			return err
		} else if ok {
			return apperr.Conflictf("tenant %q already has mail domain %q", slug, n)
		}
		if taken, err := tenancy.OwnedElsewhere(ctx, c, t.ID, n); err != nil {
			return err
		} else if len(taken) > 0 {
			return tenancy.ErrDomainTaken("name", n, nil)
		}
		m, err := s.mail()
		if err != nil {
			return providerError("mail", err)
		}
		md, err := m.CreateDomain(ctx, sdk.CreateDomainRequest{Name: n})
		if err != nil {
			return providerError("mail", err)
		}
		hasPrimary, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID), maildomain.Primary(true)).Exist(ctx)
		if err != nil {
			return err
		}
		token := domainname.NewToken()
		create := c.MailDomain.Create().SetTenantID(t.ID).SetName(n).SetOwnershipToken(token).
			SetRecords(expectedRecords(n, token, md.DNSRecords)).SetPrimary(!hasPrimary)
		if p := dmarcOf(md.DMARCPolicy); p != nil {
			create.SetDmarcPolicy(*p)
		}
		d, err := create.Save(ctx)
		if err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("tenant %q already has mail domain %q", slug, n)
			}
			return apperr.About(err, "mail domain")
		}
		if err := listDomain(ctx, c, t, n, !hasPrimary); err != nil {
			return err
		}
		managed, msg := s.publish(ctx, d, d.Records)
		upd := c.MailDomain.UpdateOne(d).SetManagedDNS(managed).SetMessage(msg)
		if d, err = upd.Save(ctx); err != nil {
			return apperr.About(err, "mail domain")
		}
		if _, err := s.dns(); err == nil {
			if d, _, err = s.check(ctx, c, d); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "mail_domain.added", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"status": string(d.Status), "managedDns": managed, "primary": d.Primary},
		}); err != nil {
			return err
		}
		out = view(d, false)
		return nil
	})
	return out, err
}

// dmarcOf maps a provider policy to ours (nil when unknown).
func dmarcOf(p sdk.DMARCPolicy) *DMARCPolicy {
	var v DMARCPolicy
	switch p {
	case sdk.DMARCNone:
		v = maildomain.DmarcPolicyNone
	case sdk.DMARCQuarantine:
		v = maildomain.DmarcPolicyQuarantine
	case sdk.DMARCReject:
		v = maildomain.DmarcPolicyReject
	default:
		return nil
	}
	return &v
}

// listDomain keeps the tenant's (deprecated) domains list in step: the
// name is appended, or put first when it is the primary.
func listDomain(ctx context.Context, c *ent.Client, t *ent.Tenant, name string, primary bool) error {
	list := slices.DeleteFunc(slices.Clone(t.Domains), func(x string) bool { return x == name })
	if primary {
		list = append([]string{name}, list...)
	} else {
		list = append(list, name)
	}
	if slices.Equal(list, t.Domains) {
		return nil
	}
	return apperr.About(c.Tenant.UpdateOne(t).SetDomains(list).Exec(ctx), "tenant")
}

// unlistDomain drops name from the tenant's domains list.
func unlistDomain(ctx context.Context, c *ent.Client, t *ent.Tenant, name string) error {
	if !slices.Contains(t.Domains, name) {
		return nil
	}
	list := slices.DeleteFunc(slices.Clone(t.Domains), func(x string) bool { return x == name })
	return apperr.About(c.Tenant.UpdateOne(t).SetDomains(list).Exec(ctx), "tenant")
}

// publish writes recs through the dns capability's dynamic updates, in
// the closest enclosing zone of the domain the update server accepts. It
// reports whether every record was published and, when not for another
// reason than updates being unsupported, why.
func (s *Service) publish(ctx context.Context, d *ent.MailDomain, recs []schematype.DNSRecordCheck) (bool, string) {
	dns, err := s.dns()
	if err != nil {
		return false, ""
	}
	zone := ""
	for _, r := range recs {
		rec := sdk.DNSRecord{Name: r.Name, Type: r.Type, Value: r.Expected, TTL: 300}
		if zone != "" {
			if err := dns.UpsertRecord(ctx, sdk.RecordChange{Zone: zone, Record: rec}); err != nil {
				return false, "publishing the DNS records failed: " + sdkMessage(err)
			}
			continue
		}
		// Find the zone: the domain itself, then each parent.
		var lastErr error
		for _, z := range zonesOf(d.Name) {
			lastErr = dns.UpsertRecord(ctx, sdk.RecordChange{Zone: z, Record: rec})
			if lastErr == nil {
				zone = z
				break
			}
			if sdk.IsUnsupported(lastErr) {
				return false, ""
			}
		}
		if zone == "" {
			s.cfg.Log.InfoContext(ctx, "mail domain records not published: no zone accepts updates", "domain", d.Name, "err", lastErr)
			return false, "the DNS records could not be published automatically (no zone of this domain accepts updates): publish them at the domain's DNS host"
		}
	}
	return true, ""
}

// zonesOf lists the zones that may hold name's records, closest first:
// name itself, then each parent down to the top-level domain.
func zonesOf(name string) []string {
	out := []string{name}
	for i, c := range name {
		if c == '.' {
			out = append(out, name[i+1:])
		}
	}
	return out
}

// check resolves d's records, stores the result and the status it implies
// and returns the domain and whether the status changed. A lookup that
// fails leaves the status as it was.
func (s *Service) check(ctx context.Context, c *ent.Client, d *ent.MailDomain) (*ent.MailDomain, bool, error) {
	dns, err := s.dns()
	if err != nil {
		return nil, false, providerError("dns", err)
	}
	recs := slices.Clone(d.Records)
	lookupFailed := ""
	for i, r := range recs {
		res, err := dns.Lookup(ctx, sdk.LookupRequest{Name: r.Name, Type: r.Type})
		if err != nil {
			lookupFailed = fmt.Sprintf("looking up %s %s failed: %s", r.Type, r.Name, sdkMessage(err))
			recs[i].Found, recs[i].Status = []string{}, string(CheckMissing)
			continue
		}
		var values []string
		for _, f := range res.Records {
			if strings.EqualFold(f.Type, r.Type) {
				values = append(values, f.Value)
			}
		}
		recs[i].Found = relevant(Purpose(r.Purpose), values)
		recs[i].Status = string(compare(r.Type, r.Expected, recs[i].Found))
	}
	ok := statusOf(recs)
	status, msg := d.Status, d.Message
	if lookupFailed != "" {
		msg = lookupFailed
	} else if strings.HasPrefix(msg, "looking up ") {
		msg = ""
	}
	upd := c.MailDomain.UpdateOne(d).SetRecords(recs).SetCheckedAt(time.Now().UTC())
	switch {
	case lookupFailed != "":
	case ok && d.VerifiedAt == nil:
		taken, err := tenancy.OwnedElsewhere(ctx, c, d.TenantID, d.Name)
		if err != nil {
			return nil, false, err
		}
		if len(taken) > 0 {
			status = maildomain.StatusPending
			break
		}
		status = maildomain.StatusVerified
		upd.SetVerifiedAt(time.Now().UTC())
	case ok:
		status = maildomain.StatusVerified
	case d.VerifiedAt != nil:
		status = maildomain.StatusFailing
	default:
		status = maildomain.StatusPending
	}
	out, err := upd.SetStatus(status).SetMessage(msg).Save(ctx)
	if err != nil {
		if db.IsUniqueViolation(err) {
			// A concurrent verification by another tenant committed first.
			return nil, false, tenancy.ErrDomainTaken("name", d.Name, err)
		}
		return nil, false, apperr.About(err, "mail domain")
	}
	return out, out.Status != d.Status, nil
}

// statusOf reports whether the checked records verify the domain: its
// OWNERSHIP and every MX record OK.
func statusOf(recs []schematype.DNSRecordCheck) bool {
	own, mx := false, false
	for _, r := range recs {
		switch Purpose(r.Purpose) {
		case PurposeOwnership:
			own = own || r.Status == string(CheckOK)
		case PurposeMX:
			if r.Status != string(CheckOK) {
				return false
			}
			mx = true
		}
	}
	return own && mx
}

// refreshExpected asks the mail provider for the domain's records again
// (creating it there if it went missing: the call is idempotent) and
// rebuilds the expected records, keeping the DMARC record set with
// SetDMARC.
func (s *Service) refreshExpected(ctx context.Context, c *ent.Client, d *ent.MailDomain) (*ent.MailDomain, error) {
	m, err := s.mail()
	if err != nil {
		return nil, providerError("mail", err)
	}
	md, err := m.CreateDomain(ctx, sdk.CreateDomainRequest{Name: d.Name})
	if err != nil {
		return nil, providerError("mail", err)
	}
	recs := expectedRecords(d.Name, d.OwnershipToken, md.DNSRecords)
	// Keep what the last check found for records whose expectation is
	// unchanged.
	for i, r := range recs {
		for _, old := range d.Records {
			if old.Purpose == r.Purpose && old.Name == r.Name && old.Expected == r.Expected {
				recs[i] = old
			}
		}
	}
	return c.MailDomain.UpdateOne(d).SetRecords(recs).Save(ctx)
}

// Verify checks the domain's records now and updates its status.
func (s *Service) Verify(ctx context.Context, slug, name string) (*Domain, error) {
	var out *Domain
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.manageable(ctx, slug)
		if err != nil {
			return err
		}
		d, err := domainOf(ctx, c, t, name)
		if err != nil {
			return err
		}
		if d, err = s.refreshExpected(ctx, c, d); err != nil {
			return err
		}
		before := d.Status
		d, _, err = s.check(ctx, c, d)
		if err != nil {
			return err
		}
		taken, err := tenancy.OwnedElsewhere(ctx, c, t.ID, d.Name)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "mail_domain.checked", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"diff": audit.Diff(map[string]any{"status": string(before)}, map[string]any{"status": string(d.Status)}),
				"records": recordSummary(d.Records)},
		}); err != nil {
			return err
		}
		out = view(d, len(taken) > 0)
		return nil
	})
	return out, err
}

// recordSummary is the audited view of checked records.
func recordSummary(recs []schematype.DNSRecordCheck) map[string]string {
	out := map[string]string{}
	for _, r := range recs {
		out[r.Purpose+" "+r.Name] = r.Status
	}
	return out
}

// SetDMARC sets the domain's DMARC policy at the mail provider, records
// the DMARC record to publish (publishing it where the DNS is managed) and
// checks the domain again when it is.
func (s *Service) SetDMARC(ctx context.Context, slug, name string, policy DMARCPolicy, reportEmail *string) (*Domain, error) {
	var out *Domain
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.manageable(ctx, slug)
		if err != nil {
			return err
		}
		if err := maildomain.DmarcPolicyValidator(policy); err != nil {
			return apperr.Invalid("policy", "unknown DMARC policy")
		}
		report := ""
		if reportEmail != nil {
			if report, err = checkReportEmail(*reportEmail); err != nil {
				return err
			}
		}
		d, err := domainOf(ctx, c, t, name)
		if err != nil {
			return err
		}
		m, err := s.mail()
		if err != nil {
			return providerError("mail", err)
		}
		rec, err := m.SetDMARCPolicy(ctx, sdk.SetDMARCPolicyRequest{Domain: d.Name, Policy: sdk.DMARCPolicy(strings.ToLower(string(policy))), ReportAddress: report})
		if err != nil {
			return providerError("mail", err)
		}
		recs := slices.Clone(d.Records)
		replaced := false
		for i, r := range recs {
			if r.Purpose == string(PurposeDMARC) {
				recs[i] = schematype.DNSRecordCheck{Purpose: r.Purpose, Type: "TXT", Name: "_dmarc." + d.Name, Expected: rec.Value, Found: r.Found}
				recs[i].Status = string(compare("TXT", rec.Value, r.Found))
				replaced = true
			}
		}
		if !replaced {
			recs = append(recs, schematype.DNSRecordCheck{Purpose: string(PurposeDMARC), Type: "TXT", Name: "_dmarc." + d.Name,
				Expected: rec.Value, Found: []string{}, Status: string(CheckMissing)})
		}
		before := map[string]any{"dmarcPolicy": ptrString(d.DmarcPolicy), "dmarcReportEmail": d.DmarcReportEmail}
		d, err = c.MailDomain.UpdateOne(d).SetRecords(recs).SetDmarcPolicy(policy).SetDmarcReportEmail(report).Save(ctx)
		if err != nil {
			return apperr.About(err, "mail domain")
		}
		if d.ManagedDNS {
			dmarc := []schematype.DNSRecordCheck{}
			for _, r := range recs {
				if r.Purpose == string(PurposeDMARC) {
					dmarc = append(dmarc, r)
				}
			}
			if ok, msg := s.publish(ctx, d, dmarc); !ok && msg != "" {
				if d, err = c.MailDomain.UpdateOne(d).SetMessage(msg).Save(ctx); err != nil {
					return apperr.About(err, "mail domain")
				}
			} else if ok {
				if d, _, err = s.check(ctx, c, d); err != nil {
					return err
				}
			}
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "mail_domain.dmarc_set", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"diff": audit.Diff(before,
				map[string]any{"dmarcPolicy": ptrString(d.DmarcPolicy), "dmarcReportEmail": d.DmarcReportEmail})},
		}); err != nil {
			return err
		}
		out = view(d, false)
		return nil
	})
	return out, err
}

func ptrString(p *DMARCPolicy) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// checkReportEmail validates a DMARC report address ("" clears it).
func checkReportEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 || strings.ContainsAny(s, ";,!") {
		return "", apperr.Invalid("reportEmail", "must be a plain e-mail address")
	}
	local, host, _ := strings.Cut(s, "@")
	h, err := domainname.Normalize("reportEmail", host)
	if err != nil || h == "" {
		return "", apperr.Invalid("reportEmail", "must be a plain e-mail address")
	}
	return local + "@" + h, nil
}

// SetPrimary makes the verified domain the tenant's primary mail domain
// (where new mailboxes are created); the previous primary stops being it.
func (s *Service) SetPrimary(ctx context.Context, slug, name string) (*Domain, error) {
	var out *Domain
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.manageable(ctx, slug)
		if err != nil {
			return err
		}
		d, err := domainOf(ctx, c, t, name)
		if err != nil {
			return err
		}
		if d.Status != maildomain.StatusVerified {
			return apperr.Conflictf("mail domain %q is %s: only a verified domain can be primary", d.Name, strings.ToLower(string(d.Status)))
		}
		prev, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID), maildomain.Primary(true)).Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		from := ""
		if prev != nil {
			from = prev.Name
			if err := c.MailDomain.UpdateOne(prev).SetPrimary(false).Exec(ctx); err != nil {
				return apperr.About(err, "mail domain")
			}
		}
		if d, err = c.MailDomain.UpdateOneID(d.ID).SetPrimary(true).Save(ctx); err != nil {
			return apperr.About(err, "mail domain")
		}
		if err := listDomain(ctx, c, t, d.Name, true); err != nil {
			return err
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "mail_domain.primary_set", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"diff": map[string]any{"primary": map[string]any{"from": from, "to": d.Name}}},
		}); err != nil {
			return err
		}
		out = view(d, false)
		return nil
	})
	return out, err
}

// Remove removes the domain from the tenant. When no other tenant claims
// the name, or this tenant owns it, the domain is deleted at the mail
// provider first, which refuses while mailboxes or aliases use it
// (CONFLICT with the provider's reason); records published by managed DNS
// are deleted when nobody else claims the name.
func (s *Service) Remove(ctx context.Context, slug, name string) (*Domain, error) {
	var out *Domain
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		t, err := s.manageable(ctx, slug)
		if err != nil {
			return err
		}
		d, err := domainOf(ctx, c, t, name)
		if err != nil {
			return err
		}
		// Other tenants' claims on the name decide what happens upstream;
		// only their number is read.
		others, err := c.MailDomain.Query().Where(maildomain.Name(d.Name), maildomain.TenantIDNEQ(t.ID)).Count(rule.Bypass(ctx))
		if err != nil {
			return err
		}
		if others == 0 || d.VerifiedAt != nil {
			m, err := s.mail()
			if err != nil {
				return providerError("mail", err)
			}
			if err := m.DeleteDomain(ctx, d.Name); err != nil && !sdk.IsNotFound(err) {
				if sdk.IsInUse(err) {
					return &apperr.Error{Code: apperr.Conflict, Err: err,
						Message: fmt.Sprintf("mail domain %q is still in use: %s", d.Name, sdkMessage(err))}
				}
				return providerError("mail", err)
			}
		}
		if d.ManagedDNS && others == 0 {
			s.unpublish(ctx, d)
		}
		if err := c.MailDomain.DeleteOne(d).Exec(ctx); err != nil {
			return apperr.About(err, "mail domain")
		}
		if err := unlistDomain(ctx, c, t, d.Name); err != nil {
			return err
		}
		if d.Primary {
			next, err := c.MailDomain.Query().Where(maildomain.TenantID(t.ID), maildomain.StatusEQ(maildomain.StatusVerified)).
				Order(ent.Asc(maildomain.FieldName)).First(ctx)
			if err == nil {
				if err := c.MailDomain.UpdateOne(next).SetPrimary(true).Exec(ctx); err != nil {
					return apperr.About(err, "mail domain")
				}
			} else if !ent.IsNotFound(err) {
				return err
			}
		}
		if err := audit.Record(ctx, audit.Event{
			Action: "mail_domain.removed", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"status": string(d.Status), "primary": d.Primary},
		}); err != nil {
			return err
		}
		out = view(d, false)
		return nil
	})
	return out, err
}

// unpublish deletes the records managed DNS published for d; failures are
// logged (the records are harmless without the domain).
func (s *Service) unpublish(ctx context.Context, d *ent.MailDomain) {
	dns, err := s.dns()
	if err != nil {
		return
	}
	for _, r := range d.Records {
		rec := sdk.DNSRecord{Name: r.Name, Type: r.Type, Value: r.Expected}
		var err error
		for _, z := range zonesOf(d.Name) {
			if err = dns.DeleteRecord(ctx, sdk.RecordChange{Zone: z, Record: rec}); err == nil || sdk.IsNotFound(err) {
				break
			}
		}
		if err != nil && !sdk.IsNotFound(err) {
			s.cfg.Log.WarnContext(ctx, "mail domain record not deleted", "domain", d.Name, "record", r.Name, "type", r.Type, "err", err)
		}
	}
}

// hasProviderRecords reports whether recs hold the mail provider's
// records (an MX record), not only the ownership record.
func hasProviderRecords(recs []schematype.DNSRecordCheck) bool {
	for _, r := range recs {
		if r.Purpose == string(PurposeMX) {
			return true
		}
	}
	return false
}

// RecheckAll checks every mail domain again (first creating at the mail
// provider, and publishing where the DNS is managed, those that came in
// through the tenants' domains list), each in its own audited
// transaction when its status changes, as the system viewer ctx must
// carry. It returns how many domains changed status; a domain whose check
// fails is logged and skipped.
func (s *Service) RecheckAll(ctx context.Context) (int, error) {
	if _, err := s.dns(); err != nil {
		if sdk.IsUnsupported(err) {
			return 0, nil
		}
		return 0, err
	}
	ids, err := s.cfg.Client.MailDomain.Query().Order(ent.Asc(maildomain.FieldID)).IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("mail domains: list: %w", err)
	}
	changed := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return changed, ctx.Err()
		}
		ch, err := s.recheck(ctx, id)
		if err != nil {
			s.cfg.Log.WarnContext(ctx, "mail domain recheck failed", "id", id, "err", err)
			continue
		}
		if ch {
			changed++
		}
	}
	return changed, nil
}

func (s *Service) recheck(ctx context.Context, id int) (bool, error) {
	changed := false
	err := db.WithTx(ctx, s.cfg.Client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		d, err := c.MailDomain.Get(ctx, id)
		if ent.IsNotFound(err) {
			return nil // removed meanwhile
		}
		if err != nil {
			return err
		}
		before := d.Status
		if !hasProviderRecords(d.Records) {
			// Added through the tenants' domains list: the records the mail
			// provider proposes are not known yet, and nothing was
			// published. Ensure the domain there and publish where the DNS
			// is managed, as Add does.
			if _, err := s.mail(); err == nil {
				if d, err = s.refreshExpected(ctx, c, d); err != nil {
					return err
				}
				managed, msg := s.publish(ctx, d, d.Records)
				if d, err = c.MailDomain.UpdateOne(d).SetManagedDNS(managed).SetMessage(msg).Save(ctx); err != nil {
					return err
				}
			}
		}
		d, changed, err = s.check(ctx, c, d)
		if err != nil || !changed {
			return err
		}
		t, err := c.Tenant.Get(ctx, d.TenantID)
		if err != nil {
			return err
		}
		return audit.Record(ctx, audit.Event{
			Action: "mail_domain.status_changed", ResourceType: "mail_domain", ResourceID: strconv.Itoa(d.ID), ResourceName: d.Name,
			Tenant: t, Metadata: map[string]any{"diff": audit.Diff(map[string]any{"status": string(before)}, map[string]any{"status": string(d.Status)}),
				"records": recordSummary(d.Records)},
		})
	})
	return changed, err
}
