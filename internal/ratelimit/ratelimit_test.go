package ratelimit

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBucketReservesRefundsAndRefills(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(map[Class]Budget{Tenant: {Max: 100, Restore: 10}}, c.now)

	st, ok := l.Reserve(Tenant, "alice", 60)
	if !ok || st.Available != 40 || st.Maximum != 100 || st.Restore != 10 {
		t.Fatalf("first reserve = %+v, %v; want 40 left", st, ok)
	}
	st = l.Settle(Tenant, "alice", 50) // spent 10 of the 60 reserved
	if st.Available != 90 {
		t.Fatalf("after refund available = %v, want 90", st.Available)
	}
	if _, ok := l.Reserve(Tenant, "alice", 90); !ok {
		t.Fatal("reserve of exactly what is left refused")
	}
	st, ok = l.Reserve(Tenant, "alice", 25)
	if ok || st.Available != 0 {
		t.Fatalf("reserve over the level = %+v, %v; want refused with 0 left", st, ok)
	}
	if got := st.RetryAfter(25); got != 2500*time.Millisecond {
		t.Fatalf("RetryAfter(25) = %v, want 2.5s at 10/s", got)
	}
	c.advance(2500 * time.Millisecond)
	if _, ok := l.Reserve(Tenant, "alice", 25); !ok {
		t.Fatal("refused after the advertised wait")
	}
	// Another subject has its own bucket.
	if st, ok := l.Reserve(Tenant, "bob", 100); !ok || st.Available != 0 {
		t.Fatalf("bob = %+v, %v", st, ok)
	}
	// Refill never exceeds the capacity, refunds neither.
	c.advance(time.Hour)
	if st := l.Settle(Tenant, "alice", 1000); st.Available != 100 {
		t.Fatalf("refilled to %v, want the capacity 100", st.Available)
	}
}

func TestUnlimitedClassAlwaysPasses(t *testing.T) {
	l := New(map[Class]Budget{Tenant: {Max: 1, Restore: 1}}, nil)
	if l.Limited(Operator) {
		t.Fatal("operator limited without a budget")
	}
	if _, ok := l.Reserve(Operator, "root", 1e9); !ok {
		t.Fatal("unlimited class refused")
	}
}

func TestSweepDropsOnlyFullBuckets(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := New(map[Class]Budget{Tenant: {Max: 10, Restore: 1}}, c.now)
	l.Reserve(Tenant, "spent", 10)
	for i := 0; i < 2000; i++ { // many one-off subjects, all full again after use
		l.Settle(Tenant, string(rune('a'+i%26))+time.Duration(i).String(), 0)
	}
	l.mu.Lock()
	_, kept := l.buckets[bucketKey{Tenant, "spent"}]
	n := len(l.buckets)
	l.mu.Unlock()
	if !kept {
		t.Fatal("a bucket that is not full was dropped")
	}
	if n > 1100 {
		t.Fatalf("%d buckets kept; full ones should be swept", n)
	}
	st, _ := l.Reserve(Tenant, "spent", 0)
	if st.Available != 0 {
		t.Fatalf("spent bucket has %v, want 0 (no time passed)", st.Available)
	}
}

func TestParseBudgets(t *testing.T) {
	b, err := ParseBudgets("tenant=200/20, anonymous=10/1")
	if err != nil {
		t.Fatal(err)
	}
	if b[Tenant] != (Budget{200, 20}) || b[Anonymous] != (Budget{10, 1}) || b[Operator] != DefaultBudgets[Operator] {
		t.Fatalf("parsed %+v", b)
	}
	if got := FormatBudgets(b); got != "operator=20000/1000,partner=10000/500,tenant=200/20,anonymous=10/1" {
		t.Fatalf("FormatBudgets = %q", got)
	}
	if b, err := ParseBudgets("off"); err != nil || len(b) != 0 || FormatBudgets(b) != "off" {
		t.Fatalf("off = %v, %v", b, err)
	}
	for _, bad := range []string{"tenant", "tenant=5", "root=5/1", "tenant=0/1", "tenant=5/0", "tenant=5/6", "tenant=NaN/1", "tenant=5/1,tenant=6/1", "tenant=x/y"} {
		if _, err := ParseBudgets(bad); err == nil {
			t.Errorf("ParseBudgets(%q) accepted", bad)
		}
	}
}

func FuzzParseBudgets(f *testing.F) {
	for _, s := range []string{"", "off", "tenant=5000/250", "operator=1/1,partner=2/2", "tenant=1e9/1e9", "x=1/1", "tenant=-1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBudgets(s)
		if err != nil {
			return
		}
		for c, x := range b {
			if x.Max < 1 || x.Restore <= 0 || x.Restore > x.Max {
				t.Fatalf("%q gave %s=%+v", s, c, x)
			}
		}
		again, err := ParseBudgets(FormatBudgets(b))
		if err != nil || len(again) != len(b) {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
		for c, x := range b {
			if again[c] != x {
				t.Fatalf("round trip of %q changed %s: %+v → %+v", s, c, x, again[c])
			}
		}
	})
}
