package sdk

import (
	"context"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

type providerServer struct {
	pb.UnimplementedProviderServer
	impl Provider
}

func (s *providerServer) Describe(ctx context.Context, _ *pb.Empty) (*pb.DescribeResponse, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	caps := d.Capabilities
	if len(caps) == 0 {
		caps = CapabilitiesOf(s.impl)
	}
	out := &pb.DescribeResponse{Name: d.Name, Version: d.Version, ProtocolVersion: ProtocolVersion}
	for _, c := range caps {
		out.Capabilities = append(out.Capabilities, string(c))
	}
	return out, nil
}

func (s *providerServer) Configure(ctx context.Context, r *pb.ConfigureRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.Configure(ctx, ConfigureRequest{Settings: r.GetSettings(), Secrets: r.GetSecrets()})
}

func (s *providerServer) Health(ctx context.Context, _ *pb.Empty) (*pb.HealthResponse, error) {
	h, err := s.impl.Health(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.HealthResponse{Healthy: h.Healthy, Message: h.Message}, nil
}

type providerClient struct{ c pb.ProviderClient }

func (c providerClient) Describe(ctx context.Context) (Description, error) {
	return call(ctx, c.c.Describe, pbEmpty, func(r *pb.DescribeResponse) Description {
		d := Description{Name: r.GetName(), Version: r.GetVersion(), ProtocolVersion: int(r.GetProtocolVersion())}
		for _, c := range r.GetCapabilities() {
			d.Capabilities = append(d.Capabilities, Capability(c))
		}
		return d
	})
}

func (c providerClient) Configure(ctx context.Context, req ConfigureRequest) error {
	return call0(ctx, c.c.Configure, &pb.ConfigureRequest{Settings: req.Settings, Secrets: req.Secrets})
}

func (c providerClient) Health(ctx context.Context) (HealthStatus, error) {
	return call(ctx, c.c.Health, pbEmpty, func(r *pb.HealthResponse) HealthStatus {
		return HealthStatus{Healthy: r.GetHealthy(), Message: r.GetMessage()}
	})
}

// CapabilitiesOf lists the capability interfaces p implements.
func CapabilitiesOf(p Provider) []Capability {
	var caps []Capability
	if _, ok := p.(Identity); ok {
		caps = append(caps, CapabilityIdentity)
	}
	if _, ok := p.(Mail); ok {
		caps = append(caps, CapabilityMail)
	}
	if _, ok := p.(Storage); ok {
		caps = append(caps, CapabilityStorage)
	}
	if _, ok := p.(DNS); ok {
		caps = append(caps, CapabilityDNS)
	}
	if _, ok := p.(Billing); ok {
		caps = append(caps, CapabilityBilling)
	}
	return caps
}
