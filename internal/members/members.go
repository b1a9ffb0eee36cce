// Package members is the tenant member lifecycle and the invitation of
// operators and partner staff.
//
// A member is a membership of one person (an ent User) in one tenant. Every
// change is one transaction: the membership row, the audit row, the
// PENDING provisioning status rows and the durable jobs (river, through
// internal/jobs, inserted with the change) commit together or not at all.
// One job kind converges one integration (IDENTITY, MAIL, STORAGE) of one
// member to the membership's current state; jobs are unique per (member,
// integration), every step is an idempotent ensure keyed by stable upstream
// names (the e-mail for the SSO and storage user, the address for the
// mailbox), so a retry, a reconcile or a crash at any point converges
// without duplicates. A job that ran while the membership changed again
// (its revision moved) runs once more.
//
// One-time credentials are issued inside the mutation, because the caller
// must see them in the response: the SSO user is ensured synchronously, then
// a recovery link (when the identity provider has a recovery flow) or a
// generated password marked expired is handed over. A credential is never
// written to the database, a log, an audit row or a job argument; the
// GraphQL idempotency layer strips it from the stored response. Mailboxes
// are created with a random password nobody learns (mail clients sign in
// through SSO); resetMemberPassword with a one-time password sets it on the
// mailbox too.
//
// Authorization: tenant admins, the tenant's partner staff and operators
// manage a tenant's members (enforced by the ent privacy rules underneath
// and checked up front for clear errors); a member manages nothing. Nobody
// suspends, logs out or removes themself, and the last ADMIN of a tenant
// cannot be removed or demoted.
//
// The SSO user of a new person is created with the e-mail as username; the
// local user's OIDC subject is the (lower-case) e-mail, so the identity
// provider's application for Dezky must use the username as subject.
package members

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/memberprovisioning"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// Providers is the set of capabilities the member lifecycle calls; the
// plugin host implements it. A capability without a plugin fails with
// UNSUPPORTED and its integration is SKIPPED.
type Providers interface {
	Identity() (sdk.Identity, error)
	Storage() (sdk.Storage, error)
	Mail() (sdk.Mail, error)
}

// Integration is one provisioned integration of a member.
type Integration = memberprovisioning.Integration

// The integrations, in report order.
const (
	Identity = memberprovisioning.IntegrationIdentity
	Storage  = memberprovisioning.IntegrationStorage
	Mail     = memberprovisioning.IntegrationMail
)

// Integrations lists every member integration in report order.
var Integrations = []Integration{Identity, Storage, Mail}

// Config configures a Service.
type Config struct {
	DB      *db.DB
	Tenancy *tenancy.Service
	// Providers may be nil: every integration is then SKIPPED and no
	// credential is issued.
	Providers Providers
	// Engine runs the provisioning jobs; register the worker with
	// Register before the engine starts.
	Engine *jobs.Engine
	Log    *slog.Logger
	// Backoff paces the retries of a failed job (defaults 2s, 5m).
	Backoff provisioning.Backoff
	// MaxAttempts discards a job after that many failed runs (default 20);
	// reconcileMember queues it again.
	MaxAttempts int
}

// Service is the member lifecycle domain service.
type Service struct {
	cfg    Config
	client *ent.Client
	// locks serialise the jobs of one (member, integration) on SQLite.
	locks sync.Map
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Backoff.Initial <= 0 {
		cfg.Backoff.Initial = 2 * time.Second
	}
	if cfg.Backoff.Max < cfg.Backoff.Initial {
		cfg.Backoff.Max = max(5*time.Minute, cfg.Backoff.Initial)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 20
	}
	return &Service{cfg: cfg, client: cfg.DB.Client}
}

// Register adds the member provisioning worker to the job engine. Call
// before the engine starts.
func (s *Service) Register(e *jobs.Engine) { jobs.AddWorker(e, &worker{s: s}) }

// CreateMemberInput is the input of CreateMember.
type CreateMemberInput struct {
	Email string
	Name  string
	// Role defaults to MEMBER.
	Role *membership.Role
	// Mailbox and Storage default to true.
	Mailbox *bool
	Storage *bool
}

// CredentialPayload is a member with the one-time credential issued for
// it (nil when none was issued: the person already had an SSO user, or no
// identity provider is configured).
type CredentialPayload struct {
	Member     *ent.Membership
	Credential *Credential
}

