package schema

import (
	"context"

	"entgo.io/ent"

	gen "github.com/dezky/platform/ent"
	"github.com/dezky/platform/internal/viewer"
)

// viewerChangeHook announces a change that may alter callers' viewers
// (viewer.AnnounceChange) once it is committed: at the commit of the
// transaction it runs in, or right after a write outside one. affects
// tells which mutations of the entity count.
func viewerChangeHook(affects func(ent.Mutation) bool) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, err := next.Mutate(ctx, m)
			if err != nil || !affects(m) {
				return v, err
			}
			txm, ok := m.(interface{ Tx() (*gen.Tx, error) })
			tx, terr := (*gen.Tx)(nil), error(nil)
			if ok {
				tx, terr = txm.Tx()
			}
			if !ok || terr != nil {
				viewer.AnnounceChange()
				return v, nil
			}
			tx.OnCommit(func(c gen.Committer) gen.Committer {
				return gen.CommitFunc(func(ctx context.Context, tx *gen.Tx) error {
					if err := c.Commit(ctx, tx); err != nil {
						return err
					}
					viewer.AnnounceChange()
					return nil
				})
			})
			return v, nil
		})
	}
}

// anyMutation counts every mutation.
func anyMutation(ent.Mutation) bool { return true }

// statusOrDelete counts a deletion and an update of the status field (a
// new row is in no viewer yet).
func statusOrDelete(m ent.Mutation) bool {
	switch {
	case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
		return true
	case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
		_, set := m.Field("status")
		return set
	}
	return false
}

// Hooks of the User: any change may alter the user's viewer.
func (User) Hooks() []ent.Hook { return []ent.Hook{viewerChangeHook(anyMutation)} }

// Hooks of the Membership: any change may alter its user's viewer.
func (Membership) Hooks() []ent.Hook { return []ent.Hook{viewerChangeHook(anyMutation)} }

// Hooks of the Partner: its status decides whether its staff act for it.
func (Partner) Hooks() []ent.Hook { return []ent.Hook{viewerChangeHook(statusOrDelete)} }

// Hooks of the Tenant: a deleted tenant's memberships grant nothing.
func (Tenant) Hooks() []ent.Hook { return []ent.Hook{viewerChangeHook(statusOrDelete)} }
