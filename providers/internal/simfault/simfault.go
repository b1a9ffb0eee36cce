// Package simfault injects failures, delays and outages into the HTTP handlers of
// the provider simulators.
//
// A [Faults] value is safe for concurrent use; its zero value injects nothing.
// [Faults.Wrap] returns the middleware that applies it to every request.
package simfault

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults holds injected failures and delays.
type Faults struct {
	mu     sync.Mutex
	next   []fault
	sleep  time.Duration
	outage int
}

type fault struct {
	method, prefix string
	status         int
}

// FailNext makes the next request whose method matches (empty = any) and whose URL
// path starts with pathPrefix fail with status. Faults queue up and each fires once.
func (f *Faults) FailNext(method, pathPrefix string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = append(f.next, fault{method: strings.ToUpper(method), prefix: pathPrefix, status: status})
}

// SetDelay makes every request wait d before being handled (0 disables). A request
// whose context ends while waiting is dropped.
func (f *Faults) SetDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleep = d
}

// SetOutage makes every request fail with status until it is called with 0 (or
// ClearFaults), simulating an upstream outage.
func (f *Faults) SetOutage(status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outage = status
}

// ClearFaults removes pending faults, the delay and any outage.
func (f *Faults) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next, f.sleep, f.outage = nil, 0, 0
}

// Wrap returns a handler that applies f to each request before next sees it: the
// request first waits out the delay (and is dropped without a response if its
// context ends meanwhile), then fails through fail with the outage status or the
// first matching queued fault, and otherwise reaches next.
func (f *Faults) Wrap(next http.Handler, fail func(w http.ResponseWriter, status int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.delay(r) {
			return
		}
		if st, ok := f.take(r.Method, r.URL.Path); ok {
			fail(w, st)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (f *Faults) take(method, path string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.outage != 0 {
		return f.outage, true
	}
	for i, x := range f.next {
		if (x.method == "" || x.method == method) && strings.HasPrefix(path, x.prefix) {
			f.next = append(f.next[:i:i], f.next[i+1:]...)
			return x.status, true
		}
	}
	return 0, false
}

func (f *Faults) delay(r *http.Request) bool {
	f.mu.Lock()
	d := f.sleep
	f.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
