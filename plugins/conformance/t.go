package conformance

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// T is what a suite needs from the test it runs in. Two implementations
// exist: one over *testing.T (the Run* functions, for go test) and the
// collector behind Check (for `dezky plugins conformance`), which records
// every subtest's outcome in a Report instead of failing a test binary.
// Fatal*, Skip* and a failed Run end only the current subtest, as in the
// testing package.
type T interface {
	Helper()
	Name() string
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
	Context() context.Context
	// Run runs fn as the subtest name and reports whether it passed.
	Run(name string, fn func(T)) bool
}

// testingT adapts *testing.T to T.
type testingT struct{ *testing.T }

// Wrap returns t as a T, for authors who compose their own suites from
// the kit's checks.
func Wrap(t *testing.T) T { return testingT{t} }

func (t testingT) Run(name string, fn func(T)) bool {
	return t.T.Run(name, func(tt *testing.T) { fn(testingT{tt}) })
}

// Outcome is the verdict on one check.
type Outcome string

// The outcomes.
const (
	Pass Outcome = "PASS"
	Fail Outcome = "FAIL"
	Skip Outcome = "SKIP"
)

// Result is one check (a subtest) of a Report.
type Result struct {
	// Name is the subtest path, for example "identity/EnsureGroup".
	Name     string
	Outcome  Outcome
	Messages []string // failures and the skip reason, in order
	Duration time.Duration
}

// recorder collects the results of one Check, in the order the checks
// started.
type recorder struct {
	mu      sync.Mutex
	results []Result
}

func (r *recorder) add(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, Result{Name: name})
	return len(r.results) - 1
}

func (r *recorder) set(i int, res Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results[i] = res
}

// collector is the T of Check. Each Run executes its function on a new
// goroutine so that Fatal and Skip can end it with runtime.Goexit, the way
// the testing package does.
type collector struct {
	rec    *recorder
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	failed   bool
	skipped  bool
	msgs     []string
	cleanups []func()
}

func newCollector(ctx context.Context, rec *recorder, name string) *collector {
	ctx, cancel := context.WithCancel(ctx)
	return &collector{rec: rec, name: name, ctx: ctx, cancel: cancel}
}

func (c *collector) Helper()                  {}
func (c *collector) Name() string             { return c.name }
func (c *collector) Context() context.Context { return c.ctx }

func (c *collector) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = true
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

func (c *collector) Fatal(args ...any) {
	c.Errorf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
	runtime.Goexit()
}

func (c *collector) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}

func (c *collector) Skip(args ...any) {
	c.Skipf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n"))
}

func (c *collector) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = true
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
	runtime.Goexit()
}

func (c *collector) Cleanup(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, fn)
}

func (c *collector) Run(name string, fn func(T)) bool {
	full := name
	if c.name != "" {
		full = c.name + "/" + name
	}
	child := newCollector(c.ctx, c.rec, full)
	i := c.rec.add(full)
	began := time.Now()
	child.exec(fn)
	child.mu.Lock()
	res := Result{Name: full, Outcome: Pass, Messages: child.msgs, Duration: time.Since(began)}
	switch {
	case child.failed:
		res.Outcome = Fail
	case child.skipped:
		res.Outcome = Skip
	}
	child.mu.Unlock()
	c.rec.set(i, res)
	if res.Outcome == Fail {
		c.mu.Lock()
		c.failed = true
		c.mu.Unlock()
	}
	return res.Outcome != Fail
}

// exec runs fn on its own goroutine and waits for it to end, normally,
// through Goexit or by panicking (recorded as a failure); then the
// cleanups run, last registered first.
func (c *collector) exec(fn func(T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.finish()
		defer func() {
			if r := recover(); r != nil {
				c.Errorf("panic: %v", r)
			}
		}()
		fn(c)
	}()
	<-done
}

func (c *collector) finish() {
	c.mu.Lock()
	fns := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
	c.cancel()
}
