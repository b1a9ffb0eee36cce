package audit

import (
	"context"
	"fmt"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/dezky/platform/internal/db"
)

// ChainedEvents returns up to limit chained events of d with seq > after,
// in ascending seq order, read exactly as the chainer hashed them (so
// HashEntry of each equals its stored hash unless the row was altered).
func ChainedEvents(ctx context.Context, d *db.DB, after int64, limit int) ([]Entry, error) {
	q, args := selectEntries(d).Where(entsql.GT("seq", after)).OrderBy("seq").Limit(limit).Query()
	rows, err := d.SQL.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: read events after seq %d: %w", after, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		_, e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: read events after seq %d: %w", after, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read events after seq %d: %w", after, err)
	}
	return out, nil
}