// LogoutPayload is the result of ForceLogout.
type LogoutPayload struct {
	Member        *ent.Membership
	SessionsEnded int
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// normalizeEmail trims and lower-cases an address and checks its shape.
func normalizeEmail(field, e string) (string, error) {
	e = strings.ToLower(strings.TrimSpace(e))
	if len(e) > 254 || !emailPattern.MatchString(e) {
		return "", apperr.Invalid(field, "must be an e-mail address")
	}
	return e, nil
}

func checkName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" || len(n) > 120 {
		return "", apperr.Invalid("name", "must be 1-120 characters")
	}
	return n, nil
}

// manage returns the tenant when the viewer may manage its members:
// operators, the tenant's partner staff and its admins. A member of the
// tenant is refused with FORBIDDEN; a tenant the viewer cannot see is
// NOT_FOUND.
func (s *Service) manage(ctx context.Context, slug string) (*ent.Tenant, error) {
	t, err := s.cfg.Tenancy.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, err
	}
	v := viewer.FromContext(ctx)
	switch {
	case v.Privileged():
	case v.PartnerID != 0 && t.PartnerID != nil && *t.PartnerID == v.PartnerID:
	default:
		if r, ok := v.RoleIn(t.ID); ok && r == viewer.RoleAdmin {
			break
		}
		return nil, apperr.Forbiddenf("only the tenant's admins, its partner and operators may manage members")
	}
	if t.Status == tenant.StatusDeleted {
		return nil, apperr.Conflictf("tenant %s is deleted", t.Slug)
	}
	return t, nil
}

// member loads the membership of email in t, with its user and tenant.
func (s *Service) member(ctx context.Context, t *ent.Tenant, email string) (*ent.Membership, error) {
	email, err := normalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	m, err := db.Client(ctx, s.client).Membership.Query().
		Where(membership.TenantID(t.ID), membership.HasUserWith(user.EmailEqualFold(email))).
		WithUser().WithTenant().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.NotFoundf("no member %s in tenant %s", email, t.Slug)
	}
	if err != nil {
		return nil, fmt.Errorf("members: load %s: %w", email, err)
	}
	return m, nil
}

// notSelf refuses an action on the caller's own membership.
func notSelf(ctx context.Context, m *ent.Membership, what string) error {
	if v := viewer.FromContext(ctx); v != nil && v.UserID != 0 && v.UserID == m.UserID {
		return apperr.Forbiddenf("you cannot %s yourself", what)
	}
	return nil
}

// notLastAdmin refuses when m is the only ADMIN of its tenant left.
func (s *Service) notLastAdmin(ctx context.Context, m *ent.Membership, what string) error {
	if m.Role != membership.RoleAdmin {
		return nil
	}
	n, err := db.Client(ctx, s.client).Membership.Query().Where(membership.TenantID(m.TenantID),
		membership.RoleEQ(membership.RoleAdmin), membership.StatusNEQ(membership.StatusRemoving)).
		// Counting the tenant's admins, whoever the caller may see.
		Count(rule.Bypass(ctx))
	if err != nil {
		return fmt.Errorf("members: count admins: %w", err)
	}
	if n <= 1 {
		return apperr.Conflictf("cannot %s the last ADMIN of tenant %s", what, m.Edges.Tenant.Slug)
	}
	return nil
}

func auditMember(ctx context.Context, action string, m *ent.Membership, meta map[string]any) error {
	return audit.Record(ctx, audit.Event{
		Action: action, ResourceType: "member", ResourceID: strconv.Itoa(m.ID),
		ResourceName: m.Edges.User.Email, Tenant: m.Edges.Tenant, Metadata: meta,
	})
}

