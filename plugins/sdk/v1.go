package sdk

import (
	"context"
	"maps"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pbv1 "github.com/dezky/platform/plugins/proto/v1"
	pb "github.com/dezky/platform/plugins/proto/v2"
)

// grpcPluginV1 is the host-side glue for protocol 1 plugins. Protocol 1
// served only the Provider service and four identity operations; the
// returned Remote adapts them to the current interfaces. Every other
// operation goes to the (absent) protocol 2 services and so fails with
// UNSUPPORTED.
type grpcPluginV1 struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = grpcPluginV1{}

func (grpcPluginV1) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return Unsupported("sdk: protocol 1 is served by legacy plugins only")
}

func (grpcPluginV1) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	r := newRemote(c)
	return &remoteV1{
		v1Provider: v1Provider{c: pbv1.NewProviderClient(c)},
		v1Identity: v1Identity{identityClient: identityClient{c: pb.NewIdentityClient(c)}, v1: pbv1.NewIdentityClient(c)},
		mailClient: r.mailClient, storageClient: r.storageClient, dnsClient: r.dnsClient, billingClient: r.billingClient,
	}, nil
}

type remoteV1 struct {
	v1Provider
	v1Identity
	mailClient
	storageClient
	dnsClient
	billingClient
}

var _ Remote = (*remoteV1)(nil)

type v1Provider struct{ c pbv1.ProviderClient }

func (p v1Provider) Describe(ctx context.Context) (Description, error) {
	return call(ctx, p.c.Describe, &pbv1.Empty{}, func(r *pbv1.DescribeResponse) Description {
		d := Description{Name: r.GetName(), Version: r.GetVersion(), ProtocolVersion: 1}
		for _, c := range r.GetCapabilities() {
			d.Capabilities = append(d.Capabilities, Capability(c))
		}
		return d
	})
}

// Configure merges secrets into the single protocol 1 configuration map.
func (p v1Provider) Configure(ctx context.Context, req ConfigureRequest) error {
	cfg := make(map[string]string, len(req.Settings)+len(req.Secrets))
	maps.Copy(cfg, req.Settings)
	maps.Copy(cfg, req.Secrets)
	return call0(ctx, p.c.Configure, &pbv1.ConfigureRequest{Config: cfg})
}

func (p v1Provider) Health(ctx context.Context) (HealthStatus, error) {
	return call(ctx, p.c.Health, &pbv1.Empty{}, func(r *pbv1.HealthResponse) HealthStatus {
		msg := "ok"
		if !r.GetOk() {
			msg = "unhealthy (protocol 1 reports no detail)"
		}
		return HealthStatus{Healthy: r.GetOk(), Message: msg}
	})
}

// v1Identity overrides the operations protocol 1 knows; the embedded
// protocol 2 client answers the rest with UNSUPPORTED.
type v1Identity struct {
	identityClient
	v1 pbv1.IdentityClient
}

func userFromV1(u *pbv1.User) User {
	return User{ID: u.GetId(), Username: u.GetUsername(), Name: u.GetName(), Email: u.GetEmail(), Active: u.GetActive()}
}

func (i v1Identity) EnsureGroup(ctx context.Context, req EnsureGroupRequest) (Group, error) {
	if len(req.Attributes) > 0 {
		return Group{}, Unsupported("group attributes need protocol 2")
	}
	return call(ctx, i.v1.EnsureGroup, &pbv1.EnsureGroupRequest{Name: req.Name}, func(g *pbv1.Group) Group {
		return Group{ID: g.GetId(), Name: g.GetName()}
	})
}

func (i v1Identity) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	if len(req.Attributes) > 0 || len(req.GroupIDs) > 0 {
		return User{}, Unsupported("user attributes and groups on create need protocol 2")
	}
	return call(ctx, i.v1.CreateUser, &pbv1.CreateUserRequest{
		Username: req.Username, Name: req.Name, Email: req.Email, Active: req.Active,
	}, userFromV1)
}

func (i v1Identity) GetUser(ctx context.Context, userID string) (User, error) {
	return call(ctx, i.v1.GetUser, &pbv1.GetUserRequest{Id: userID}, userFromV1)
}

func (i v1Identity) DeleteUser(ctx context.Context, userID string) error {
	return call0(ctx, i.v1.DeleteUser, &pbv1.DeleteUserRequest{Id: userID})
}
