package flags

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/flaggeneration"
	"github.com/dezky/platform/ent/schema"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/apperr"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/inputcheck"
	"github.com/dezky/platform/internal/rule"
	"github.com/dezky/platform/internal/viewer"
)

// HistoryLimit is how many changes a flag remembers.
const HistoryLimit = 20

// MaxNote is the longest history note, in bytes.
const MaxNote = 500

// KillSwitchNote is the history note of a kill.
const KillSwitchNote = "kill-switch"

// CreateFlagInput is the input of Create.
type CreateFlagInput struct {
	Key         string
	Description *string
	State       *flag.State
	Pct         *int
	Scope       *schematype.FlagScope
}

// UpdateFlagInput is the input of Update; nil fields are left as they are.
type UpdateFlagInput struct {
	Description *string
	State       *flag.State
	Pct         *int
	Scope       *schematype.FlagScope
	Note        *string
}

// Evaluation is one flag's result for a tenant.
type Evaluation struct {
	Key     string
	Enabled bool
	Reason  Reason
	// State is the flag's state when it was evaluated.
	State flag.State
}

// Service implements flag operations.
type Service struct {
	client *ent.Client
	// Environment is the default environment for evaluation.
	environment string

	// The flag definitions evaluation reads, as of generation cachedGen
	// of the flags (schema.FlagGeneration, bumped by every flag write on
	// any replica); nil until first read.
	mu        sync.Mutex
	cached    []*ent.Flag
	cachedGen int64
}

// New returns a Service evaluating in the given default environment.
func New(client *ent.Client, environment string) *Service {
	return &Service{client: client, environment: environment}
}

// definitions returns every flag's key, state, pct and scope. Outside a
// transaction they come from the cache while the flags' generation is the
// one they were read at (one single-row read per call); inside one (which
// may hold uncommitted flag writes) they are read afresh and not cached.
// The result is shared: callers must not change it.
func (s *Service) definitions(ctx context.Context) ([]*ent.Flag, error) {
	read := func() ([]*ent.Flag, error) {
		// Only the columns evaluation reads: not the history, the largest
		// column, which would be read and JSON-decoded for nothing.
		return db.Client(ctx, s.client).Flag.Query().
			Select(flag.FieldKey, flag.FieldState, flag.FieldPct, flag.FieldScope).All(rule.Bypass(ctx))
	}
	if ent.TxFromContext(ctx) != nil {
		return read()
	}
	gen, err := s.generation(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.cached != nil && s.cachedGen == gen {
		fs := s.cached
		s.mu.Unlock()
		return fs, nil
	}
	s.mu.Unlock()
	// Read after the generation: a write in between bumps it past gen,
	// so the next call reads again.
	fs, err := read()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.cached == nil || gen >= s.cachedGen {
		s.cached, s.cachedGen = fs, gen
	}
	s.mu.Unlock()
	return fs, nil
}

// generation reads the flags' generation (0 before the first flag write).
func (s *Service) generation(ctx context.Context) (int64, error) {
	g, err := s.client.FlagGeneration.Query().Where(flaggeneration.Name(schema.FlagGenerationName)).Only(ctx)
	if ent.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("flags: generation: %w", err)
	}
	return g.Generation, nil
}

// ByKey returns a flag (operators only: the Flag schema's policy denies
// everybody else, FORBIDDEN).
func (s *Service) ByKey(ctx context.Context, key string) (*ent.Flag, error) {
	f, err := db.Client(ctx, s.client).Flag.Query().Where(flag.Key(key)).Only(ctx)
	return f, apperr.About(err, "flag")
}

// Create creates a flag with an initial history entry.
func (s *Service) Create(ctx context.Context, in CreateFlagInput) (*ent.Flag, error) {
	// The schema denies non-operators at Save; checking first keeps input
	// validation (key pattern, rule) from answering a non-operator.
	if err := viewer.RequireOperator(ctx); err != nil {
		return nil, err
	}
	in.Key = strings.TrimSpace(in.Key)
	if !schema.FlagKeyPattern.MatchString(in.Key) {
		return nil, apperr.Invalid("key", "must be 2-63 characters: a lower-case letter, then letters, digits or underscores")
	}
	r := Rule{Key: in.Key, State: flag.StateOff}
	if in.State != nil {
		r.State = *in.State
	}
	if in.Pct != nil {
		r.Pct = *in.Pct
	}
	if in.Scope != nil {
		r.Scope = *in.Scope
	}
	if err := validate(&r); err != nil {
		return nil, err
	}
	desc := ""
	if in.Description != nil {
		desc = strings.TrimSpace(*in.Description)
	}
	var out *ent.Flag
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		if n, err := c.Flag.Query().Where(flag.Key(in.Key)).Count(ctx); err != nil {
			return err
		} else if n > 0 {
			return apperr.Conflictf("a flag with key %q already exists", in.Key)
		}
		f, err := c.Flag.Create().SetKey(in.Key).SetDescription(desc).SetState(r.State).SetPct(r.Pct).
			SetScope(r.Scope).SetHistory(appendHistory(ctx, nil, r, "created")).Save(ctx)
		if err != nil {
			return apperr.About(err, "flag")
		}
		out = f
		return audit.Record(ctx, audit.Event{
			Action: "flag.created", ResourceType: "flag", ResourceID: strconv.Itoa(f.ID), ResourceName: f.Key,
			Metadata: map[string]any{"after": flagFields(f)},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "flag")
	}
	return out, nil
}

