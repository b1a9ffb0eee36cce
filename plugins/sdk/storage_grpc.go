package sdk

import (
	"context"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

var _ pb.StorageServer = (*storageServer)(nil)

type storageServer struct {
	pb.UnimplementedStorageServer
	impl Storage
}

func (s *storageServer) EnsureSpace(ctx context.Context, r *pb.EnsureSpaceRequest) (*pb.Space, error) {
	sp, err := s.impl.EnsureSpace(ctx, EnsureSpaceRequest{TenantKey: r.GetTenantKey(), Name: r.GetName(), QuotaBytes: r.GetQuotaBytes()})
	if err != nil {
		return nil, err
	}
	return &pb.Space{Id: sp.ID, TenantKey: sp.TenantKey, Name: sp.Name, QuotaBytes: sp.QuotaBytes, Disabled: sp.Disabled}, nil
}

func (s *storageServer) GetUsage(ctx context.Context, r *pb.IDRequest) (*pb.Usage, error) {
	u, err := s.impl.GetUsage(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return &pb.Usage{Total: u.Total, Used: u.Used, Remaining: u.Remaining, State: u.State}, nil
}

func (s *storageServer) SetQuota(ctx context.Context, r *pb.SetQuotaRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.SetQuota(ctx, r.GetSpaceId(), r.GetQuotaBytes())
}

func (s *storageServer) DisableSpace(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DisableSpace(ctx, r.GetId())
}

func (s *storageServer) DeleteSpace(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteSpace(ctx, r.GetId())
}

func (s *storageServer) CreateUser(ctx context.Context, r *pb.CreateStorageUserRequest) (*pb.StorageUser, error) {
	u, err := s.impl.CreateStorageUser(ctx, CreateStorageUserRequest{Username: r.GetUsername(), Name: r.GetName(), Email: r.GetEmail()})
	if err != nil {
		return nil, err
	}
	return &pb.StorageUser{Id: u.ID, Username: u.Username, Name: u.Name, Email: u.Email}, nil
}

func (s *storageServer) DeleteUser(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteStorageUser(ctx, r.GetId())
}

func (s *storageServer) ReadAuditLog(ctx context.Context, r *pb.ReadAuditLogRequest) (*pb.AuditLogPage, error) {
	p, err := s.impl.ReadAuditLog(ctx, ReadAuditLogRequest{Cursor: r.GetCursor(), Max: int(r.GetMax())})
	if err != nil {
		return nil, err
	}
	return &pb.AuditLogPage{Lines: p.Lines, NextCursor: p.NextCursor, LineIds: p.LineIDs}, nil
}

var _ Storage = storageClient{}

type storageClient struct{ c pb.StorageClient }

func (c storageClient) EnsureSpace(ctx context.Context, req EnsureSpaceRequest) (Space, error) {
	return call(ctx, c.c.EnsureSpace, &pb.EnsureSpaceRequest{TenantKey: req.TenantKey, Name: req.Name, QuotaBytes: req.QuotaBytes}, func(s *pb.Space) Space {
		return Space{ID: s.GetId(), TenantKey: s.GetTenantKey(), Name: s.GetName(), QuotaBytes: s.GetQuotaBytes(), Disabled: s.GetDisabled()}
	})
}

func (c storageClient) GetUsage(ctx context.Context, spaceID string) (Usage, error) {
	return call(ctx, c.c.GetUsage, &pb.IDRequest{Id: spaceID}, func(u *pb.Usage) Usage {
		return Usage{Total: u.GetTotal(), Used: u.GetUsed(), Remaining: u.GetRemaining(), State: u.GetState()}
	})
}

func (c storageClient) SetQuota(ctx context.Context, spaceID string, quotaBytes int64) error {
	return call0(ctx, c.c.SetQuota, &pb.SetQuotaRequest{SpaceId: spaceID, QuotaBytes: quotaBytes})
}

func (c storageClient) DisableSpace(ctx context.Context, spaceID string) error {
	return call0(ctx, c.c.DisableSpace, &pb.IDRequest{Id: spaceID})
}

func (c storageClient) DeleteSpace(ctx context.Context, spaceID string) error {
	return call0(ctx, c.c.DeleteSpace, &pb.IDRequest{Id: spaceID})
}

func (c storageClient) CreateStorageUser(ctx context.Context, req CreateStorageUserRequest) (StorageUser, error) {
	return call(ctx, c.c.CreateUser, &pb.CreateStorageUserRequest{Username: req.Username, Name: req.Name, Email: req.Email}, func(u *pb.StorageUser) StorageUser {
		return StorageUser{ID: u.GetId(), Username: u.GetUsername(), Name: u.GetName(), Email: u.GetEmail()}
	})
}

func (c storageClient) DeleteStorageUser(ctx context.Context, userID string) error {
	return call0(ctx, c.c.DeleteUser, &pb.IDRequest{Id: userID})
}

func (c storageClient) ReadAuditLog(ctx context.Context, req ReadAuditLogRequest) (AuditLogPage, error) {
	return call(ctx, c.c.ReadAuditLog, &pb.ReadAuditLogRequest{Cursor: req.Cursor, Max: int64(req.Max)}, func(p *pb.AuditLogPage) AuditLogPage {
		return AuditLogPage{Lines: p.GetLines(), NextCursor: p.GetNextCursor(), LineIDs: p.GetLineIds()}
	})
}
