package archive

import (
	"context"
	"errors"
)

// ErrNotFound is returned (wrapped) by Store.Head and Store.Get for a key
// that does not exist.
var ErrNotFound = errors.New("archive: object not found")

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// ETag is the entity tag the store reports, without quotes; it may be
	// empty when the store reports none.
	ETag string
}

// Store is the object storage the archive is written to. Implementations
// must be safe for concurrent use. Put of an existing key replaces the
// object.
type Store interface {
	// Put stores body under key.
	Put(ctx context.Context, key string, body []byte, contentType string) (ObjectInfo, error)
	// Head describes the object at key, or returns ErrNotFound.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// Get returns the bytes of the object at key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// List describes every object whose key starts with prefix, in
	// ascending key order.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
}
