package audit

import (
	"context"
	"fmt"

	"github.com/dezky/platform/internal/db"
)

// ChainedEvents returns up to limit chained events of d with seq > after,
// in ascending seq order, read exactly as the chainer hashed them (so
// HashEntry of each equals its stored hash unless the row was altered).
func ChainedEvents(ctx context.Context, d *db.DB, after int64, limit int) ([]Entry, error) {
	q := bind(d, `SELECT `+entryColumns+` FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`)
	rows, err := d.SQL.QueryContext(ctx, q, after, limit)
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
