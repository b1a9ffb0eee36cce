package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// pgListQuery is listQuery in PostGraphile 4's default schema.
const pgListQuery = `{ allTenants(first: 50, orderBy: SLUG_ASC) { totalCount edges { node { slug name plan status seats partnerByPartnerId { slug name } } } } }`

// postgraphileDir holds the pinned PostGraphile (package.json and its
// lock), relative to the module root.
const postgraphileDir = "bench/postgraphile"

// startPostGraphile installs the pinned PostGraphile when needed (npm ci)
// and starts it on the database at url. It returns its GraphQL endpoint and
// a stop function, or errSkip with the reason it cannot run.
func startPostGraphile(ctx context.Context, url string) (string, func(), error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", nil, fmt.Errorf("%w: node not found", errSkip)
	}
	bin := filepath.Join(postgraphileDir, "node_modules", ".bin", "postgraphile")
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = postgraphileDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("%w: npm ci in %s: %v: %s", errSkip, postgraphileDir, err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", bin, "-c", url, "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--schema", "public", "--disable-query-log", "--disable-graphiql")
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start PostGraphile: %w", err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/graphql", port)
	body := gql(pgListQuery, nil)
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := post(ctx, endpoint, "", body)
		if err == nil {
			return endpoint, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("PostGraphile did not answer: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var errSkip = errors.New("skipped")

// comparePostGraphile runs the read path against PostGraphile on e's
// PostgreSQL database.
func (e *env) comparePostGraphile(ctx context.Context, o options) ([]row, error) {
	name := "postgres: tenants(first:50) 32 clients, req/s (vs PostGraphile 4, same query)"
	endpoint, stop, err := startPostGraphile(ctx, e.srv.DB.URL())
	if errors.Is(err, errSkip) {
		return []row{{name: name, note: err.Error()}}, nil
	}
	if err != nil {
		return nil, err
	}
	defer stop()
	body, pbody := gql(listQuery, nil), gql(pgListQuery, nil)
	ours, base, err := pair(ctx, o,
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.srv.URL+"/query", e.operator, body) })
		},
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, endpoint, "", pbody) })
		})
	if err != nil {
		return nil, fmt.Errorf("PostGraphile: %w", err)
	}
	return []row{
		{name: name, ours: fmt.Sprintf("%.0f", ours.rps), base: fmt.Sprintf("%.0f", base.rps), ratio: ours.rps / base.rps},
		{name: "postgres: same vs PostGraphile, p50 latency (lower is better)", ours: ms(ours.p50), base: ms(base.p50), ratio: float64(ours.p50) / float64(base.p50)},
	}, nil
}
