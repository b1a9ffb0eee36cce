package webhooks

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/auditevent"
	"github.com/dezky/platform/ent/partner"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/ent/webhookdelivery"
	"github.com/dezky/platform/ent/webhookendpoint"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/oneshot"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// Limits of the inputs.
const (
	maxEventTypes      = 50
	maxDescription     = 500
	DefaultGracePeriod = 24 * time.Hour
	MaxGracePeriod     = 7 * 24 * time.Hour
)

// eventTypePattern is an action, an action prefix with ".*", or "*".
var eventTypePattern = regexp.MustCompile(`^(\*|[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.\*)?)$`)

// CreateInput is the input of Create.
type CreateInput struct {
	URL         string
	EventTypes  []string
	TenantSlug  *string
	PartnerSlug *string
	Description *string
}

// UpdateInput is the input of Update; nil fields stay as they are.
type UpdateInput struct {
	URL         *string
	EventTypes  []string
	Description *string
	// Enabled false disables the endpoint; true re-enables it (clearing
	// its failures), and it resumes at its cursor.
	Enabled *bool
}

// WithSecret is an endpoint with its signing secret, shown once.
type WithSecret struct {
	Endpoint *ent.WebhookEndpoint
	// SigningSecret is nil in an idempotent replay.
	SigningSecret *string
}

// Dispatch names a message queued for one endpoint.
type Dispatch struct {
	Endpoint  *ent.WebhookEndpoint
	MessageID string
}

// Service implements the webhook operations of the API. Every operation
// runs as the caller; the ent privacy rules decide what the caller
// reaches.
type Service struct {
	client       *ent.Client
	sealer       *Sealer
	allowPrivate bool
	queue        func(ctx context.Context, args SendArgs) error
}

// NewService returns the service. queue inserts a send job in the
// transaction ctx carries (see Dispatcher.QueueSend).
func NewService(client *ent.Client, sealer *Sealer, allowPrivate bool, queue func(context.Context, SendArgs) error) *Service {
	return &Service{client: client, sealer: sealer, allowPrivate: allowPrivate, queue: queue}
}

// Endpoint returns an endpoint the caller reaches, else NOT_FOUND.
func (s *Service) Endpoint(ctx context.Context, id int) (*ent.WebhookEndpoint, error) {
	ep, err := db.Client(ctx, s.client).WebhookEndpoint.Get(ctx, id)
	return ep, apperr.About(err, "webhook endpoint")
}

// Endpoints lists the endpoints the caller reaches.
func (s *Service) Endpoints(ctx context.Context, after *entgql.Cursor[int], first *int, before *entgql.Cursor[int], last *int,
	order *ent.WebhookEndpointOrder, where *ent.WebhookEndpointWhereInput) (*ent.WebhookEndpointConnection, error) {
	if err := requireManager(ctx); err != nil {
		return nil, err
	}
	c, err := s.client.WebhookEndpoint.Query().Paginate(ctx, after, first, before, last,
		ent.WithWebhookEndpointOrder(order), ent.WithWebhookEndpointFilter(where.Filter))
	return c, apperr.About(err, "webhook endpoint")
}

// Deliveries lists the attempts of an endpoint, newest first.
func (s *Service) Deliveries(ctx context.Context, endpointID int, first *int, after *entgql.Cursor[int]) (*ent.WebhookDeliveryConnection, error) {
	if _, err := s.Endpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	if first != nil && (*first < 0 || *first > 500) {
		return nil, apperr.Invalid("first", "must be between 0 and 500")
	}
	c, err := s.client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(endpointID)).
		Paginate(ctx, after, first, nil, nil, ent.WithWebhookDeliveryOrder(&ent.WebhookDeliveryOrder{
			Direction: entgql.OrderDirectionDesc, Field: ent.WebhookDeliveryOrderFieldAttemptedAt,
		}))
	return c, apperr.About(err, "webhook delivery")
}

// requireManager refuses callers who can manage no endpoint at all
// (members without an admin role): FORBIDDEN, before input validation.
func requireManager(ctx context.Context) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "sign in")
	}
	if v.Privileged() || v.PartnerID != 0 || len(v.TenantIDs(viewer.RoleAdmin)) > 0 {
		return nil
	}
	return apperr.Forbiddenf("only tenant admins, partner staff and operators manage webhook endpoints")
}

// scope is where a new endpoint belongs.
type scope struct {
	kind    webhookendpoint.Scope
	tenant  *ent.Tenant
	partner *ent.Partner
}

