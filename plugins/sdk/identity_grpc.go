package sdk

import (
	"context"
	"time"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

var _ pb.IdentityServer = (*identityServer)(nil)

type identityServer struct {
	pb.UnimplementedIdentityServer
	impl Identity
}

func (s *identityServer) EnsureGroup(ctx context.Context, r *pb.EnsureGroupRequest) (*pb.Group, error) {
	g, err := s.impl.EnsureGroup(ctx, EnsureGroupRequest{Name: r.GetName(), Attributes: r.GetAttributes()})
	if err != nil {
		return nil, err
	}
	return &pb.Group{Id: g.ID, Name: g.Name, Attributes: g.Attributes}, nil
}

func (s *identityServer) CreateUser(ctx context.Context, r *pb.CreateUserRequest) (*pb.User, error) {
	u, err := s.impl.CreateUser(ctx, CreateUserRequest{
		Username: r.GetUsername(), Name: r.GetName(), Email: r.GetEmail(), Active: r.GetActive(),
		Attributes: r.GetAttributes(), GroupIDs: r.GetGroupIds(),
	})
	if err != nil {
		return nil, err
	}
	return userTo(u), nil
}

func (s *identityServer) GetUser(ctx context.Context, r *pb.IDRequest) (*pb.User, error) {
	u, err := s.impl.GetUser(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return userTo(u), nil
}

func (s *identityServer) UpdateUser(ctx context.Context, r *pb.UpdateUserRequest) (*pb.User, error) {
	u, err := s.impl.UpdateUser(ctx, UpdateUserRequest{
		ID: r.GetId(), Name: r.Name, Email: r.Email, Active: r.Active,
		Attributes: r.GetAttributes(), RemoveAttributes: r.GetRemoveAttributes(),
	})
	if err != nil {
		return nil, err
	}
	return userTo(u), nil
}

func (s *identityServer) DeleteUser(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteUser(ctx, r.GetId())
}

func (s *identityServer) SetPassword(ctx context.Context, r *pb.SetPasswordRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.SetPassword(ctx, SetPasswordRequest{UserID: r.GetUserId(), Password: r.GetPassword(), Expired: r.GetExpired()})
}

func (s *identityServer) RecoveryLink(ctx context.Context, r *pb.IDRequest) (*pb.RecoveryLinkResponse, error) {
	l, err := s.impl.RecoveryLink(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	var expires int64
	if !l.ExpiresAt.IsZero() {
		expires = l.ExpiresAt.Unix()
	}
	return &pb.RecoveryLinkResponse{Ok: l.OK, Url: l.URL, Reason: l.Reason, ExpiresAtUnix: expires}, nil
}

func (s *identityServer) AddGroupMember(ctx context.Context, r *pb.GroupMemberRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.AddGroupMember(ctx, r.GetGroupId(), r.GetUserId())
}

func (s *identityServer) RemoveGroupMember(ctx context.Context, r *pb.GroupMemberRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.RemoveGroupMember(ctx, r.GetGroupId(), r.GetUserId())
}

func (s *identityServer) TerminateSessions(ctx context.Context, r *pb.IDRequest) (*pb.TerminateSessionsResponse, error) {
	n, err := s.impl.TerminateSessions(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	return &pb.TerminateSessionsResponse{Terminated: int64(n)}, nil
}

func (s *identityServer) CountAuthenticators(ctx context.Context, r *pb.IDRequest) (*pb.AuthenticatorCount, error) {
	c, err := s.impl.CountAuthenticators(ctx, r.GetId())
	if err != nil {
		return nil, err
	}
	out := &pb.AuthenticatorCount{Total: int64(c.Total), ByType: make(map[string]int64, len(c.ByType))}
	for k, v := range c.ByType {
		out.ByType[k] = int64(v)
	}
	return out, nil
}

func (s *identityServer) CreateOIDCApp(ctx context.Context, r *pb.CreateOIDCAppRequest) (*pb.OIDCApp, error) {
	a, err := s.impl.CreateOIDCApp(ctx, CreateOIDCAppRequest{
		Slug: r.GetSlug(), Name: r.GetName(), GroupID: r.GetGroupId(),
		RedirectURIs: r.GetRedirectUris(), LaunchURL: r.GetLaunchUrl(),
	})
	if err != nil {
		return nil, err
	}
	return &pb.OIDCApp{
		Id: a.ID, Slug: a.Slug, Name: a.Name, GroupId: a.GroupID,
		ClientId: a.ClientID, ClientSecret: a.ClientSecret, IssuerUrl: a.IssuerURL,
	}, nil
}

func (s *identityServer) DeleteOIDCApp(ctx context.Context, r *pb.IDRequest) (*pb.Empty, error) {
	return pbEmpty, s.impl.DeleteOIDCApp(ctx, r.GetId())
}

func (s *identityServer) EnsureRecoveryFlow(ctx context.Context, _ *pb.Empty) (*pb.RecoveryFlow, error) {
	f, err := s.impl.EnsureRecoveryFlow(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.RecoveryFlow{Id: f.ID, Slug: f.Slug, Created: f.Created}, nil
}

func (s *identityServer) ListEvents(ctx context.Context, r *pb.ListEventsRequest) (*pb.EventPage, error) {
	p, err := s.impl.ListEvents(ctx, ListEventsRequest{Cursor: r.GetCursor(), Limit: int(r.GetLimit())})
	if err != nil {
		return nil, err
	}
	out := &pb.EventPage{NextCursor: p.NextCursor}
	for _, e := range p.Events {
		out.Events = append(out.Events, &pb.IdentityEvent{
			Id: e.ID, Action: e.Action, Actor: e.Actor, ClientIp: e.ClientIP,
			Time: tsTo(e.Time), Attributes: e.Attributes,
		})
	}
	return out, nil
}

func userTo(u User) *pb.User {
	return &pb.User{
		Id: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, Active: u.Active,
		Attributes: u.Attributes, GroupIds: u.GroupIDs,
	}
}

func userFrom(u *pb.User) User {
	return User{
		ID: u.GetId(), Username: u.GetUsername(), Name: u.GetName(), Email: u.GetEmail(), Active: u.GetActive(),
		Attributes: u.GetAttributes(), GroupIDs: u.GetGroupIds(),
	}
}

var _ Identity = identityClient{}

type identityClient struct{ c pb.IdentityClient }

func (c identityClient) EnsureGroup(ctx context.Context, req EnsureGroupRequest) (Group, error) {
	return call(ctx, c.c.EnsureGroup, &pb.EnsureGroupRequest{Name: req.Name, Attributes: req.Attributes}, func(g *pb.Group) Group {
		return Group{ID: g.GetId(), Name: g.GetName(), Attributes: g.GetAttributes()}
	})
}

func (c identityClient) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	return call(ctx, c.c.CreateUser, &pb.CreateUserRequest{
		Username: req.Username, Name: req.Name, Email: req.Email, Active: req.Active,
		Attributes: req.Attributes, GroupIds: req.GroupIDs,
	}, userFrom)
}

func (c identityClient) GetUser(ctx context.Context, userID string) (User, error) {
	return call(ctx, c.c.GetUser, &pb.IDRequest{Id: userID}, userFrom)
}

func (c identityClient) UpdateUser(ctx context.Context, req UpdateUserRequest) (User, error) {
	return call(ctx, c.c.UpdateUser, &pb.UpdateUserRequest{
		Id: req.ID, Name: req.Name, Email: req.Email, Active: req.Active,
		Attributes: req.Attributes, RemoveAttributes: req.RemoveAttributes,
	}, userFrom)
}

func (c identityClient) DeleteUser(ctx context.Context, userID string) error {
	return call0(ctx, c.c.DeleteUser, &pb.IDRequest{Id: userID})
}

func (c identityClient) SetPassword(ctx context.Context, req SetPasswordRequest) error {
	return call0(ctx, c.c.SetPassword, &pb.SetPasswordRequest{UserId: req.UserID, Password: req.Password, Expired: req.Expired})
}

func (c identityClient) RecoveryLink(ctx context.Context, userID string) (RecoveryLink, error) {
	return call(ctx, c.c.RecoveryLink, &pb.IDRequest{Id: userID}, func(r *pb.RecoveryLinkResponse) RecoveryLink {
		l := RecoveryLink{OK: r.GetOk(), URL: r.GetUrl(), Reason: r.GetReason()}
		if r.GetExpiresAtUnix() > 0 {
			l.ExpiresAt = time.Unix(r.GetExpiresAtUnix(), 0).UTC()
		}
		return l
	})
}

func (c identityClient) AddGroupMember(ctx context.Context, groupID, userID string) error {
	return call0(ctx, c.c.AddGroupMember, &pb.GroupMemberRequest{GroupId: groupID, UserId: userID})
}

func (c identityClient) RemoveGroupMember(ctx context.Context, groupID, userID string) error {
	return call0(ctx, c.c.RemoveGroupMember, &pb.GroupMemberRequest{GroupId: groupID, UserId: userID})
}

func (c identityClient) TerminateSessions(ctx context.Context, userID string) (int, error) {
	return call(ctx, c.c.TerminateSessions, &pb.IDRequest{Id: userID}, func(r *pb.TerminateSessionsResponse) int {
		return int(r.GetTerminated())
	})
}

func (c identityClient) CountAuthenticators(ctx context.Context, userID string) (AuthenticatorCount, error) {
	return call(ctx, c.c.CountAuthenticators, &pb.IDRequest{Id: userID}, func(r *pb.AuthenticatorCount) AuthenticatorCount {
		out := AuthenticatorCount{Total: int(r.GetTotal()), ByType: make(map[string]int, len(r.GetByType()))}
		for k, v := range r.GetByType() {
			out.ByType[k] = int(v)
		}
		return out
	})
}

func (c identityClient) CreateOIDCApp(ctx context.Context, req CreateOIDCAppRequest) (OIDCApp, error) {
	return call(ctx, c.c.CreateOIDCApp, &pb.CreateOIDCAppRequest{
		Slug: req.Slug, Name: req.Name, GroupId: req.GroupID, RedirectUris: req.RedirectURIs, LaunchUrl: req.LaunchURL,
	}, func(a *pb.OIDCApp) OIDCApp {
		return OIDCApp{
			ID: a.GetId(), Slug: a.GetSlug(), Name: a.GetName(), GroupID: a.GetGroupId(),
			ClientID: a.GetClientId(), ClientSecret: a.GetClientSecret(), IssuerURL: a.GetIssuerUrl(),
		}
	})
}

func (c identityClient) DeleteOIDCApp(ctx context.Context, appID string) error {
	return call0(ctx, c.c.DeleteOIDCApp, &pb.IDRequest{Id: appID})
}

func (c identityClient) EnsureRecoveryFlow(ctx context.Context) (RecoveryFlow, error) {
	return call(ctx, c.c.EnsureRecoveryFlow, pbEmpty, func(f *pb.RecoveryFlow) RecoveryFlow {
		return RecoveryFlow{ID: f.GetId(), Slug: f.GetSlug(), Created: f.GetCreated()}
	})
}

func (c identityClient) ListEvents(ctx context.Context, req ListEventsRequest) (EventPage, error) {
	return call(ctx, c.c.ListEvents, &pb.ListEventsRequest{Cursor: req.Cursor, Limit: int64(req.Limit)}, func(p *pb.EventPage) EventPage {
		out := EventPage{NextCursor: p.GetNextCursor()}
		for _, e := range p.GetEvents() {
			out.Events = append(out.Events, IdentityEvent{
				ID: e.GetId(), Action: e.GetAction(), Actor: e.GetActor(), ClientIP: e.GetClientIp(),
				Time: tsFrom(e.GetTime()), Attributes: e.GetAttributes(),
			})
		}
		return out
	})
}