// CreateMember adds a person to a tenant and queues their provisioning.
// The SSO user is ensured at once so that its one-time credential can be
// returned; when the identity provider cannot be reached the member is not
// created (UNAVAILABLE).
func (s *Service) CreateMember(ctx context.Context, slug string, in CreateMemberInput) (*CredentialPayload, error) {
	email, err := normalizeEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	role := membership.RoleMember
	if in.Role != nil {
		if err := membership.RoleValidator(*in.Role); err != nil {
			return nil, apperr.Invalid("role", "must be ADMIN or MEMBER")
		}
		role = *in.Role
	}
	var out *CredentialPayload
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		dup, err := c.Membership.Query().Where(membership.TenantID(t.ID), membership.HasUserWith(user.EmailEqualFold(email))).
			// The duplicate check must see every member of the tenant.
			Exist(rule.Bypass(ctx))
		if err != nil {
			return fmt.Errorf("members: check duplicate: %w", err)
		}
		if dup {
			return apperr.Conflictf("%s is already a member of tenant %s", email, t.Slug)
		}
		u, err := s.person(ctx, email, name)
		if err != nil {
			return err
		}
		m, err := c.Membership.Create().SetUserID(u.ID).SetTenantID(t.ID).SetRole(role).
			SetStatus(membership.StatusPending).
			SetWantMailbox(in.Mailbox == nil || *in.Mailbox).SetWantStorage(in.Storage == nil || *in.Storage).
			Save(ctx)
		if err != nil {
			return apperr.About(err, "member")
		}
		m.Edges.User, m.Edges.Tenant = u, t
		cred, err := s.ensureSSOUser(ctx, tenantGroup(t), u)
		if err != nil {
			return err
		}
		if err := s.enqueue(ctx, m, "member created", Integrations...); err != nil {
			return err
		}
		if err := auditMember(ctx, "member.created", m, map[string]any{
			"role": string(role), "mailbox": m.WantMailbox, "storage": m.WantStorage, "handoff": cred.handoff(),
		}); err != nil {
			return err
		}
		out = &CredentialPayload{Member: m, Credential: cred}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// person returns the user with email, creating it (subject: the e-mail)
// when nobody has it yet.
func (s *Service) person(ctx context.Context, email, name string) (*ent.User, error) {
	c := ent.FromContext(ctx)
	// The person may already exist outside the caller's reach (a member of
	// another tenant, partner staff): looking them up by address.
	u, err := c.User.Query().Where(user.EmailEqualFold(email)).Order(ent.Asc(user.FieldID)).First(rule.Bypass(ctx))
	if err == nil {
		return u, nil
	}
	if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("members: find user: %w", err)
	}
	u, err = c.User.Create().SetSubject(email).SetEmail(email).SetName(name).Save(ctx)
	if err != nil {
		return nil, apperr.About(err, "user")
	}
	return u, nil
}

// ensureSSOUser ensures the person's SSO user in group and,
// when the person had none yet, issues its one-time credential. Without an
// identity provider it does nothing (the job reports SKIPPED).
func (s *Service) ensureSSOUser(ctx context.Context, group sdk.EnsureGroupRequest, u *ent.User) (*Credential, error) {
	idp, err := s.identity()
	if errors.Is(err, errSkipped) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("identity provider", err)
	}
	g, err := idp.EnsureGroup(ctx, group)
	if err != nil {
		return nil, unavailable("identity provider", err)
	}
	groups := []string{g.ID}
	had := u.IdentityID != nil && *u.IdentityID != ""
	su, err := idp.CreateUser(ctx, sdk.CreateUserRequest{Username: u.Email, Name: u.Name, Email: u.Email, Active: true, GroupIDs: groups})
	if err != nil {
		return nil, unavailable("identity provider", err)
	}
	for _, g := range groups {
		if err := idp.AddGroupMember(ctx, g, su.ID); err != nil {
			return nil, unavailable("identity provider", err)
		}
	}
	if !had {
		// The SSO user's ID is the platform's record, not the caller's to write.
		if err := ent.FromContext(ctx).User.UpdateOneID(u.ID).SetIdentityID(su.ID).Exec(rule.Bypass(ctx)); err != nil {
			return nil, fmt.Errorf("members: record SSO user: %w", err)
		}
		id := su.ID
		u.IdentityID = &id
	}
	if had && *u.IdentityID == su.ID {
		return nil, nil // an existing person keeps their password
	}
	cred, err := issueCredential(ctx, idp, su.ID)
	if err != nil {
		return nil, unavailable("identity provider", err)
	}
	return cred, nil
}

// unavailable maps a provider failure to UNAVAILABLE with the upstream's
// message (provider errors carry no secrets).
func unavailable(what string, err error) error {
	return &apperr.Error{Code: apperr.Unavailable, Message: what + ": " + err.Error() + "; nothing was changed", Err: err}
}

func tenantGroup(t *ent.Tenant) sdk.EnsureGroupRequest {
	return sdk.EnsureGroupRequest{Name: provisioning.GroupName(t.Slug),
		Attributes: map[string]string{"dezky_tenant": t.Slug, "dezky_tenant_name": t.Name}}
}