// Update changes a flag; a change to state OFF with the kill-switch note is
// recorded as flag.killed.
func (s *Service) Update(ctx context.Context, key string, in UpdateFlagInput) (*ent.Flag, error) {
	var out *ent.Flag
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		c := ent.FromContext(ctx)
		f, err := s.ByKey(ctx, key)
		if err != nil {
			return err
		}
		r := Rule{Key: f.Key, State: f.State, Pct: f.Pct, Scope: f.Scope}
		if in.State != nil {
			r.State = *in.State
		}
		if in.Pct != nil {
			r.Pct = *in.Pct
		}
		if in.Scope != nil {
			r.Scope = *in.Scope
		}
		if err := validate(&r); err != nil {
			return err
		}
		note := ""
		if in.Note != nil {
			note = strings.TrimSpace(*in.Note)
		}
		if len(note) > MaxNote {
			return apperr.Invalid("note", "at most %d bytes", MaxNote)
		}
		if err := inputcheck.Text(note); err != nil {
			return apperr.Invalid("note", "%v", err)
		}
		before := flagFields(f)
		upd := c.Flag.UpdateOne(f).SetState(r.State).SetPct(r.Pct).SetScope(r.Scope).
			SetHistory(appendHistory(ctx, f.History, r, note))
		if in.Description != nil {
			upd.SetDescription(strings.TrimSpace(*in.Description))
		}
		f, err = upd.Save(ctx)
		if err != nil {
			return apperr.About(err, "flag")
		}
		out = f
		action := "flag.updated"
		if r.State == flag.StateOff && note == KillSwitchNote {
			action = "flag.killed"
		}
		return audit.Record(ctx, audit.Event{
			Action: action, ResourceType: "flag", ResourceID: strconv.Itoa(f.ID), ResourceName: f.Key,
			Metadata: map[string]any{"diff": audit.Diff(before, flagFields(f)), "note": note},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "flag")
	}
	return out, nil
}

// Kill turns a flag off at once: state OFF, pct 0, note kill-switch.
func (s *Service) Kill(ctx context.Context, key string) (*ent.Flag, error) {
	off, zero, note := flag.StateOff, 0, KillSwitchNote
	return s.Update(ctx, key, UpdateFlagInput{State: &off, Pct: &zero, Note: &note})
}

// Delete removes a flag and returns it as it was.
func (s *Service) Delete(ctx context.Context, key string) (*ent.Flag, error) {
	var out *ent.Flag
	err := db.WithTx(ctx, s.client, func(ctx context.Context) error {
		f, err := s.ByKey(ctx, key)
		if err != nil {
			return err
		}
		if err := ent.FromContext(ctx).Flag.DeleteOne(f).Exec(ctx); err != nil {
			return apperr.About(err, "flag")
		}
		out = f
		return audit.Record(ctx, audit.Event{
			Action: "flag.deleted", ResourceType: "flag", ResourceID: strconv.Itoa(f.ID), ResourceName: f.Key,
			Metadata: map[string]any{"before": flagFields(f)},
		})
	})
	if err != nil {
		return nil, apperr.About(err, "flag")
	}
	return out, nil
}

