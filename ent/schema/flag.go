package schema

import (
	"context"
	"fmt"
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	gen "github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flaggeneration"
	"github.com/dezky/platform/ent/schema/schematype"
)

// FlagKeyPattern is the shape of feature-flag keys.
var FlagKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// Flag is a feature flag evaluated per tenant (see package flags).
type Flag struct{ ent.Schema }

// Mixin of the Flag.
func (Flag) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, OperatorMixin{}, TimeMixin{}} }

// Fields of the Flag.
func (Flag) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Comment("Unique key: a lower-case letter, then 1–62 lower-case letters, digits or underscores.").Unique().Immutable().Match(FlagKeyPattern).
			Annotations(entgql.OrderField("KEY")),
		field.String("description").Comment("What the flag controls.").Default("").MaxLen(500).Validate(text(0)),
		field.Enum("state").Comment("How the flag evaluates.").
			NamedValues("Off", "OFF", "On", "ON", "Targeted", "TARGETED", "Rollout", "ROLLOUT").
			Default("OFF"),
		field.Int("pct").Comment("Rollout percentage 0–100: the share of tenants in scope that get the flag (ROLLOUT).").Default(0).Range(0, 100),
		field.JSON("scope", schematype.FlagScope{}).Comment("Who a TARGETED or ROLLOUT flag applies to.").Default(schematype.FlagScope{}).
			Annotations(entgql.Type("FlagScope")),
		field.JSON("history", []schematype.FlagChange{}).Comment("The newest 20 changes, oldest first.").Default([]schematype.FlagChange{}).
			Annotations(entgql.Type("[FlagChange!]")),
	}
}

// Annotations of the Flag.
func (Flag) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A feature flag, evaluated per tenant (operators only; everybody evaluates through evaluateFlags or OFREP)."),
		entgql.RelayConnection(),
		entgql.QueryField().Description("Feature flags (operators only)."),
	}
}

// FlagGenerationName is the FlagGeneration row counting flag changes.
const FlagGenerationName = "flags"

// Hooks of the Flag: every write bumps the flags' generation in the same
// transaction, so flag caches on every replica see the change (package
// flags). A write outside a transaction bumps it right after.
func (Flag) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				v, err := next.Mutate(ctx, m)
				if err != nil {
					return v, err
				}
				fm, ok := m.(*gen.FlagMutation)
				if !ok {
					return v, nil
				}
				err = fm.Client().FlagGeneration.Create().SetName(FlagGenerationName).SetGeneration(1).
					OnConflictColumns(flaggeneration.FieldName).
					Update(func(u *gen.FlagGenerationUpsert) { u.AddGeneration(1) }).Exec(ctx)
				if err != nil {
					return v, fmt.Errorf("bump flag generation: %w", err)
				}
				return v, nil
			})
		},
	}
}

// Policy of the Flag: none of its own; BaseMixin and OperatorMixin make
// flags operator-only.
func (Flag) Policy() ent.Policy {
	return nil
}