// transition changes a member's status, bumps its revision and re-drives
// every integration.
func (s *Service) transition(ctx context.Context, slug, email, action string, check func(context.Context, *ent.Membership) error,
	to membership.Status) (*ent.Membership, error) {
	var out *ent.Membership
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, t, email)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(ctx, m); err != nil {
				return err
			}
		}
		from := m.Status
		if from == to {
			out = m // already there: nothing to do
			return nil
		}
		if from == membership.StatusRemoving {
			return apperr.Conflictf("%s is being removed", m.Edges.User.Email)
		}
		n, err := ent.FromContext(ctx).Membership.UpdateOne(m).SetStatus(to).AddRevision(1).Save(ctx)
		if err != nil {
			return apperr.About(err, "member")
		}
		n.Edges = m.Edges
		if err := s.enqueue(ctx, n, action, Integrations...); err != nil {
			return err
		}
		if err := auditMember(ctx, "member."+action, n, map[string]any{"from": string(from), "to": string(to)}); err != nil {
			return err
		}
		out = n
		return nil
	})
	return out, err
}

// SuspendMember deactivates the member's SSO access and freezes the
// mailbox; passwords are kept. Not yourself.
func (s *Service) SuspendMember(ctx context.Context, slug, email string) (*ent.Membership, error) {
	return s.transition(ctx, slug, email, "suspended", func(ctx context.Context, m *ent.Membership) error {
		return notSelf(ctx, m, "suspend")
	}, membership.StatusSuspended)
}

// ResumeMember undoes SuspendMember.
func (s *Service) ResumeMember(ctx context.Context, slug, email string) (*ent.Membership, error) {
	return s.transition(ctx, slug, email, "resumed", func(ctx context.Context, m *ent.Membership) error {
		if m.Status != membership.StatusSuspended && m.Status != membership.StatusActive {
			return apperr.Conflictf("%s is %s, not SUSPENDED", m.Edges.User.Email, m.Status)
		}
		return nil
	}, membership.StatusActive)
}

// RemoveMember stops the membership granting access at once and queues
// the teardown of its mailbox, storage user and SSO identity (the identity
// stays, minus this tenant's group, while the person is a member elsewhere).
// Not yourself; not the last ADMIN.
func (s *Service) RemoveMember(ctx context.Context, slug, email string) (*ent.Membership, error) {
	return s.transition(ctx, slug, email, "removal_requested", func(ctx context.Context, m *ent.Membership) error {
		if err := notSelf(ctx, m, "remove"); err != nil {
			return err
		}
		return s.notLastAdmin(ctx, m, "remove")
	}, membership.StatusRemoving)
}

// SetMemberRole changes a member's role; the last ADMIN is not demoted.
func (s *Service) SetMemberRole(ctx context.Context, slug, email string, role membership.Role) (*ent.Membership, error) {
	if err := membership.RoleValidator(role); err != nil {
		return nil, apperr.Invalid("role", "must be ADMIN or MEMBER")
	}
	var out *ent.Membership
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, t, email)
		if err != nil {
			return err
		}
		if m.Role == role {
			out = m
			return nil
		}
		if m.Status == membership.StatusRemoving {
			return apperr.Conflictf("%s is being removed", m.Edges.User.Email)
		}
		if role != membership.RoleAdmin {
			if err := s.notLastAdmin(ctx, m, "demote"); err != nil {
				return err
			}
		}
		n, err := ent.FromContext(ctx).Membership.UpdateOne(m).SetRole(role).Save(ctx)
		if err != nil {
			return apperr.About(err, "member")
		}
		n.Edges = m.Edges
		out = n
		return auditMember(ctx, "member.role_changed", n, map[string]any{"from": string(m.Role), "to": string(role)})
	})
	return out, err
}

// ReconcileMember re-drives every integration of a member.
func (s *Service) ReconcileMember(ctx context.Context, slug, email string) (*ent.Membership, error) {
	var out *ent.Membership
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, t, email)
		if err != nil {
			return err
		}
		n, err := ent.FromContext(ctx).Membership.UpdateOne(m).AddRevision(1).Save(ctx)
		if err != nil {
			return apperr.About(err, "member")
		}
		n.Edges = m.Edges
		if err := s.enqueue(ctx, n, "reconcile requested", Integrations...); err != nil {
			return err
		}
		out = n
		return auditMember(ctx, "member.reconcile_requested", n, nil)
	})
	return out, err
}

