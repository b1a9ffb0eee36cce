// Package ratelimit meters GraphQL query cost per subject with leaky buckets,
// the way Shopify's and GitHub's GraphQL APIs do.
//
// Each subject (a signed-in user, or an anonymous client address) owns one
// bucket per class of caller. A bucket holds at most Budget.Max points and
// refills at Budget.Restore points per second. A request reserves its
// requested cost up front (Reserve) and is refused when the bucket holds
// less; after it ran, Settle refunds what the request did not spend (its
// actual cost is usually below the requested worst case).
//
// Buckets live in the memory of one process: with N replicas behind a load
// balancer a subject may spend up to N budgets. Idle buckets that have
// refilled are dropped, so memory stays bounded by the active subjects.
package ratelimit

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Class is a class of caller with its own budget.
type Class string

// The classes of caller.
const (
	Operator  Class = "operator"
	Partner   Class = "partner"
	Tenant    Class = "tenant"
	Anonymous Class = "anonymous"
)

// Classes lists every class, in the order flags and docs name them.
var Classes = []Class{Operator, Partner, Tenant, Anonymous}

// Budget is one class's bucket size and refill rate.
type Budget struct {
	// Max is the bucket's capacity in cost points.
	Max float64
	// Restore is the refill rate in points per second.
	Restore float64
}

// DefaultBudgets are the budgets when none are configured. Each signed-in
// class can afford at least one query at the complexity limit (5000).
var DefaultBudgets = map[Class]Budget{
	Operator:  {Max: 20000, Restore: 1000},
	Partner:   {Max: 10000, Restore: 500},
	Tenant:    {Max: 5000, Restore: 250},
	Anonymous: {Max: 1000, Restore: 50},
}

// Status is a bucket's state after an operation, as reported to clients.
type Status struct {
	// Maximum is the bucket's capacity.
	Maximum float64
	// Available is what the bucket holds now.
	Available float64
	// Restore is the refill rate per second.
	Restore float64
}

// RetryAfter is how long until the bucket holds cost points.
func (s Status) RetryAfter(cost float64) time.Duration {
	if s.Available >= cost || s.Restore <= 0 {
		return 0
	}
	return time.Duration(math.Ceil((cost - s.Available) / s.Restore * float64(time.Second)))
}

// ResetAfter is how long until the bucket is full again.
func (s Status) ResetAfter() time.Duration {
	return s.RetryAfter(s.Maximum)
}

// Limiter holds the buckets. The zero value is not usable; call New.
type Limiter struct {
	budgets map[Class]Budget
	now     func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	ops     int
}

type bucketKey struct {
	class   Class
	subject string
}

type bucket struct {
	available float64
	at        time.Time
}

// New returns a limiter with the given budgets; a class missing from
// budgets is not limited. now is the clock (time.Now when nil).
func New(budgets map[Class]Budget, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{budgets: budgets, now: now, buckets: map[bucketKey]*bucket{}}
}

// Limited reports whether class has a budget.
func (l *Limiter) Limited(class Class) bool {
	_, ok := l.budgets[class]
	return ok
}

// Reserve takes cost points from the subject's bucket. When the bucket
// holds less than cost it takes nothing and reports false. An unlimited
// class always succeeds with a zero Status.
func (l *Limiter) Reserve(class Class, subject string, cost float64) (Status, bool) {
	b, ok := l.budgets[class]
	if !ok {
		return Status{}, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bk := l.fill(class, subject, b)
	if cost > bk.available {
		return Status{Maximum: b.Max, Available: bk.available, Restore: b.Restore}, false
	}
	bk.available -= cost
	return Status{Maximum: b.Max, Available: bk.available, Restore: b.Restore}, true
}

// Settle returns refund points (the reserved cost not spent) to the
// subject's bucket, never above its capacity, and reports the state.
func (l *Limiter) Settle(class Class, subject string, refund float64) Status {
	b, ok := l.budgets[class]
	if !ok {
		return Status{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	bk := l.fill(class, subject, b)
	if refund > 0 {
		bk.available = math.Min(b.Max, bk.available+refund)
	}
	return Status{Maximum: b.Max, Available: bk.available, Restore: b.Restore}
}

// fill returns the subject's bucket refilled to now. l.mu is held.
func (l *Limiter) fill(class Class, subject string, b Budget) *bucket {
	now := l.now()
	l.ops++
	if l.ops%1024 == 0 {
		l.sweep(now)
	}
	k := bucketKey{class, subject}
	bk := l.buckets[k]
	if bk == nil {
		bk = &bucket{available: b.Max, at: now}
		l.buckets[k] = bk
		return bk
	}
	if d := now.Sub(bk.at); d > 0 {
		bk.available = math.Min(b.Max, bk.available+d.Seconds()*b.Restore)
		bk.at = now
	}
	return bk
}

// sweep drops buckets that have refilled completely: a new bucket starts
// full, so dropping them changes no answer. l.mu is held.
func (l *Limiter) sweep(now time.Time) {
	for k, bk := range l.buckets {
		b := l.budgets[k.class]
		if bk.available+now.Sub(bk.at).Seconds()*b.Restore >= b.Max {
			delete(l.buckets, k)
		}
	}
}

// ParseBudgets parses a budget list: "off" (no limits), or comma-separated
// class=max/restore entries ("tenant=5000/250,anonymous=1000/50"); classes
// not named keep their default. A capacity is 1 to 1e9 points; a restore
// rate is positive and at most the capacity per second.
func ParseBudgets(s string) (map[Class]Budget, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return map[Class]Budget{}, nil
	}
	out := make(map[Class]Budget, len(DefaultBudgets))
	for c, b := range DefaultBudgets {
		out[c] = b
	}
	if s == "" {
		return out, nil
	}
	seen := map[Class]bool{}
	for _, entry := range strings.Split(s, ",") {
		name, spec, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok {
			return nil, fmt.Errorf("budget %q: want class=max/restore", entry)
		}
		c := Class(strings.TrimSpace(name))
		if _, known := DefaultBudgets[c]; !known {
			return nil, fmt.Errorf("budget %q: unknown class %q (want one of %s)", entry, c, classNames())
		}
		if seen[c] {
			return nil, fmt.Errorf("budget %q: class %q given twice", entry, c)
		}
		seen[c] = true
		maxS, restoreS, ok := strings.Cut(spec, "/")
		if !ok {
			return nil, fmt.Errorf("budget %q: want class=max/restore", entry)
		}
		mx, err := strconv.ParseFloat(strings.TrimSpace(maxS), 64)
		if err != nil || mx < 1 || mx > 1e9 || math.IsNaN(mx) {
			return nil, fmt.Errorf("budget %q: capacity must be a number from 1 to 1e9", entry)
		}
		rs, err := strconv.ParseFloat(strings.TrimSpace(restoreS), 64)
		if err != nil || rs <= 0 || rs > mx || math.IsNaN(rs) {
			return nil, fmt.Errorf("budget %q: restore rate must be a positive number per second, at most the capacity", entry)
		}
		out[c] = Budget{Max: mx, Restore: rs}
	}
	return out, nil
}

// FormatBudgets renders budgets in ParseBudgets' syntax, classes in order.
func FormatBudgets(b map[Class]Budget) string {
	if len(b) == 0 {
		return "off"
	}
	parts := make([]string, 0, len(b))
	for _, c := range Classes {
		if x, ok := b[c]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s/%s", c, num(x.Max), num(x.Restore)))
		}
	}
	return strings.Join(parts, ",")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func classNames() string {
	names := make([]string, len(Classes))
	for i, c := range Classes {
		names[i] = string(c)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
