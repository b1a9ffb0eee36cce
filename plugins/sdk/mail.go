package sdk

import (
	"context"
	"time"
)

// Mail drives a mail server: domains (with DKIM and the DNS records to
// publish), mailboxes and the signed event webhook.
//
// Contract, checked by conformance.RunMail:
//   - CreateDomain and CreateMailbox are idempotent on the domain name and
//     the address: a repeat returns the existing object and no error.
//   - CreateDomain generates DKIM keys and returns every record to publish
//     (at least MX, an SPF TXT and a DKIM TXT).
//   - DeleteDomain fails with IN_USE while mailboxes or aliases use it.
//   - GetDomain, DeleteDomain, GetMailbox, DeleteMailbox, FreezeMailbox,
//     UnfreezeMailbox and SetMailboxPassword fail with NOT_FOUND for
//     unknown names. CreateMailbox in an unknown domain fails with
//     NOT_FOUND.
//   - FreezeMailbox blocks logins and delivery but keeps the password;
//     UnfreezeMailbox restores access.
//   - ParseMailWebhook fails with UNAUTHENTICATED when the signature does
//     not verify (or is missing or stale), and with INVALID when a signed
//     body does not parse.
type Mail interface {
	CreateDomain(ctx context.Context, req CreateDomainRequest) (Domain, error)
	ListDomains(ctx context.Context) ([]Domain, error)
	GetDomain(ctx context.Context, name string) (Domain, error)
	DeleteDomain(ctx context.Context, name string) error
	// SetDMARCPolicy stores the policy and returns the _dmarc TXT record to
	// publish.
	SetDMARCPolicy(ctx context.Context, req SetDMARCPolicyRequest) (DNSRecord, error)
	CreateMailbox(ctx context.Context, req CreateMailboxRequest) (Mailbox, error)
	GetMailbox(ctx context.Context, address string) (Mailbox, error)
	DeleteMailbox(ctx context.Context, address string) error
	FreezeMailbox(ctx context.Context, address string) error
	UnfreezeMailbox(ctx context.Context, address string) error
	SetMailboxPassword(ctx context.Context, address, password string) error
	ParseMailWebhook(ctx context.Context, hook Webhook) ([]MailEvent, error)
}

// CreateDomainRequest adds a mail domain. DKIMSelector defaults to a
// provider-chosen selector when empty.
type CreateDomainRequest struct {
	Name         string
	DKIMSelector string
}

// Domain is a mail domain with the DNS records it needs.
type Domain struct {
	Name        string
	DNSRecords  []DNSRecord
	DMARCPolicy DMARCPolicy
}

// DMARCPolicy is the p= value of a DMARC record.
type DMARCPolicy string

// The DMARC policies.
const (
	DMARCNone       DMARCPolicy = "none"
	DMARCQuarantine DMARCPolicy = "quarantine"
	DMARCReject     DMARCPolicy = "reject"
)

// SetDMARCPolicyRequest sets a domain's DMARC policy. ReportAddress (rua)
// is optional; Percent 0 means 100.
type SetDMARCPolicyRequest struct {
	Domain        string
	Policy        DMARCPolicy
	ReportAddress string
	Percent       int
}

// CreateMailboxRequest creates a mailbox; Address is the idempotency key.
// QuotaBytes 0 means the server default.
type CreateMailboxRequest struct {
	Address    string
	Name       string
	Password   string
	QuotaBytes int64
	Aliases    []string
}

// Mailbox is a mail account.
type Mailbox struct {
	ID         string
	Address    string
	Name       string
	QuotaBytes int64
	UsedBytes  int64
	Frozen     bool
	Aliases    []string
}

// MailEvent is one normalized event from a mail webhook. Type is the
// upstream's raw event type; ID is unique per provider.
type MailEvent struct {
	ID      string
	Type    string
	Time    time.Time
	Address string
	Domain  string
	Detail  map[string]string
}
