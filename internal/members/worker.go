package members

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/memberprovisioning"
	"github.com/dezky/platform/ent/membership"
	"github.com/dezky/platform/ent/provisioningstate"
	"github.com/dezky/platform/ent/user"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/viewer"
	"github.com/dezky/platform/plugins/sdk"
)

// JobArgs is the durable job that converges one integration of one member
// to the membership's current state. It carries IDs only, never a secret.
//
// A job is unique per (member, integration, revision): every lifecycle
// change bumps the membership's revision and queues all three
// integrations, so a job of an older revision that has not run yet is
// superseded and ends at once. Jobs of one (member, integration) never run
// at the same time (see lockIntegration).
type JobArgs struct {
	MembershipID int    `json:"membership_id" river:"unique"`
	Integration  string `json:"integration" river:"unique"`
	Revision     int    `json:"revision" river:"unique"`
}

// Kind implements river.JobArgs.
func (JobArgs) Kind() string { return "member_provision" }

// Keys of the upstream IDs recorded per integration.
const (
	extUserID  = "user_id"
	extGroupID = "group_id"
	extAddress = "address"
)

type worker struct {
	river.WorkerDefaults[JobArgs]
	s *Service
}

// NextRetry paces retries with the configured backoff.
func (w *worker) NextRetry(job *river.Job[JobArgs]) time.Time {
	return time.Now().Add(w.s.cfg.Backoff.Delay(max(job.Attempt, 1)))
}

// Timeout bounds one run; a hung provider call is retried.
func (w *worker) Timeout(*river.Job[JobArgs]) time.Duration { return 2 * time.Minute }

// Work converges the integration. A failure is recorded as ERROR with the
// upstream's message and retried.
func (w *worker) Work(ctx context.Context, job *river.Job[JobArgs]) error {
	unlock, err := w.s.lockIntegration(ctx, job.Args.MembershipID, job.Args.Integration)
	if err != nil {
		return err
	}
	defer unlock()
	return w.s.converge(ctx, job.Args.MembershipID, Integration(job.Args.Integration), job.Args.Revision)
}