// EvaluateAll evaluates every flag for a tenant the viewer can see
// (NOT_FOUND otherwise), sorted by key. environment "" means the service's
// default environment.
func (s *Service) EvaluateAll(ctx context.Context, tenantSlug, environment string) ([]*Evaluation, error) {
	target, err := s.Target(ctx, tenantSlug, environment)
	if err != nil {
		return nil, err
	}
	fs, err := s.definitions(ctx)
	if err != nil {
		return nil, apperr.About(err, "flag")
	}
	out := make([]*Evaluation, 0, len(fs))
	for _, f := range fs {
		out = append(out, evaluation(f, target))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// EvaluateOne evaluates one flag for target (from Target). A missing flag
// is NOT_FOUND.
func (s *Service) EvaluateOne(ctx context.Context, target Target, key string) (*Evaluation, error) {
	f, err := db.Client(ctx, s.client).Flag.Query().Where(flag.Key(key)).Only(rule.Bypass(ctx))
	if err != nil {
		return nil, apperr.About(err, "flag")
	}
	return evaluation(f, target), nil
}

// Target resolves the evaluation target of a tenant the viewer can see
// (NOT_FOUND otherwise). environment "" means the service's default.
//
// The tenant is read as the viewer; its partner and, later, the flag
// definitions are read past the viewer's reach: evaluating needs them, and
// only the evaluation leaves this package.
func (s *Service) Target(ctx context.Context, tenantSlug, environment string) (Target, error) {
	c := db.Client(ctx, s.client)
	t, err := c.Tenant.Query().Where(tenant.Slug(tenantSlug)).Only(ctx)
	if err != nil {
		return Target{}, apperr.About(err, "tenant")
	}
	if environment == "" {
		environment = s.environment
	}
	target := Target{TenantID: t.ID, TenantSlug: t.Slug, Plan: string(t.Plan), Environment: environment}
	if t.PartnerID != nil {
		p, err := c.Partner.Get(rule.Bypass(ctx), *t.PartnerID)
		if err != nil {
			return Target{}, apperr.About(err, "partner")
		}
		target.PartnerSlug = p.Slug
	}
	return target, nil
}

func evaluation(f *ent.Flag, t Target) *Evaluation {
	on, why := Explain(Rule{Key: f.Key, State: f.State, Pct: f.Pct, Scope: f.Scope}, t)
	return &Evaluation{Key: f.Key, Enabled: on, Reason: why, State: f.State}
}

// validate checks and normalises a rule.
func validate(r *Rule) error {
	if err := flag.StateValidator(r.State); err != nil {
		return apperr.Invalid("state", "unknown state")
	}
	if r.Pct < 0 || r.Pct > 100 {
		return apperr.Invalid("pct", "must be between 0 and 100")
	}
	for _, list := range []struct {
		field string
		v     []string
	}{{"scope.plans", r.Scope.Plans}, {"scope.tenantSlugs", r.Scope.TenantSlugs},
		{"scope.partnerSlugs", r.Scope.PartnerSlugs}, {"scope.environments", r.Scope.Environments}} {
		if len(list.v) > inputcheck.MaxScopeList {
			return apperr.Invalid(list.field, "at most %d entries", inputcheck.MaxScopeList)
		}
		if err := inputcheck.Lines(list.v); err != nil {
			return apperr.Invalid(list.field, "%v", err)
		}
	}
	plans := make([]string, 0, len(r.Scope.Plans))
	for _, p := range r.Scope.Plans {
		p = strings.ToUpper(strings.TrimSpace(p))
		if tenant.PlanValidator(tenant.Plan(p)) != nil {
			return apperr.Invalid("scope.plans", "unknown plan %q", p)
		}
		plans = append(plans, p)
	}
	r.Scope.Plans = plans
	for _, list := range []struct {
		field string
		v     *[]string
	}{{"scope.tenantSlugs", &r.Scope.TenantSlugs}, {"scope.partnerSlugs", &r.Scope.PartnerSlugs}} {
		for i, s := range *list.v {
			s = strings.ToLower(strings.TrimSpace(s))
			if !schema.SlugPattern.MatchString(s) {
				return apperr.Invalid(list.field, "%q is not a valid slug", s)
			}
			(*list.v)[i] = s
		}
	}
	for i, e := range r.Scope.Environments {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || len(e) > 40 {
			return apperr.Invalid("scope.environments", "environment names must be 1-40 characters")
		}
		r.Scope.Environments[i] = e
	}
	if r.Scope.Plans == nil {
		r.Scope.Plans = []string{}
	}
	for _, p := range []*[]string{&r.Scope.TenantSlugs, &r.Scope.PartnerSlugs, &r.Scope.Environments} {
		if *p == nil {
			*p = []string{}
		}
	}
	if r.State == flag.StateTargeted && r.Scope.Empty() {
		return apperr.Invalid("scope", "a targeted flag needs at least one scope entry")
	}
	return nil
}

// appendHistory adds a change by the viewer and keeps the newest HistoryLimit.
func appendHistory(ctx context.Context, h []schematype.FlagChange, r Rule, note string) []schematype.FlagChange {
	v := viewer.FromContext(ctx)
	ch := schematype.FlagChange{At: time.Now().UTC(), State: string(r.State), Pct: r.Pct, Note: note}
	if v != nil {
		ch.ActorID, ch.ActorEmail = v.Subject, v.Email
	}
	out := append(append([]schematype.FlagChange{}, h...), ch)
	if len(out) > HistoryLimit {
		out = out[len(out)-HistoryLimit:]
	}
	return out
}

func flagFields(f *ent.Flag) map[string]any {
	return map[string]any{
		"description": f.Description,
		"state":       string(f.State),
		"pct":         f.Pct,
		"scope":       f.Scope,
	}
}
