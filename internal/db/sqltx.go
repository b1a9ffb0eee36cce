package db

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/ent"
)

// The job engine inserts jobs with river's InsertTx, which takes the
// *sql.Tx of the transaction the job belongs to. ent does not expose the
// *sql.Tx under an *ent.Tx, so the client's driver is wrapped (txDriver):
// when a transaction is begun on a context prepared by BeginTx, the driver
// stores the *sql.Tx it opened in that context, where SQLTx finds it.

// txSlot receives the *sql.Tx of a transaction begun on its context.
type txSlot struct{ tx *sql.Tx }

type txSlotKey struct{}

// txDriver is ent's SQL driver, recording the *sql.Tx of each transaction
// begun on a context that carries a txSlot, and counting the statements
// sent through it (DB.Statements).
type txDriver struct {
	*entsql.Driver
	n *atomic.Int64
}

// Exec executes a statement outside a transaction.
func (d txDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Exec(ctx, query, args, v)
}

// Query runs a query outside a transaction.
func (d txDriver) Query(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.Driver.Query(ctx, query, args, v)
}

// countedTx is a transaction counting its statements, its commit and its
// rollback.
type countedTx struct {
	dialect.Tx
	n *atomic.Int64
}

func (t countedTx) Exec(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t countedTx) Query(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.Tx.Query(ctx, query, args, v)
}

// ExecContext runs a statement of the transaction's own SQL (ent's
// config.ExecContext reaches it through the driver).
func (t countedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ec, ok := t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, errors.New("db: the transaction does not run SQL directly")
	}
	t.n.Add(1)
	return ec.ExecContext(ctx, query, args...)
}

// QueryContext runs a query of the transaction's own SQL.
func (t countedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	qc, ok := t.Tx.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, errors.New("db: the transaction does not run SQL directly")
	}
	t.n.Add(1)
	return qc.QueryContext(ctx, query, args...)
}

// ExecContext runs a statement of the caller's own SQL outside a
// transaction.
func (d txDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.n.Add(1)
	return d.Driver.ExecContext(ctx, query, args...)
}

// QueryContext runs a query of the caller's own SQL outside a
// transaction.
func (d txDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	d.n.Add(1)
	return d.Driver.QueryContext(ctx, query, args...)
}

func (t countedTx) Commit() error {
	t.n.Add(1)
	return t.Tx.Commit()
}

func (t countedTx) Rollback() error {
	t.n.Add(1)
	return t.Tx.Rollback()
}

// Tx begins a transaction.
func (d txDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

// BeginTx begins a transaction with options.
func (d txDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := d.Driver.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	d.n.Add(1)
	if slot, ok := ctx.Value(txSlotKey{}).(*txSlot); ok {
		if etx, ok := tx.(*entsql.Tx); ok {
			slot.tx, _ = etx.Tx.(*sql.Tx)
		}
	}
	return countedTx{Tx: tx, n: d.n}, nil
}

// newClient returns an ent client over drv whose transactions SQLTx can
// reach.
func newClient(drv *entsql.Driver, n *atomic.Int64) *ent.Client {
	return ent.NewClient(ent.Driver(txDriver{Driver: drv, n: n}))
}

// BeginTx opens a transaction on root and returns it with a context that
// carries it (ent.TxFromContext, ent.FromContext) and its *sql.Tx (SQLTx).
// The caller commits or rolls back.
func BeginTx(ctx context.Context, root *ent.Client) (context.Context, *ent.Tx, error) {
	slot := &txSlot{}
	tx, err := root.Tx(context.WithValue(ctx, txSlotKey{}, slot))
	if err != nil {
		return ctx, nil, err
	}
	ctx = context.WithValue(ctx, txSlotKey{}, slot)
	ctx = ent.NewTxContext(ctx, tx)
	return ent.NewContext(ctx, tx.Client()), tx, nil
}

// SQLTx returns the *sql.Tx of the transaction ctx carries, when it was
// opened by BeginTx or WithTx.
func SQLTx(ctx context.Context) (*sql.Tx, bool) {
	if ent.TxFromContext(ctx) == nil {
		return nil, false
	}
	slot, ok := ctx.Value(txSlotKey{}).(*txSlot)
	if !ok || slot.tx == nil {
		return nil, false
	}
	return slot.tx, true
}
