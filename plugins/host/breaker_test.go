package host

import (
	"testing"
	"time"
)

// TestBreaker walks the breaker through its states on a fake clock.
func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBreaker(BreakerConfig{Failures: 3, CoolDown: time.Minute})
	b.now = func() time.Time { return now }
	state := func(want BreakerState, wantFails int) {
		t.Helper()
		if got, fails := b.snapshot(); got != want || fails != wantFails {
			t.Fatalf("breaker = %s (%d failures), want %s (%d)", got, fails, want, wantFails)
		}
	}
	call := func(ok bool) {
		t.Helper()
		if !b.allow() {
			t.Fatal("call refused, want allowed")
		}
		b.done(ok)
	}

	call(false)
	call(false)
	call(true) // a success resets the count
	state(BreakerClosed, 0)
	for range 3 {
		call(false)
	}
	state(BreakerOpen, 3)
	if b.allow() {
		t.Fatal("call allowed while open")
	}

	now = now.Add(time.Minute)
	state(BreakerHalfOpen, 3)
	if !b.allow() {
		t.Fatal("probe refused after the cool-down")
	}
	if b.allow() {
		t.Fatal("second call allowed while the probe runs")
	}
	b.done(false) // the probe failed: open again for a full cool-down
	if b.allow() {
		t.Fatal("call allowed after a failed probe")
	}
	now = now.Add(time.Minute - time.Nanosecond)
	if b.allow() {
		t.Fatal("call allowed before the cool-down ended")
	}

	now = now.Add(time.Nanosecond)
	if !b.allow() {
		t.Fatal("probe refused after the second cool-down")
	}
	b.release() // the caller gave up: the probe slot is free again
	call(true)
	state(BreakerClosed, 0)
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for n, want := range map[int]time.Duration{
		0: 100 * time.Millisecond, 1: 100 * time.Millisecond, 2: 200 * time.Millisecond,
		4: 800 * time.Millisecond, 5: time.Second, 50: time.Second,
	} {
		if got := b.Delay(n); got != want {
			t.Errorf("Delay(%d) = %s, want %s", n, got, want)
		}
	}
}
