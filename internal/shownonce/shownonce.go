// Package shownonce keeps values a mutation shows its caller exactly once
// (client secrets) out of everything that outlives the response: a
// resolver marks such a value with Mark, and the code that stores the
// response for Idempotency-Key replays passes it through Recorder.Redact
// first, so a replay answers null in its place.
package shownonce

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
)

// Recorder collects the values marked during one operation.
type Recorder struct {
	mu     sync.Mutex
	values []string
}

type ctxKey struct{}

// WithRecorder returns ctx carrying a new Recorder, and the Recorder.
func WithRecorder(ctx context.Context) (context.Context, *Recorder) {
	r := &Recorder{}
	return context.WithValue(ctx, ctxKey{}, r), r
}

// Mark records v as shown once. Without a Recorder in ctx (no response is
// stored for replay) it does nothing. Empty values are ignored.
func Mark(ctx context.Context, v string) {
	r, _ := ctx.Value(ctxKey{}).(*Recorder)
	if r == nil || v == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.values = append(r.values, v)
}

// Redact returns body (a JSON document) with every JSON string equal to a
// marked value replaced by null. A nil Recorder returns body unchanged.
func (r *Recorder) Redact(body []byte) []byte {
	if r == nil {
		return body
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.values {
		lit, err := json.Marshal(v)
		if err != nil {
			continue
		}
		body = bytes.ReplaceAll(body, lit, []byte("null"))
	}
	return body
}
