package viewer

import "sync"

// What a viewer is made of (the user, its partner's status, its
// memberships, its tenants' status) changes rarely, and caches of viewers
// must hear of every change. The ent schema's hooks call AnnounceChange
// once such a change is committed; caches register with OnChange.

var changeListeners struct {
	sync.Mutex
	next int
	fns  map[int]func()
}

// OnChange calls fn after every committed change that may alter a viewer
// (see AnnounceChange), in the committing goroutine, until the returned
// function is called. fn must be quick and must not write to the
// database.
func OnChange(fn func()) (stop func()) {
	changeListeners.Lock()
	defer changeListeners.Unlock()
	if changeListeners.fns == nil {
		changeListeners.fns = map[int]func(){}
	}
	id := changeListeners.next
	changeListeners.next++
	changeListeners.fns[id] = fn
	return func() {
		changeListeners.Lock()
		defer changeListeners.Unlock()
		delete(changeListeners.fns, id)
	}
}

// AnnounceChange tells every OnChange listener that a change to a user, a
// membership, a partner's status or a tenant's status was committed.
func AnnounceChange() {
	changeListeners.Lock()
	fns := make([]func(), 0, len(changeListeners.fns))
	for _, fn := range changeListeners.fns {
		fns = append(fns, fn)
	}
	changeListeners.Unlock()
	for _, fn := range fns {
		fn()
	}
}
