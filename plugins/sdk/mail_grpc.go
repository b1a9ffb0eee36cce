package sdk

import (
	"context"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

var _ pb.MailServer = (*mailServer)(nil)

type mailServer struct {
	pb.UnimplementedMailServer
	impl Mail
}

func domainTo(d Domain) *pb.Domain {
	return &pb.Domain{Name: d.Name, DnsRecords: recordsTo(d.DNSRecords), DmarcPolicy: string(d.DMARCPolicy)}
}

func domainFrom(d *pb.Domain) Domain {
	return Domain{Name: d.GetName(), DNSRecords: recordsFrom(d.GetDnsRecords()), DMARCPolicy: DMARCPolicy(d.GetDmarcPolicy())}
}

func mailboxTo(m Mailbox) *pb.Mailbox {
	return &pb.Mailbox{
		Id: m.ID, Address: m.Address, Name: m.Name, QuotaBytes: m.QuotaBytes,
		UsedBytes: m.UsedBytes, Frozen: m.Frozen, Aliases: m.Aliases,
	}
}

func mailboxFrom(m *pb.Mailbox) Mailbox {
	return Mailbox{
		ID: m.GetId(), Address: m.GetAddress(), Name: m.GetName(), QuotaBytes: m.GetQuotaBytes(),
		UsedBytes: m.GetUsedBytes(), Frozen: m.GetFrozen(), Aliases: m.GetAliases(),
	}
}

func (s *mailServer) CreateDomain(ctx context.Context, r *pb.CreateDomainRequest) (*pb.Domain, error) {
	d, err := s.impl.CreateDomain(ctx, CreateDomainRequest{Name: r.GetName(), DKIMSelector: r.GetDkimSelector()})
	if err != nil {
		return nil, err
	}
	return domainTo(d), nil
}

func (s *mailServer) ListDomains(ctx context.Context, _ *pb.Empty) (*pb.DomainList, error) {
	ds, err := s.impl.ListDomains(ctx)
	if err != nil {
		return nil, err
	}
	out := &pb.DomainList{}
	for _, d := range ds {
		out.Domains = append(out.Domains, domainTo(d))
	}
	return out, nil
}

func (s *mailServer) GetDomain(ctx context.Context, r *pb.IDRequest) (*pb.Domain, error) {
	d, err := s.impl.GetDomain(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return domainTo(d), nil
}

func (s *mailServer) DeleteDomain(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteDomain(ctx, r.GetId())
}

func (s *mailServer) SetDMARCPolicy(ctx context.Context, r *pb.SetDMARCPolicyRequest) (*pb.DNSRecord, error) {
	rec, err := s.impl.SetDMARCPolicy(ctx, SetDMARCPolicyRequest{
		Domain: r.GetDomain(), Policy: DMARCPolicy(r.GetPolicy()), ReportAddress: r.GetReportAddress(), Percent: int(r.GetPercent()),
	})
	if err != nil {
		return nil, err
	}
	return recordTo(rec), nil
}

func (s *mailServer) CreateMailbox(ctx context.Context, r *pb.CreateMailboxRequest) (*pb.Mailbox, error) {
	m, err := s.impl.CreateMailbox(ctx, CreateMailboxRequest{
		Address: r.GetAddress(), Name: r.GetName(), Password: r.GetPassword(), QuotaBytes: r.GetQuotaBytes(), Aliases: r.GetAliases(),
	})
	if err != nil {
		return nil, err
	}
	return mailboxTo(m), nil
}

func (s *mailServer) GetMailbox(ctx context.Context, r *pb.IDRequest) (*pb.Mailbox, error) {
	m, err := s.impl.GetMailbox(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return mailboxTo(m), nil
}

func (s *mailServer) DeleteMailbox(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteMailbox(ctx, r.GetId())
}

func (s *mailServer) FreezeMailbox(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.FreezeMailbox(ctx, r.GetId())
}

func (s *mailServer) UnfreezeMailbox(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.UnfreezeMailbox(ctx, r.GetId())
}

func (s *mailServer) SetMailboxPassword(ctx context.Context, r *pb.SetMailboxPasswordRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.SetMailboxPassword(ctx, r.GetAddress(), r.GetPassword())
}

func (s *mailServer) ParseWebhook(ctx context.Context, r *pb.Webhook) (*pb.MailEventList, error) {
	evs, err := s.impl.ParseMailWebhook(ctx, webhookFrom(r))
	if err != nil {
		return nil, err
	}
	out := &pb.MailEventList{}
	for _, e := range evs {
		out.Events = append(out.Events, &pb.MailEvent{
			Id: e.ID, Type: e.Type, Time: tsTo(e.Time), Address: e.Address, Domain: e.Domain, Detail: e.Detail,
		})
	}
	return out, nil
}

var _ Mail = mailClient{}

type mailClient struct{ c pb.MailClient }

func (c mailClient) CreateDomain(ctx context.Context, req CreateDomainRequest) (Domain, error) {
	return call(ctx, c.c.CreateDomain, &pb.CreateDomainRequest{Name: req.Name, DkimSelector: req.DKIMSelector}, domainFrom)
}

func (c mailClient) ListDomains(ctx context.Context) ([]Domain, error) {
	return call(ctx, c.c.ListDomains, pbEmpty, func(l *pb.DomainList) []Domain {
		out := make([]Domain, 0, len(l.GetDomains()))
		for _, d := range l.GetDomains() {
			out = append(out, domainFrom(d))
		}
		return out
	})
}

func (c mailClient) GetDomain(ctx context.Context, name string) (Domain, error) {
	return call(ctx, c.c.GetDomain, &pb.IDRequest{Id: name}, domainFrom)
}

func (c mailClient) DeleteDomain(ctx context.Context, name string) error {
	return call0(ctx, c.c.DeleteDomain, &pb.IDRequest{Id: name})
}

func (c mailClient) SetDMARCPolicy(ctx context.Context, req SetDMARCPolicyRequest) (DNSRecord, error) {
	return call(ctx, c.c.SetDMARCPolicy, &pb.SetDMARCPolicyRequest{
		Domain: req.Domain, Policy: string(req.Policy), ReportAddress: req.ReportAddress, Percent: int32(req.Percent),
	}, recordFrom)
}

func (c mailClient) CreateMailbox(ctx context.Context, req CreateMailboxRequest) (Mailbox, error) {
	return call(ctx, c.c.CreateMailbox, &pb.CreateMailboxRequest{
		Address: req.Address, Name: req.Name, Password: req.Password, QuotaBytes: req.QuotaBytes, Aliases: req.Aliases,
	}, mailboxFrom)
}

func (c mailClient) GetMailbox(ctx context.Context, address string) (Mailbox, error) {
	return call(ctx, c.c.GetMailbox, &pb.IDRequest{Id: address}, mailboxFrom)
}

func (c mailClient) DeleteMailbox(ctx context.Context, address string) error {
	return call0(ctx, c.c.DeleteMailbox, &pb.IDRequest{Id: address})
}

func (c mailClient) FreezeMailbox(ctx context.Context, address string) error {
	return call0(ctx, c.c.FreezeMailbox, &pb.IDRequest{Id: address})
}

func (c mailClient) UnfreezeMailbox(ctx context.Context, address string) error {
	return call0(ctx, c.c.UnfreezeMailbox, &pb.IDRequest{Id: address})
}

func (c mailClient) SetMailboxPassword(ctx context.Context, address, password string) error {
	return call0(ctx, c.c.SetMailboxPassword, &pb.SetMailboxPasswordRequest{Address: address, Password: password})
}

func (c mailClient) ParseMailWebhook(ctx context.Context, hook Webhook) ([]MailEvent, error) {
	return call(ctx, c.c.ParseWebhook, webhookTo(hook), func(l *pb.MailEventList) []MailEvent {
		out := make([]MailEvent, 0, len(l.GetEvents()))
		for _, e := range l.GetEvents() {
			out = append(out, MailEvent{
				ID: e.GetId(), Type: e.GetType(), Time: tsFrom(e.GetTime()), Address: e.GetAddress(),
				Domain: e.GetDomain(), Detail: e.GetDetail(),
			})
		}
		return out
	})
}
