// Command v1fixture is a provider plugin built against protocol version 1,
// the previous protocol: it serves only the dezky.plugin.v1 Provider and
// Identity services with go-plugin directly, as plugins built before
// protocol 2 did. Tests build it as dezky-provider-legacy to prove that the
// current host still loads it.
package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pbv1 "github.com/dezky/platform/plugins/proto/v1"
	"github.com/dezky/platform/plugins/sdk"
)

func main() {
	impl := &legacy{groups: map[string]*pbv1.Group{}, users: map[string]*pbv1.User{}}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: plugin.HandshakeConfig{
			ProtocolVersion:  1,
			MagicCookieKey:   sdk.MagicCookieKey,
			MagicCookieValue: sdk.MagicCookieValue,
		},
		VersionedPlugins: map[int]plugin.PluginSet{1: {sdk.PluginName: &grpcPlugin{impl: impl}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl *legacy
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pbv1.RegisterProviderServer(s, providerServer{impl: p.impl})
	pbv1.RegisterIdentityServer(s, identityServer{impl: p.impl})
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("v1fixture: plugin side only")
}

type legacy struct {
	mu     sync.Mutex
	seq    int
	config map[string]string
	groups map[string]*pbv1.Group
	users  map[string]*pbv1.User
}

type providerServer struct {
	pbv1.UnimplementedProviderServer
	impl *legacy
}

func (s providerServer) Describe(context.Context, *pbv1.Empty) (*pbv1.DescribeResponse, error) {
	return &pbv1.DescribeResponse{Name: "legacy", Version: "0.9.0", Capabilities: []string{"identity"}}, nil
}

func (s providerServer) Configure(_ context.Context, r *pbv1.ConfigureRequest) (*pbv1.Empty, error) {
	s.impl.mu.Lock()
	defer s.impl.mu.Unlock()
	s.impl.config = r.GetConfig()
	return &pbv1.Empty{}, nil
}

func (s providerServer) Health(context.Context, *pbv1.Empty) (*pbv1.HealthResponse, error) {
	return &pbv1.HealthResponse{Ok: true}, nil
}

type identityServer struct {
	pbv1.UnimplementedIdentityServer
	impl *legacy
}

func (s identityServer) EnsureGroup(_ context.Context, r *pbv1.EnsureGroupRequest) (*pbv1.Group, error) {
	if r.GetName() == "" {
		return nil, status.Error(codes.InvalidArgument, "group name is required")
	}
	s.impl.mu.Lock()
	defer s.impl.mu.Unlock()
	for _, g := range s.impl.groups {
		if g.GetName() == r.GetName() {
			return g, nil
		}
	}
	s.impl.seq++
	g := &pbv1.Group{Id: "g" + strconv.Itoa(s.impl.seq), Name: r.GetName()}
	s.impl.groups[g.GetId()] = g
	return g, nil
}

func (s identityServer) CreateUser(_ context.Context, r *pbv1.CreateUserRequest) (*pbv1.User, error) {
	if r.GetUsername() == "" {
		return nil, status.Error(codes.InvalidArgument, "username is required")
	}
	s.impl.mu.Lock()
	defer s.impl.mu.Unlock()
	for _, u := range s.impl.users {
		if u.GetUsername() == r.GetUsername() {
			return u, nil
		}
	}
	s.impl.seq++
	u := &pbv1.User{Id: "u" + strconv.Itoa(s.impl.seq), Username: r.GetUsername(), Name: r.GetName(), Email: r.GetEmail(), Active: r.GetActive()}
	s.impl.users[u.GetId()] = u
	return u, nil
}

func (s identityServer) GetUser(_ context.Context, r *pbv1.GetUserRequest) (*pbv1.User, error) {
	s.impl.mu.Lock()
	defer s.impl.mu.Unlock()
	u, ok := s.impl.users[r.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "user %q not found", r.GetId())
	}
	return u, nil
}

func (s identityServer) DeleteUser(_ context.Context, r *pbv1.DeleteUserRequest) (*pbv1.Empty, error) {
	s.impl.mu.Lock()
	defer s.impl.mu.Unlock()
	if _, ok := s.impl.users[r.GetId()]; !ok {
		return nil, status.Errorf(codes.NotFound, "user %q not found", r.GetId())
	}
	delete(s.impl.users, r.GetId())
	return &pbv1.Empty{}, nil
}