// lockIntegration serialises the jobs of one (member, integration): on
// PostgreSQL with a session advisory lock on a connection of its own
// (released when the connection closes, also when the process dies), on
// the embedded SQLite database (one process) with a mutex.
func (s *Service) lockIntegration(ctx context.Context, membershipID int, i string) (func(), error) {
	key := strconv.Itoa(membershipID) + "/" + i
	if !s.cfg.DB.IsPostgres() {
		mu, _ := s.locks.LoadOrStore(key, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		return mu.(*sync.Mutex).Unlock, nil
	}
	conn, err := s.cfg.DB.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("members: lock connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, "member-provisioning/"+key); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("members: lock %s: %w", key, err)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, "member-provisioning/"+key)
		_ = conn.Close()
	}, nil
}

// stepResult is what one converge step reached.
type stepResult struct {
	status memberprovisioning.Status
	msg    string
}

func ok(format string, args ...any) stepResult {
	return stepResult{status: memberprovisioning.StatusOk, msg: fmt.Sprintf(format, args...)}
}

func skipped(format string, args ...any) stepResult {
	return stepResult{status: memberprovisioning.StatusSkipped, msg: fmt.Sprintf(format, args...)}
}

func (s *Service) converge(ctx context.Context, membershipID int, i Integration, revision int) error {
	sys := viewer.SystemContext(ctx)
	m, err := s.client.Membership.Query().Where(membership.ID(membershipID)).WithUser().WithTenant().Only(sys)
	if ent.IsNotFound(err) {
		return nil // removed meanwhile: nothing left to converge
	}
	if err != nil {
		return fmt.Errorf("members: load membership %d: %w", membershipID, err)
	}
	if m.Revision > revision {
		return nil // superseded: the change that moved the revision queued a newer job
	}
	ext, err := s.external(sys, m.ID, i)
	if err != nil {
		return err
	}
	var res stepResult
	switch i {
	case Identity:
		res, err = s.stepIdentity(sys, m, ext)
	case Mail:
		res, err = s.stepMail(sys, m, ext)
	case Storage:
		res, err = s.stepStorage(sys, m, ext)
	default:
		return river.JobCancel(fmt.Errorf("members: unknown integration %q", i))
	}
	if errors.Is(err, errSkipped) {
		res, err = skipped("not configured"), nil
	}
	s.recordCall(sys, m, i, res, err)
	if err != nil {
		res := stepResult{status: memberprovisioning.StatusError, msg: err.Error()}
		if errors.Is(err, errDomainPending) {
			res.status = memberprovisioning.StatusPending // waiting, not failing
		}
		if rerr := s.setStatus(sys, m.ID, m.Revision, i, res, ext); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return s.finish(sys, m, i, res, ext)
}

// external loads the recorded upstream IDs of an integration.
func (s *Service) external(ctx context.Context, membershipID int, i Integration) (map[string]string, error) {
	r, err := s.client.MemberProvisioning.Query().
		Where(memberprovisioning.MembershipID(membershipID), memberprovisioning.IntegrationEQ(i)).Only(ctx)
	if ent.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("members: load %s state: %w", i, err)
	}
	out := maps.Clone(r.External)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// lockMembership re-reads the membership inside ctx's transaction, locked
// against concurrent changes on PostgreSQL (SQLite transactions are
// serialised anyway).
func (s *Service) lockMembership(ctx context.Context, id int) (*ent.Membership, error) {
	q := ent.FromContext(ctx).Membership.Query().Where(membership.ID(id))
	if s.cfg.DB.IsPostgres() {
		q = q.ForUpdate()
	}
	return q.Only(ctx)
}

// setStatus records a status unless the membership moved on to a newer
// revision (whose change already marked the integration PENDING).
func (s *Service) setStatus(ctx context.Context, id, revision int, i Integration, res stepResult, ext map[string]string) error {
	return db.WithTx(context.WithoutCancel(ctx), s.client, func(ctx context.Context) error {
		m, err := s.lockMembership(ctx, id)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("members: lock membership: %w", err)
		}
		if m.Revision != revision {
			return nil
		}
		return s.upsertStatus(ctx, id, i, res, ext)
	})
}

func (s *Service) upsertStatus(ctx context.Context, id int, i Integration, res stepResult, ext map[string]string) error {
	err := ent.FromContext(ctx).MemberProvisioning.Create().SetMembershipID(id).SetIntegration(i).
		SetStatus(res.status).SetMessage(res.msg).SetExternal(ext).
		OnConflictColumns(memberprovisioning.FieldMembershipID, memberprovisioning.FieldIntegration).
		UpdateStatus().UpdateMessage().UpdateExternal().UpdateUpdatedAt().Exec(ctx)
	if err != nil {
		return fmt.Errorf("members: record %s status: %w", i, err)
	}
	return nil
}

// finish records a successful step and completes the lifecycle: a PENDING
// member whose integrations all settled becomes ACTIVE; a REMOVING member
// whose teardown finished is deleted. When the membership changed while the
// step ran, nothing is recorded: that change queued a newer job.
func (s *Service) finish(ctx context.Context, m *ent.Membership, i Integration, res stepResult, ext map[string]string) error {
	return db.WithTx(context.WithoutCancel(ctx), s.client, func(ctx context.Context) error {
		cur, err := s.lockMembership(ctx, m.ID)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("members: lock membership: %w", err)
		}
		if cur.Revision != m.Revision {
			return nil
		}
		if err := s.upsertStatus(ctx, m.ID, i, res, ext); err != nil {
			return err
		}
		c := ent.FromContext(ctx)
		rows, err := c.MemberProvisioning.Query().Where(memberprovisioning.MembershipID(m.ID)).All(ctx)
		if err != nil {
			return fmt.Errorf("members: statuses: %w", err)
		}
		settled := len(rows) == len(Integrations)
		for _, r := range rows {
			settled = settled && (r.Status == memberprovisioning.StatusOk || r.Status == memberprovisioning.StatusSkipped)
		}
		if !settled {
			return nil
		}
		switch cur.Status {
		case membership.StatusPending:
			return c.Membership.UpdateOne(cur).SetStatus(membership.StatusActive).Exec(ctx)
		case membership.StatusRemoving:
			return s.deleteMembership(ctx, m)
		}
		return nil
	})
}