// ForceLogout ends every session of the member's SSO user, and only
// theirs. Not yourself.
func (s *Service) ForceLogout(ctx context.Context, slug, email string) (*LogoutPayload, error) {
	var out *LogoutPayload
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, t, email)
		if err != nil {
			return err
		}
		if err := notSelf(ctx, m, "log out"); err != nil {
			return err
		}
		idp, uid, err := s.ssoUser(m)
		if err != nil {
			return err
		}
		n, err := idp.TerminateSessions(ctx, uid)
		if err != nil {
			return unavailable("identity provider", err)
		}
		out = &LogoutPayload{Member: m, SessionsEnded: n}
		return auditMember(ctx, "member.sessions_terminated", m, map[string]any{"sessions": n})
	})
	return out, err
}

// ResetPassword issues a new one-time credential for the member's SSO
// user; a one-time password is set on the mailbox as well.
func (s *Service) ResetPassword(ctx context.Context, slug, email string) (*CredentialPayload, error) {
	var out *CredentialPayload
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		t, err := s.manage(ctx, slug)
		if err != nil {
			return err
		}
		m, err := s.member(ctx, t, email)
		if err != nil {
			return err
		}
		if m.Status == membership.StatusRemoving {
			return apperr.Conflictf("%s is being removed", m.Edges.User.Email)
		}
		idp, uid, err := s.ssoUser(m)
		if err != nil {
			return err
		}
		cred, err := issueCredential(ctx, idp, uid)
		if err != nil {
			return unavailable("identity provider", err)
		}
		mailbox := false
		if cred.Kind == OneTimePassword && m.Mailbox != nil {
			if mail, err := s.mail(); err == nil {
				if err := mail.SetMailboxPassword(ctx, *m.Mailbox, cred.Value); err != nil {
					return unavailable("mail server", err)
				}
				mailbox = true
			}
		}
		out = &CredentialPayload{Member: m, Credential: cred}
		return auditMember(ctx, "member.password_reset", m, map[string]any{"handoff": cred.handoff(), "mailbox": mailbox})
	})
	return out, err
}

// ssoUser returns the identity provider and the member's SSO user ID.
func (s *Service) ssoUser(m *ent.Membership) (sdk.Identity, string, error) {
	idp, err := s.identity()
	if errors.Is(err, errSkipped) {
		return nil, "", apperr.Conflictf("no identity provider is configured")
	}
	if err != nil {
		return nil, "", unavailable("identity provider", err)
	}
	u := m.Edges.User
	if u.IdentityID == nil || *u.IdentityID == "" {
		return nil, "", apperr.Conflictf("%s has no SSO user yet: reconcile the member", u.Email)
	}
	return idp, *u.IdentityID, nil
}

// enqueue marks integrations PENDING and inserts their jobs in ctx's
// transaction (the one of the change that needs them).
func (s *Service) enqueue(ctx context.Context, m *ent.Membership, reason string, integrations ...Integration) error {
	// Status rows are system-owned; the change that needs them is the
	// caller's, who stays the actor of the transaction.
	sys := rule.Bypass(ctx)
	c := ent.FromContext(ctx)
	if c == nil {
		return errors.New("members: enqueue needs the change's transaction")
	}
	for _, i := range integrations {
		msg := "queued: " + reason
		if err := c.MemberProvisioning.Create().SetMembershipID(m.ID).SetIntegration(i).
			SetStatus(memberprovisioning.StatusPending).SetMessage(msg).
			OnConflictColumns(memberprovisioning.FieldMembershipID, memberprovisioning.FieldIntegration).
			Update(func(u *ent.MemberProvisioningUpsert) {
				u.SetStatus(memberprovisioning.StatusPending).SetMessage(msg).UpdateUpdatedAt()
			}).Exec(sys); err != nil {
			return fmt.Errorf("members: mark %s pending: %w", i, err)
		}
		if err := s.cfg.Engine.InsertTx(ctx, JobArgs{MembershipID: m.ID, Integration: string(i), Revision: m.Revision}, &river.InsertOpts{
			MaxAttempts: s.cfg.MaxAttempts,
			// One job per (member, integration, revision); completed jobs
			// do not count, so re-driving a revision queues it again.
			UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
				rivertype.JobStateRunning, rivertype.JobStateScheduled,
			}},
		}); err != nil {
			return fmt.Errorf("members: queue %s: %w", i, err)
		}
	}
	return nil
}