// resolveScope finds the new endpoint's scope from the slugs, or from who
// the caller is when both are absent.
func (s *Service) resolveScope(ctx context.Context, tenantSlug, partnerSlug string) (scope, error) {
	v := viewer.FromContext(ctx)
	c := db.Client(ctx, s.client)
	switch {
	case tenantSlug != "" && partnerSlug != "":
		// What the caller cannot see is not found, before any other answer.
		if _, err := c.Tenant.Query().Where(tenant.Slug(tenantSlug)).Only(ctx); err != nil {
			return scope{}, apperr.About(err, "tenant")
		}
		if _, err := c.Partner.Query().Where(partner.Slug(partnerSlug)).Only(ctx); err != nil {
			return scope{}, apperr.About(err, "partner")
		}
		return scope{}, apperr.Invalid("partnerSlug", "give tenantSlug or partnerSlug, not both")
	case tenantSlug != "":
		t, err := c.Tenant.Query().Where(tenant.Slug(tenantSlug)).Only(ctx)
		if err != nil {
			return scope{}, apperr.About(err, "tenant")
		}
		r, _ := v.RoleIn(t.ID)
		if !v.Privileged() && r != viewer.RoleAdmin && (v.PartnerID == 0 || t.PartnerID == nil || *t.PartnerID != v.PartnerID) {
			return scope{}, apperr.Forbiddenf("only the tenant's admins, its partner's staff and operators manage its webhook endpoints")
		}
		return scope{kind: webhookendpoint.ScopeTenant, tenant: t}, nil
	case partnerSlug != "":
		p, err := c.Partner.Query().Where(partner.Slug(partnerSlug)).Only(ctx)
		if err != nil {
			return scope{}, apperr.About(err, "partner")
		}
		if !v.Privileged() && v.PartnerID != p.ID {
			return scope{}, apperr.Forbiddenf("only the partner's staff and operators manage its webhook endpoints")
		}
		return scope{kind: webhookendpoint.ScopePartner, partner: p}, nil
	case v.Privileged():
		return scope{kind: webhookendpoint.ScopePlatform}, nil
	case v.PartnerID != 0:
		p, err := c.Partner.Get(ctx, v.PartnerID)
		if err != nil {
			return scope{}, apperr.About(err, "partner")
		}
		return scope{kind: webhookendpoint.ScopePartner, partner: p}, nil
	}
	if ids := v.TenantIDs(viewer.RoleAdmin); len(ids) == 1 {
		t, err := c.Tenant.Get(ctx, ids[0])
		if err != nil {
			return scope{}, apperr.About(err, "tenant")
		}
		return scope{kind: webhookendpoint.ScopeTenant, tenant: t}, nil
	} else if len(ids) > 1 {
		return scope{}, apperr.Invalid("tenantSlug", "is required: you administer more than one tenant")
	}
	return scope{}, apperr.Forbiddenf("only tenant admins, partner staff and operators manage webhook endpoints")
}

