package host

import (
	"sync"
	"time"
)

// BreakerState is the state of a plugin's circuit breaker.
type BreakerState string

// The breaker states.
const (
	BreakerClosed   BreakerState = "closed"
	BreakerOpen     BreakerState = "open"
	BreakerHalfOpen BreakerState = "half-open"
)

// breaker is a consecutive-failure circuit breaker. Closed: every call
// passes; Failures consecutive failures open it. Open: calls are refused
// until CoolDown has passed, then it half-opens. Half-open: one probe call
// passes; its success closes the breaker, its failure opens it again.
type breaker struct {
	cfg BreakerConfig
	now func() time.Time

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probing  bool
}

func newBreaker(cfg BreakerConfig) *breaker {
	return &breaker{cfg: cfg, now: time.Now, state: BreakerClosed}
}

// allow reports whether a call may proceed. A true result in half-open
// state reserves the single probe; the caller must report its outcome with
// done.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if b.now().Sub(b.openedAt) < b.cfg.CoolDown {
			return false
		}
		b.state = BreakerHalfOpen
		b.probing = true
		return true
	case BreakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

// done records the outcome of an allowed call.
func (b *breaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case ok:
		b.failures = 0
		b.state = BreakerClosed
		b.probing = false
	case b.state == BreakerHalfOpen:
		b.state = BreakerOpen
		b.openedAt = b.now()
		b.probing = false
	default:
		b.failures++
		if b.state == BreakerClosed && b.failures >= b.cfg.Failures {
			b.state = BreakerOpen
			b.openedAt = b.now()
		}
	}
}

// release ends an allowed call without an outcome (the caller cancelled).
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

func (b *breaker) snapshot() (BreakerState, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && b.now().Sub(b.openedAt) >= b.cfg.CoolDown {
		return BreakerHalfOpen, b.failures
	}
	return b.state, b.failures
}