// deleteMembership deletes a torn-down membership, its status rows and,
// when nothing else refers to the person, the local user.
func (s *Service) deleteMembership(ctx context.Context, m *ent.Membership) error {
	c := ent.FromContext(ctx)
	if _, err := c.MemberProvisioning.Delete().Where(memberprovisioning.MembershipID(m.ID)).Exec(ctx); err != nil {
		return fmt.Errorf("members: delete statuses: %w", err)
	}
	if err := c.Membership.DeleteOneID(m.ID).Exec(ctx); err != nil {
		return fmt.Errorf("members: delete membership: %w", err)
	}
	u := m.Edges.User
	orphan, err := c.User.Query().Where(user.ID(u.ID), user.Not(user.HasMemberships()), user.PlatformAdmin(false), user.PartnerIDIsNil()).Exist(ctx)
	if err != nil {
		return fmt.Errorf("members: check user: %w", err)
	}
	if orphan {
		if err := c.User.DeleteOneID(u.ID).Exec(ctx); err != nil {
			return fmt.Errorf("members: delete user: %w", err)
		}
	}
	return auditMember(ctx, "member.removed", m, map[string]any{"userDeleted": orphan})
}

// recordCall audits one converge step (its own transaction, as the system).
func (s *Service) recordCall(ctx context.Context, m *ent.Membership, i Integration, res stepResult, callErr error) {
	ev := audit.Event{
		Action:       "provider." + strings.ToLower(string(i)) + ".member_converged",
		ResourceType: "member", ResourceID: strconv.Itoa(m.ID), ResourceName: m.Edges.User.Email,
		Tenant: m.Edges.Tenant, Metadata: map[string]any{"memberStatus": string(m.Status), "result": string(res.status), "message": res.msg},
	}
	if callErr != nil {
		ev.Outcome = auditevent.OutcomeFailure
		ev.Metadata["error"] = callErr.Error()
		ev.Metadata["code"] = string(sdk.ErrorCode(callErr))
	}
	if err := db.WithTx(context.WithoutCancel(ctx), s.client, func(ctx context.Context) error { return audit.Record(ctx, ev) }); err != nil {
		s.cfg.Log.ErrorContext(ctx, "members: audit provider call", "action", ev.Action, "member", m.ID, "err", err)
	}
}

// otherRoles counts the person's other reasons to keep an SSO user: their
// other memberships (not being removed), of which active ones (PENDING or
// ACTIVE), plus partner staff and operator roles (counted as active).
func (s *Service) otherRoles(ctx context.Context, m *ent.Membership) (all, active int, err error) {
	ms, err := s.client.Membership.Query().Where(membership.UserID(m.UserID), membership.IDNEQ(m.ID),
		membership.StatusNEQ(membership.StatusRemoving)).All(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("members: other memberships: %w", err)
	}
	for _, o := range ms {
		all++
		if o.Status == membership.StatusActive || o.Status == membership.StatusPending {
			active++
		}
	}
	u := m.Edges.User
	if u.PlatformAdmin || u.PartnerID != nil {
		all++
		active++
	}
	return all, active, nil
}