// validateEventTypes trims, checks and de-duplicates event types.
func validateEventTypes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apperr.Invalid("eventTypes", "must name at least one event type (\"*\" for all)")
	}
	if len(in) > maxEventTypes {
		return nil, apperr.Invalid("eventTypes", "must name at most %d event types", maxEventTypes)
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range in {
		t = strings.TrimSpace(t)
		if len(t) > 200 || !eventTypePattern.MatchString(t) {
			return nil, apperr.Invalid("eventTypes", "%q is not an action, an action prefix ending in .*, or *", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

func validateDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if len(d) > maxDescription {
		return "", apperr.Invalid("description", "must be at most %d characters", maxDescription)
	}
	return d, nil
}

// Create creates an endpoint and returns it with its signing secret.
// Delivery starts with the events chained after the creation (its own
// webhook.endpoint_created event included, when it matches).
func (s *Service) Create(ctx context.Context, in CreateInput) (*WithSecret, error) {
	if err := requireManager(ctx); err != nil {
		return nil, err
	}
	sc, err := s.resolveScope(ctx, strings.TrimSpace(deref(in.TenantSlug)), strings.TrimSpace(deref(in.PartnerSlug)))
	if err != nil {
		return nil, err
	}
	u, err := ValidateURL(in.URL, s.allowPrivate)
	if err != nil {
		return nil, err
	}
	types, err := validateEventTypes(in.EventTypes)
	if err != nil {
		return nil, err
	}
	desc, err := validateDescription(deref(in.Description))
	if err != nil {
		return nil, err
	}
	shown, raw, err := NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(raw)
	if err != nil {
		return nil, err
	}
	var out *ent.WebhookEndpoint
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		// The cursor starts at the chain head: an endpoint receives what
		// happens after it exists. The head is read past the viewer's
		// reach (a number, not an event).
		head, err := chainHead(rule.Bypass(ctx), c)
		if err != nil {
			return err
		}
		cr := c.WebhookEndpoint.Create().SetScope(sc.kind).SetURL(u.String()).SetEventTypes(types).
			SetDescription(desc).SetSecretSealed(sealed).SetCursorSeq(head).SetCreatedBy(viewer.FromContext(ctx).Subject)
		if sc.tenant != nil {
			cr.SetTenantID(sc.tenant.ID).SetTenantSlug(sc.tenant.Slug)
		}
		if sc.partner != nil {
			cr.SetPartnerID(sc.partner.ID).SetPartnerSlug(sc.partner.Slug)
		}
		ep, err := cr.Save(ctx)
		if err != nil {
			return apperr.About(err, "webhook endpoint")
		}
		out = ep
		return record(ctx, "webhook.endpoint_created", ep, sc.tenant, sc.partner, map[string]any{"after": fields(ep)})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook endpoint")
	}
	oneshot.Mark(ctx, shown)
	return &WithSecret{Endpoint: out, SigningSecret: &shown}, nil
}

// Update changes an endpoint.
func (s *Service) Update(ctx context.Context, id int, in UpdateInput) (*ent.WebhookEndpoint, error) {
	var out *ent.WebhookEndpoint
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		ep, err := s.Endpoint(ctx, id)
		if err != nil {
			return err
		}
		upd := ent.FromContext(ctx).WebhookEndpoint.UpdateOne(ep)
		if in.URL != nil {
			u, err := ValidateURL(*in.URL, s.allowPrivate)
			if err != nil {
				return err
			}
			upd.SetURL(u.String())
		}
		if in.EventTypes != nil {
			types, err := validateEventTypes(in.EventTypes)
			if err != nil {
				return err
			}
			upd.SetEventTypes(types)
		}
		if in.Description != nil {
			d, err := validateDescription(*in.Description)
			if err != nil {
				return err
			}
			upd.SetDescription(d)
		}
		if in.Enabled != nil {
			switch {
			case *in.Enabled && ep.Status == webhookendpoint.StatusDisabled:
				upd.SetStatus(webhookendpoint.StatusActive).SetDisabledReason("").SetFailures(0).
					ClearFailingSince().ClearNextAttemptAt()
			case !*in.Enabled && ep.Status == webhookendpoint.StatusActive:
				v := viewer.FromContext(ctx)
				who := v.Email
				if who == "" {
					who = v.Subject
				}
				upd.SetStatus(webhookendpoint.StatusDisabled).SetDisabledReason("disabled by " + who).ClearNextAttemptAt()
			}
		}
		after, err := upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "webhook endpoint")
		}
		out = after
		return record(ctx, "webhook.endpoint_updated", after, nil, nil, map[string]any{"diff": audit.Diff(fields(ep), fields(after))})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook endpoint")
	}
	return out, nil
}

// Delete deletes an endpoint with its deliveries and returns it as it was.
func (s *Service) Delete(ctx context.Context, id int) (*ent.WebhookEndpoint, error) {
	var out *ent.WebhookEndpoint
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		ep, err := s.Endpoint(ctx, id)
		if err != nil {
			return err
		}
		if err := ent.FromContext(ctx).WebhookEndpoint.DeleteOne(ep).Exec(ctx); err != nil {
			return apperr.About(err, "webhook endpoint")
		}
		out = ep
		return record(ctx, "webhook.endpoint_deleted", ep, nil, nil, map[string]any{"before": fields(ep)})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook endpoint")
	}
	return out, nil
}

// Rotate replaces the signing secret; the previous one keeps signing
// beside it for grace (0: stops at once).
func (s *Service) Rotate(ctx context.Context, id int, grace time.Duration) (*WithSecret, error) {
	if grace < 0 || grace > MaxGracePeriod {
		return nil, apperr.Invalid("gracePeriodHours", "must be between 0 and %d", int(MaxGracePeriod/time.Hour))
	}
	shown, raw, err := NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(raw)
	if err != nil {
		return nil, err
	}
	var out *ent.WebhookEndpoint
	err = db.WithTx(ctx, s.client, func(ctx context.Context) error {
		ep, err := s.Endpoint(ctx, id)
		if err != nil {
			return err
		}
		upd := ent.FromContext(ctx).WebhookEndpoint.UpdateOne(ep).SetSecretSealed(sealed)
		if grace > 0 {
			upd.SetPreviousSecretSealed(ep.SecretSealed).SetPreviousSecretExpiresAt(time.Now().UTC().Add(grace))
		} else {
			upd.ClearPreviousSecretSealed().ClearPreviousSecretExpiresAt()
		}
		after, err := upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "webhook endpoint")
		}
		out = after
		return record(ctx, "webhook.secret_rotated", after, nil, nil, map[string]any{"gracePeriodSeconds": int64(grace / time.Second)})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook endpoint")
	}
	oneshot.Mark(ctx, shown)
	return &WithSecret{Endpoint: out, SigningSecret: &shown}, nil
}

