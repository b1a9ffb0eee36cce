//go:build !unix

package gobuild

// lock is a no-op where flock is unavailable: concurrent processes may
// then build the same binary twice, and the atomic rename in ensure still
// publishes only complete binaries.
func lock(string) (unlock func(), err error) { return func() {}, nil }
