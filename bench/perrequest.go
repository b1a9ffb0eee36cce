package main

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perRequestRequests is how many sequential requests the per-request
// figures average over.
const perRequestRequests = 1000

// perRequest runs the list perRequestRequests times, one after another,
// against Dezky and against the bare server, and reports per request: the
// statements Dezky's ent client sent (the bare server sends two by
// construction: the count and the joined page) and the CPU time of this
// process. The server and the load client share the process, so the CPU
// figure includes the client's part, which is the same on both sides: the
// difference between them is what Dezky's request path costs more.
func (e *env) perRequest(ctx context.Context, body []byte) ([]row, error) {
	measure := func(do func() error) (time.Duration, float64, error) {
		for range 50 { // warm up: caches, connections
			if err := do(); err != nil {
				return 0, 0, err
			}
		}
		st, cpu := e.srv.DB.Statements(), cpuTime()
		for range perRequestRequests {
			if err := do(); err != nil {
				return 0, 0, err
			}
		}
		return (cpuTime() - cpu) / perRequestRequests, float64(e.srv.DB.Statements()-st) / perRequestRequests, nil
	}
	ourCPU, ourStatements, err := measure(func() error { return post(ctx, e.srv.URL+"/query", e.operator, body) })
	if err != nil {
		return nil, fmt.Errorf("dezky: %w", err)
	}
	bareCPU, _, err := measure(func() error { return post(ctx, e.bareURL, "", body) })
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	us := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	return []row{
		{name: e.dialect + ": SQL statements per authenticated tenants(first:50) request (vs bare Go + SQL; lower is better)",
			ours: fmt.Sprintf("%.2f", ourStatements), base: "2", ratio: ourStatements / 2},
		{name: e.dialect + ": CPU per list request, server and client in one process (vs bare Go + SQL; lower is better)",
			ours: us(ourCPU), base: us(bareCPU), ratio: float64(ourCPU) / float64(bareCPU)},
	}, nil
}
