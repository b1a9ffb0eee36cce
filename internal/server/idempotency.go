package server

import (
	"context"
	"fmt"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/idempotencykey"
)

// expiredBefore is the creation time before which a key recorded at or
// before now-IdempotencyWindow has expired.
func expiredBefore(now time.Time) time.Time { return now.Add(-IdempotencyWindow) }

// deleteExpiredKey removes the expired record of (scope, key), if any, so
// the key can be recorded again. ctx must allow writing idempotency
// records.
func deleteExpiredKey(ctx context.Context, c *ent.Client, scope, key string, now time.Time) error {
	_, err := c.IdempotencyKey.Delete().
		Where(idempotencykey.Scope(scope), idempotencykey.Key(key),
			idempotencykey.CreatedAtLTE(expiredBefore(now))).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete expired idempotency key: %w", err)
	}
	return nil
}

// ExpireIdempotencyKeys deletes every idempotency record older than
// IdempotencyWindow at now and returns how many it deleted. It is safe to
// run concurrently and repeatedly: a record is deleted once whoever runs
// it. ctx must allow writing idempotency records (the system viewer).
func ExpireIdempotencyKeys(ctx context.Context, c *ent.Client, now time.Time) (int, error) {
	n, err := c.IdempotencyKey.Delete().
		Where(idempotencykey.CreatedAtLTE(expiredBefore(now))).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return n, nil
}
