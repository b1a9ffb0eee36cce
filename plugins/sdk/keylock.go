package sdk

import "sync"

// KeyLock serializes work per key: at most one holder per key at a time,
// different keys never wait for each other. Providers use it to make an
// idempotent ensure safe under parallel calls with the same key when the
// upstream has no atomic create-if-absent (find, then create, races with
// itself otherwise). It only orders calls within one plugin process. The
// zero value is ready to use.
type KeyLock struct {
	mu    sync.Mutex
	locks map[string]*keyEntry
}

type keyEntry struct {
	mu   sync.Mutex
	refs int
}

// Lock blocks until key is free, takes it and returns the function that
// releases it.
func (l *KeyLock) Lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*keyEntry{}
	}
	e := l.locks[key]
	if e == nil {
		e = &keyEntry{}
		l.locks[key] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}
}