// SendTest queues one webhook.test message to an endpoint (active or
// disabled); its attempt shows in the endpoint's deliveries.
func (s *Service) SendTest(ctx context.Context, id int) (*Dispatch, error) {
	var out *Dispatch
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		ep, err := s.Endpoint(ctx, id)
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("msg_test_%d_%d", ep.ID, time.Now().UnixNano())
		if err := s.queue(ctx, SendArgs{EndpointID: ep.ID, MessageID: msg, Delivery: string(webhookdelivery.KindTest)}); err != nil {
			return err
		}
		out = &Dispatch{Endpoint: ep, MessageID: msg}
		return record(ctx, "webhook.test_sent", ep, nil, nil, map[string]any{"messageId": msg})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook endpoint")
	}
	return out, nil
}

// Redeliver queues the message of a delivery once more, with its original
// webhook-id; the cursor does not move.
func (s *Service) Redeliver(ctx context.Context, deliveryID int) (*Dispatch, error) {
	var out *Dispatch
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		d, err := c.WebhookDelivery.Get(ctx, deliveryID)
		if err != nil {
			return apperr.About(err, "webhook delivery")
		}
		ep, err := s.Endpoint(ctx, d.EndpointID)
		if err != nil {
			return err
		}
		args := SendArgs{EndpointID: ep.ID, MessageID: d.MessageID, Delivery: string(webhookdelivery.KindRedelivery)}
		if d.EventSeq != nil {
			args.Seq = *d.EventSeq
		}
		if err := s.queue(ctx, args); err != nil {
			return err
		}
		out = &Dispatch{Endpoint: ep, MessageID: d.MessageID}
		return record(ctx, "webhook.redelivered", ep, nil, nil, map[string]any{"messageId": d.MessageID, "deliveryId": d.ID})
	})
	if err != nil {
		return nil, apperr.About(err, "webhook delivery")
	}
	return out, nil
}

// chainHead returns the highest chained seq (0 for an empty chain).
func chainHead(ctx context.Context, c *ent.Client) (int64, error) {
	ev, err := c.AuditEvent.Query().Where(auditevent.SeqNotNil()).Order(ent.Desc(auditevent.FieldSeq)).
		Select(auditevent.FieldSeq).First(ctx)
	if ent.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("webhooks: read chain head: %w", err)
	}
	return *ev.Seq, nil
}

// fields are an endpoint's audited fields (never its secrets; the URL
// without query or user info).
func fields(ep *ent.WebhookEndpoint) map[string]any {
	return map[string]any{
		"scope": string(ep.Scope), "url": RedactURL(ep.URL), "eventTypes": ep.EventTypes,
		"description": ep.Description, "status": string(ep.Status),
	}
}

// record writes the audit event of a change to ep, scoped like ep: to its
// tenant, its partner, or the platform. t and p, when known, spare a read.
func record(ctx context.Context, action string, ep *ent.WebhookEndpoint, t *ent.Tenant, p *ent.Partner, meta map[string]any) error {
	c := ent.FromContext(ctx)
	var err error
	// The audit row names the endpoint's tenant or partner whatever the
	// actor may read of it.
	if t == nil && ep.TenantID != nil {
		if t, err = c.Tenant.Get(rule.Bypass(ctx), *ep.TenantID); err != nil {
			return fmt.Errorf("webhooks: audit scope: %w", err)
		}
	}
	if p == nil && ep.PartnerID != nil {
		if p, err = c.Partner.Get(rule.Bypass(ctx), *ep.PartnerID); err != nil {
			return fmt.Errorf("webhooks: audit scope: %w", err)
		}
	}
	return audit.Record(ctx, audit.Event{
		Action: action, ResourceType: "webhook_endpoint", ResourceID: strconv.Itoa(ep.ID),
		ResourceName: RedactURL(ep.URL), Tenant: t, Partner: p, Metadata: meta,
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