// Statuses reports every integration of a member the viewer can see
// (callers pass a membership loaded through the viewer's privacy).
func (s *Service) Statuses(ctx context.Context, m *ent.Membership) ([]*provisioning.IntegrationStatus, error) {
	rows, err := db.Client(ctx, s.client).MemberProvisioning.Query().Where(memberprovisioning.MembershipID(m.ID)).
		// Status rows are system-owned; the caller already saw the member.
		All(rule.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("members: statuses: %w", err)
	}
	by := map[Integration]*ent.MemberProvisioning{}
	for _, r := range rows {
		by[r.Integration] = r
	}
	out := make([]*provisioning.IntegrationStatus, 0, len(Integrations))
	for _, i := range Integrations {
		st := &provisioning.IntegrationStatus{Integration: provisioningstate.Integration(i), Status: provisioning.StatusPending,
			Message: "never provisioned: run reconcileMember", UpdatedAt: m.CreatedAt}
		if r, ok := by[i]; ok {
			st.Status, st.Message, st.UpdatedAt = provisioningstate.Status(r.Status), r.Message, r.UpdatedAt
		}
		out = append(out, st)
	}
	return out, nil
}

// MFAEnrolled asks the identity provider whether the user enrolled an
// authenticator (counts cached for MFACacheTTL); nil when unknown.
func (s *Service) MFAEnrolled(ctx context.Context, u *ent.User) *bool {
	if u == nil {
		return nil
	}
	idp, err := s.identity()
	n, ok := s.authenticators(ctx, idp, err, u, time.Now())
	if !ok {
		return nil
	}
	enrolled := n > 0
	return &enrolled
}

// errSkipped marks a capability without a plugin.
var errSkipped = errors.New("not configured")

func (s *Service) identity() (sdk.Identity, error) { return capability(s, Providers.Identity) }
func (s *Service) mail() (sdk.Mail, error)         { return capability(s, Providers.Mail) }
func (s *Service) storage() (sdk.Storage, error)   { return capability(s, Providers.Storage) }

// capability returns the plugin serving one capability, errSkipped when
// none is configured or it does not serve the capability.
func capability[T any](s *Service, get func(Providers) (T, error)) (T, error) {
	var zero T
	if s.cfg.Providers == nil {
		return zero, errSkipped
	}
	p, err := get(s.cfg.Providers)
	if sdk.IsUnsupported(err) {
		return zero, errSkipped
	}
	return p, err
}

// Start prepares the identity provider for one-time credentials: it
// ensures a password recovery flow (EnsureRecoveryFlow), so that
// credentials are recovery links rather than passwords. A failure is
// logged and leaves the one-time password fallback in place.
func (s *Service) Start(ctx context.Context) {
	idp, err := s.identity()
	if errors.Is(err, errSkipped) {
		return
	}
	if err == nil {
		var f sdk.RecoveryFlow
		if f, err = idp.EnsureRecoveryFlow(ctx); err == nil {
			s.cfg.Log.InfoContext(ctx, "identity recovery flow ready", "flow", f.Slug, "created", f.Created)
			return
		}
	}
	s.cfg.Log.WarnContext(ctx, "identity recovery flow not ensured: one-time passwords are issued instead of recovery links", "err", err)
}

// ReconcileAll queues every integration of every member of every tenant
// that is not deleted, as the system (for example after the embedded demo
// started with fresh in-memory upstreams). It returns how many members were
// queued.
func (s *Service) ReconcileAll(ctx context.Context, reason string) (int, error) {
	sys := viewer.SystemContext(ctx)
	n := 0
	err := db.WithTx(sys, s.client, func(ctx context.Context) error {
		ms, err := ent.FromContext(ctx).Membership.Query().
			Where(membership.HasTenantWith(tenant.StatusNEQ(tenant.StatusDeleted))).All(ctx)
		if err != nil {
			return fmt.Errorf("members: list: %w", err)
		}
		for _, m := range ms {
			m, err := ent.FromContext(ctx).Membership.UpdateOne(m).AddRevision(1).Save(ctx)
			if err != nil {
				return fmt.Errorf("members: bump revision: %w", err)
			}
			if err := s.enqueue(ctx, m, reason, Integrations...); err != nil {
				return err
			}
		}
		n = len(ms)
		return nil
	})
	return n, err
}

// Queued counts the member integrations still PENDING, across every
// tenant (for tests and readiness checks; no caller's data is returned).
func (s *Service) Queued(ctx context.Context) (int, error) {
	return s.client.MemberProvisioning.Query().Where(memberprovisioning.StatusEQ(memberprovisioning.StatusPending)).
		// A count across tenants, whoever asks.
		Count(rule.Bypass(ctx))
}