func (s *Service) stepIdentity(ctx context.Context, m *ent.Membership, ext map[string]string) (stepResult, error) {
	idp, err := s.identity()
	if err != nil {
		return stepResult{}, err
	}
	u, t := m.Edges.User, m.Edges.Tenant
	g, err := idp.EnsureGroup(ctx, tenantGroup(t))
	if err != nil {
		return stepResult{}, err
	}
	ext[extGroupID] = g.ID
	all, active, err := s.otherRoles(ctx, m)
	if err != nil {
		return stepResult{}, err
	}
	if m.Status == membership.StatusRemoving {
		uid := ext[extUserID]
		if uid == "" && u.IdentityID != nil {
			uid = *u.IdentityID
		}
		if uid == "" {
			return ok("no SSO user"), nil
		}
		if err := idp.RemoveGroupMember(ctx, g.ID, uid); err != nil && !sdk.IsNotFound(err) {
			return stepResult{}, err
		}
		if all > 0 {
			return ok("removed from group %s; SSO user kept (the person has other roles)", g.Name), nil
		}
		if err := idp.DeleteUser(ctx, uid); err != nil && !sdk.IsNotFound(err) {
			return stepResult{}, err
		}
		if err := s.client.User.UpdateOneID(u.ID).ClearIdentityID().Exec(ctx); err != nil {
			return stepResult{}, fmt.Errorf("members: clear SSO user: %w", err)
		}
		delete(ext, extUserID)
		return ok("SSO user deleted"), nil
	}
	su, err := idp.CreateUser(ctx, sdk.CreateUserRequest{Username: u.Email, Name: u.Name, Email: u.Email, Active: true, GroupIDs: []string{g.ID}})
	if err != nil {
		return stepResult{}, err
	}
	ext[extUserID] = su.ID
	if u.IdentityID == nil || *u.IdentityID != su.ID {
		if err := s.client.User.UpdateOneID(u.ID).SetIdentityID(su.ID).Exec(ctx); err != nil {
			return stepResult{}, fmt.Errorf("members: record SSO user: %w", err)
		}
	}
	suspended := m.Status == membership.StatusSuspended
	wantActive := !suspended || active > 0
	// A suspended member who keeps the SSO user for other tenants loses
	// this tenant's group instead.
	inGroup := !suspended || active == 0
	if inGroup {
		err = idp.AddGroupMember(ctx, g.ID, su.ID)
	} else {
		err = idp.RemoveGroupMember(ctx, g.ID, su.ID)
		if sdk.IsNotFound(err) {
			err = nil
		}
	}
	if err != nil {
		return stepResult{}, err
	}
	if su.Active != wantActive {
		if _, err := idp.UpdateUser(ctx, sdk.UpdateUserRequest{ID: su.ID, Active: &wantActive}); err != nil {
			return stepResult{}, err
		}
	}
	switch {
	case !suspended:
		return ok("SSO user %s active in group %s", su.Username, g.Name), nil
	case wantActive:
		return ok("SSO user %s removed from group %s (active for other roles)", su.Username, g.Name), nil
	default:
		return ok("SSO user %s deactivated", su.Username), nil
	}
}

// mailboxAddress is the member's address on the tenant's domain: the
// e-mail itself when it is on that domain, else its local part there.
func mailboxAddress(email, domain string) string {
	local, d, _ := strings.Cut(email, "@")
	if strings.EqualFold(d, domain) {
		return email
	}
	return local + "@" + domain
}

func (s *Service) stepMail(ctx context.Context, m *ent.Membership, ext map[string]string) (stepResult, error) {
	if !m.WantMailbox {
		return skipped("no mailbox requested"), nil
	}
	mail, err := s.mail()
	if err != nil {
		return stepResult{}, err
	}
	addr := ext[extAddress]
	if m.Status == membership.StatusRemoving {
		if addr == "" {
			return ok("no mailbox"), nil
		}
		if err := mail.DeleteMailbox(ctx, addr); err != nil && !sdk.IsNotFound(err) {
			return stepResult{}, err
		}
		delete(ext, extAddress)
		if err := s.client.Membership.UpdateOneID(m.ID).ClearMailbox().Exec(ctx); err != nil {
			return stepResult{}, fmt.Errorf("members: clear mailbox: %w", err)
		}
		return ok("mailbox %s deleted", addr), nil
	}
	if addr == "" {
		d := provisioning.PrimaryDomain(m.Edges.Tenant)
		if d == "" {
			return skipped("the tenant has no mail domain"), nil
		}
		if _, err := mail.GetDomain(ctx, d); sdk.IsNotFound(err) {
			return s.domainMissing(ctx, m.Edges.Tenant, d)
		} else if err != nil {
			return stepResult{}, err
		}
		addr = mailboxAddress(m.Edges.User.Email, d)
		taken, err := s.client.Membership.Query().Where(membership.MailboxEqualFold(addr), membership.IDNEQ(m.ID)).Exist(ctx)
		if err != nil {
			return stepResult{}, fmt.Errorf("members: check mailbox: %w", err)
		}
		if taken {
			return stepResult{}, fmt.Errorf("mailbox %s already belongs to another member", addr)
		}
	}
	// The initial password is random and never recorded: mail clients sign
	// in through SSO until a reset sets a one-time password.
	pw, err := GeneratePassword()
	if err != nil {
		return stepResult{}, err
	}
	mb, err := mail.CreateMailbox(ctx, sdk.CreateMailboxRequest{Address: addr, Name: m.Edges.User.Name, Password: pw})
	if err != nil {
		return stepResult{}, err
	}
	ext[extAddress] = mb.Address
	if m.Mailbox == nil || *m.Mailbox != mb.Address {
		if err := s.client.Membership.UpdateOneID(m.ID).SetMailbox(mb.Address).Exec(ctx); err != nil {
			return stepResult{}, fmt.Errorf("members: record mailbox: %w", err)
		}
	}
	switch frozen := m.Status == membership.StatusSuspended; {
	case frozen && !mb.Frozen:
		if err := mail.FreezeMailbox(ctx, mb.Address); err != nil {
			return stepResult{}, err
		}
	case !frozen && mb.Frozen:
		if err := mail.UnfreezeMailbox(ctx, mb.Address); err != nil {
			return stepResult{}, err
		}
	}
	if m.Status == membership.StatusSuspended {
		return ok("mailbox %s frozen", mb.Address), nil
	}
	return ok("mailbox %s ready", mb.Address), nil
}

