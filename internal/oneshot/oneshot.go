// Package oneshot marks values a response shows only once, such as a
// signing secret, so that nothing keeps a copy: the GraphQL server stores
// a mutation's response for Idempotency-Key replays with every marked
// value replaced by null (whatever alias the caller gave the field).
package oneshot

import (
	"context"
	"encoding/json"
	"sync"
)

type key struct{}

type holder struct {
	mu     sync.Mutex
	values map[string]bool
}

// WithHolder returns ctx able to collect marked values.
func WithHolder(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, &holder{values: map[string]bool{}})
}

// Mark records v as shown once. Without a holder in ctx it does nothing.
func Mark(ctx context.Context, v string) {
	if h, ok := ctx.Value(key{}).(*holder); ok && v != "" {
		h.mu.Lock()
		h.values[v] = true
		h.mu.Unlock()
	}
}

// Redact returns data (JSON) with every string equal to a value marked in
// ctx replaced by null, and whether anything was marked. data is returned
// unchanged when nothing was marked.
func Redact(ctx context.Context, data json.RawMessage) (json.RawMessage, error) {
	h, ok := ctx.Value(key{}).(*holder)
	if !ok || len(data) == 0 {
		return data, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.values) == 0 {
		return data, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(redact(v, h.values))
}

func redact(v any, marked map[string]bool) any {
	switch x := v.(type) {
	case string:
		if marked[x] {
			return nil
		}
	case map[string]any:
		for k, e := range x {
			x[k] = redact(e, marked)
		}
	case []any:
		for i, e := range x {
			x[i] = redact(e, marked)
		}
	}
	return v
}
