package db

import (
	"context"
	"fmt"

	"github.com/dezky/platform/ent"
)

// Client returns the transactional client carried by ctx, or root.
func Client(ctx context.Context, root *ent.Client) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return root
}

// WithTx runs fn inside a transaction. When ctx already carries one (for
// example the GraphQL mutation transaction), fn joins it and the caller
// commits; otherwise a new transaction is opened, committed when fn returns
// nil and rolled back otherwise. fn must use db.Client(ctx, …) or
// ent.FromContext(ctx) for every read and write.
func WithTx(ctx context.Context, root *ent.Client, fn func(ctx context.Context) error) error {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx)
	}
	ctx, tx, err := BeginTx(ctx, root)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(ctx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}
