package tenancy

import (
	"context"
	"strings"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/schema"
	"github.com/dezky/platform/internal/apperr"
)

// Service implements the tenancy operations over an ent client.
type Service struct {
	client    *ent.Client
	lifecycle Lifecycle
}

// New returns a Service using client for transactions it opens itself.
func New(client *ent.Client) *Service { return &Service{client: client} }

// Change names what changed about a tenant.
type Change string

// The tenant changes reported to a Lifecycle.
const (
	ChangeCreated Change = "created"
	ChangeName    Change = "name"
	ChangePlan    Change = "plan"
	ChangeSeats   Change = "seats"
	ChangeDomains Change = "domains"
	ChangeStatus  Change = "status"
)

// Lifecycle is told about every tenant change inside the change's
// transaction, after the tenant row is written: whatever it writes commits
// or rolls back with the change, and an error from it aborts the change.
// Provisioning uses it to enqueue its durable jobs.
type Lifecycle interface {
	TenantChanged(ctx context.Context, t *ent.Tenant, changes ...Change) error
}

// Lifecycles tells several lifecycles about each change, in order; the
// first error aborts the change.
type Lifecycles []Lifecycle

// TenantChanged implements Lifecycle.
func (ls Lifecycles) TenantChanged(ctx context.Context, t *ent.Tenant, changes ...Change) error {
	for _, l := range ls {
		if err := l.TenantChanged(ctx, t, changes...); err != nil {
			return err
		}
	}
	return nil
}

// SetLifecycle installs l (nil: none). Call it before serving.
func (s *Service) SetLifecycle(l Lifecycle) { s.lifecycle = l }

// notify reports changes to the lifecycle, if any.
func (s *Service) notify(ctx context.Context, t *ent.Tenant, changes ...Change) error {
	if s.lifecycle == nil || len(changes) == 0 {
		return nil
	}
	return s.lifecycle.TenantChanged(ctx, t, changes...)
}

// checkName trims a display name and requires 1-120 characters.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 120 {
		return "", apperr.Invalid("name", "must be 1-120 characters")
	}
	return name, nil
}

func checkSlug(field, slug string) error {
	if !schema.SlugPattern.MatchString(slug) {
		return apperr.Invalid(field, "must be 3-32 lower-case letters, digits or inner hyphens")
	}
	return nil
}

// Clearable is an optional input field that can also be cleared: Set
// reports whether the caller sent the field at all; Value nil (or blank)
// asks to clear it.
type Clearable struct {
	Set   bool
	Value *string
}

// optional reads a clearable string: set reports whether the caller sent
// the field; value is "" when it should be unset.
func optional(o Clearable) (value string, set bool) {
	if !o.Set {
		return "", false
	}
	if o.Value == nil {
		return "", true
	}
	return strings.TrimSpace(*o.Value), true
}

// blankToEmpty trims a pointer to a string; nil stays "".
func trimmed(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}
