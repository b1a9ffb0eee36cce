package sdk

import (
	"context"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

var _ pb.DNSServer = (*dnsServer)(nil)

type dnsServer struct {
	pb.UnimplementedDNSServer
	impl DNS
}

func (s *dnsServer) Lookup(ctx context.Context, r *pb.LookupRequest) (*pb.LookupResult, error) {
	res, err := s.impl.Lookup(ctx, LookupRequest{Name: r.GetName(), Type: r.GetType()})
	if err != nil {
		return nil, err
	}
	return &pb.LookupResult{Records: recordsTo(res.Records), Resolver: res.Resolver}, nil
}

func (s *dnsServer) UpsertRecord(ctx context.Context, r *pb.RecordChange) (*pb.Empty, error) {
	return pbEmpty, s.impl.UpsertRecord(ctx, RecordChange{Zone: r.GetZone(), Record: recordFrom(r.GetRecord())})
}

func (s *dnsServer) DeleteRecord(ctx context.Context, r *pb.RecordChange) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteRecord(ctx, RecordChange{Zone: r.GetZone(), Record: recordFrom(r.GetRecord())})
}

var _ DNS = dnsClient{}

type dnsClient struct{ c pb.DNSClient }

func (c dnsClient) Lookup(ctx context.Context, req LookupRequest) (LookupResult, error) {
	return call(ctx, c.c.Lookup, &pb.LookupRequest{Name: req.Name, Type: req.Type}, func(r *pb.LookupResult) LookupResult {
		return LookupResult{Records: recordsFrom(r.GetRecords()), Resolver: r.GetResolver()}
	})
}

func (c dnsClient) UpsertRecord(ctx context.Context, req RecordChange) error {
	return call0(ctx, c.c.UpsertRecord, &pb.RecordChange{Zone: req.Zone, Record: recordTo(req.Record)})
}

func (c dnsClient) DeleteRecord(ctx context.Context, req RecordChange) error {
	return call0(ctx, c.c.DeleteRecord, &pb.RecordChange{Zone: req.Zone, Record: recordTo(req.Record)})
}