func (s *Service) stepStorage(ctx context.Context, m *ent.Membership, ext map[string]string) (stepResult, error) {
	if !m.WantStorage {
		return skipped("no storage requested"), nil
	}
	st, err := s.storage()
	if err != nil {
		return stepResult{}, err
	}
	u := m.Edges.User
	if m.Status == membership.StatusRemoving {
		uid := ext[extUserID]
		if uid == "" {
			return ok("no storage user"), nil
		}
		shared, err := s.client.Membership.Query().Where(membership.UserID(u.ID), membership.IDNEQ(m.ID),
			membership.StatusNEQ(membership.StatusRemoving), membership.WantStorage(true)).Exist(ctx)
		if err != nil {
			return stepResult{}, fmt.Errorf("members: other memberships: %w", err)
		}
		if shared {
			return ok("storage user kept (used by the person's other tenants)"), nil
		}
		if err := st.DeleteStorageUser(ctx, uid); err != nil && !sdk.IsNotFound(err) {
			return stepResult{}, err
		}
		delete(ext, extUserID)
		return ok("storage user deleted"), nil
	}
	su, err := st.CreateStorageUser(ctx, sdk.CreateStorageUserRequest{Username: u.Email, Name: u.Name, Email: u.Email})
	if err != nil {
		return stepResult{}, err
	}
	ext[extUserID] = su.ID
	if m.Status == membership.StatusSuspended {
		return ok("storage user %s kept (access ends with the SSO user)", su.Username), nil
	}
	return ok("storage user %s ready", su.Username), nil
}

// errDomainPending is retried: the tenant's mail domain is being
// provisioned right now (for example just after the tenant was created).
var errDomainPending = errors.New("waiting for the tenant's mail domain to be provisioned")

// domainMissing decides about a member mailbox whose domain does not exist
// at the mail server: while the tenant's own MAIL provisioning is still
// pending the job waits for it (retried); otherwise the tenant has no
// usable mail domain and the mailbox is SKIPPED.
func (s *Service) domainMissing(ctx context.Context, t *ent.Tenant, domain string) (stepResult, error) {
	st, err := s.client.ProvisioningState.Query().
		Where(provisioningstate.TenantID(t.ID), provisioningstate.IntegrationEQ(provisioningstate.IntegrationMail)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return stepResult{}, fmt.Errorf("members: tenant mail state: %w", err)
	}
	if st != nil && st.Status == provisioningstate.StatusPending {
		return stepResult{}, errDomainPending
	}
	return skipped("mail domain %s is not usable (not provisioned at the mail server): reconcile the member once it is", domain), nil
}
