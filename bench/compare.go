package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/flags"
)

func numCPU() int { return runtime.NumCPU() }

// load is the outcome of one load run.
type load struct {
	rps      float64
	p50, p99 time.Duration
}

// runLoad calls do from clients goroutines for d and measures throughput
// and latency. Every call must succeed.
func runLoad(ctx context.Context, clients int, d time.Duration, do func(ctx context.Context, client, n int) error) (load, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		first error
		wg    sync.WaitGroup
		stop  atomic.Bool
	)
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for n := 0; !stop.Load(); n++ {
				t := time.Now()
				if err := do(ctx, c, n); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					stop.Store(true)
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start)
	if first != nil {
		return load{}, first
	}
	if len(lat) == 0 {
		return load{}, fmt.Errorf("no request completed")
	}
	slices.Sort(lat)
	return load{rps: float64(len(lat)) / el.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}, nil
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// post sends body to url and checks for a 200 without GraphQL errors.
func post(ctx context.Context, url, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	if err != nil {
		return err
	}
	if rsp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
		return fmt.Errorf("POST %s: HTTP %d: %.300s", url, rsp.StatusCode, b)
	}
	return nil
}

func gql(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	return s[len(s)/2]
}

func medianDur(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// pair alternates ours and the baseline for o.rounds rounds.
func pair(ctx context.Context, o options, ours, base func(ctx context.Context, round int) (load, error)) (o50, b50 load, err error) {
	var or, br []load
	for r := range o.rounds {
		l, err := ours(ctx, r)
		if err != nil {
			return load{}, load{}, fmt.Errorf("dezky: %w", err)
		}
		or = append(or, l)
		if l, err = base(ctx, r); err != nil {
			return load{}, load{}, fmt.Errorf("baseline: %w", err)
		}
		br = append(br, l)
	}
	med := func(ls []load) load {
		var rps []float64
		var p50, p99 []time.Duration
		for _, l := range ls {
			rps, p50, p99 = append(rps, l.rps), append(p50, l.p50), append(p99, l.p99)
		}
		return load{rps: median(rps), p50: medianDur(p50), p99: medianDur(p99)}
	}
	return med(or), med(br), nil
}

// compare runs the database comparisons on e.
func (e *env) compare(ctx context.Context, o options) ([]row, error) {
	var rows []row
	// (a) the read path, 32 clients.
	fmt.Fprintf(osStderr, "bench: %s: tenants list\n", e.dialect)
	body := gql(listQuery, nil)
	ours, base, err := pair(ctx, o,
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.srv.URL+"/query", e.operator, body) })
		},
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.bareURL, "", body) })
		})
	if err != nil {
		return nil, fmt.Errorf("tenants list: %w", err)
	}
	rows = append(rows,
		row{name: e.dialect + ": tenants(first:50) 32 clients, req/s (vs bare Go + SQL)", ours: fmt.Sprintf("%.0f", ours.rps), base: fmt.Sprintf("%.0f", base.rps), ratio: ours.rps / base.rps},
		row{name: e.dialect + ": same, p50 latency (lower is better)", ours: ms(ours.p50), base: ms(base.p50), ratio: float64(ours.p50) / float64(base.p50)},
		row{name: e.dialect + ": same, p99 latency (lower is better)", ours: ms(ours.p99), base: ms(base.p99), ratio: float64(ours.p99) / float64(base.p99)},
	)

	fmt.Fprintf(osStderr, "bench: %s: statements and CPU per list request\n", e.dialect)
	pr, err := e.perRequest(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("per request: %w", err)
	}
	rows = append(rows, pr...)

	if e.postgres && o.pgraph {
		fmt.Fprintf(osStderr, "bench: %s: tenants list vs PostGraphile\n", e.dialect)
		pr, err := e.comparePostGraphile(ctx, o)
		if err != nil {
			return nil, err
		}
		rows = append(rows, pr...)
	}

	// The same list with each tenant's provisioning: Dezky against itself
	// without the field (the bare server has no provisioning).
	fmt.Fprintf(osStderr, "bench: %s: tenants list with provisioning\n", e.dialect)
	pbody := gql(listWithProvisioning, nil)
	withProv, without, err := pair(ctx, o,
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.srv.URL+"/query", e.operator, pbody) })
		},
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 32, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.srv.URL+"/query", e.operator, body) })
		})
	if err != nil {
		return nil, fmt.Errorf("tenants list with provisioning: %w", err)
	}
	rows = append(rows, row{name: e.dialect + ": same + provisioning{status}, req/s (vs Dezky without the field)",
		ours: fmt.Sprintf("%.0f", withProv.rps), base: fmt.Sprintf("%.0f", without.rps), ratio: withProv.rps / without.rps})

	// (b) createTenant, 16 clients, vs the same insert in one Go transaction.
	fmt.Fprintf(osStderr, "bench: %s: createTenant\n", e.dialect)
	const create = `mutation($in: CreateTenantInput!) { createTenant(input: $in) { slug } }`
	insert := `INSERT INTO tenants (created_at, updated_at, slug, name, plan, seats, status, domains) VALUES ($1, $1, $2, $3, 'STARTER', 0, 'ACTIVE', '[]')`
	if !e.postgres {
		insert = `INSERT INTO tenants (created_at, updated_at, slug, name, plan, seats, status, domains) VALUES (?1, ?1, ?2, ?3, 'STARTER', 0, 'ACTIVE', '[]')`
	}
	ours, base, err = pair(ctx, o,
		func(ctx context.Context, r int) (load, error) {
			return runLoad(ctx, 16, o.dur, func(ctx context.Context, c, n int) error {
				slug := fmt.Sprintf("w-%d-%d-%d", r, c, n)
				return post(ctx, e.srv.URL+"/query", e.operator, gql(create, map[string]any{"in": map[string]any{"slug": slug, "name": "Written " + slug}}))
			})
		},
		func(ctx context.Context, r int) (load, error) {
			return runLoad(ctx, 16, o.dur, func(ctx context.Context, c, n int) error {
				tx, err := e.pool.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				slug := fmt.Sprintf("b-%d-%d-%d", r, c, n)
				if _, err := tx.ExecContext(ctx, insert, time.Now().UTC(), slug, "Written "+slug); err != nil {
					tx.Rollback()
					return err
				}
				return tx.Commit()
			})
		})
	if err != nil {
		return nil, fmt.Errorf("createTenant: %w", err)
	}
	rows = append(rows, row{name: e.dialect + ": createTenant 16 clients, mutations/s (vs INSERT in a Go transaction)",
		ours: fmt.Sprintf("%.0f", ours.rps), base: fmt.Sprintf("%.0f", base.rps), ratio: ours.rps / base.rps})
	drainStart := time.Now()
	if err := e.waitProvisioned(ctx); err != nil {
		return nil, err
	}
	rows = append(rows, row{name: e.dialect + ": provisioning backlog after the createTenant runs", note: fmt.Sprintf("drained %.1f s after the last run", time.Since(drainStart).Seconds())})
	// What one createTenant and its provisioning send: the statements of
	// the mutation, then those of the background work it queued.
	st := e.srv.DB.Statements()
	for i := range 100 {
		slug := fmt.Sprintf("s-%d", i)
		if err := post(ctx, e.srv.URL+"/query", e.operator, gql(create, map[string]any{"in": map[string]any{"slug": slug, "name": "Counted " + slug}})); err != nil {
			return nil, fmt.Errorf("createTenant: %w", err)
		}
	}
	mutation := e.srv.DB.Statements() - st
	if err := e.waitProvisioned(ctx); err != nil {
		return nil, err
	}
	background := e.srv.DB.Statements() - st - mutation
	rows = append(rows, row{name: e.dialect + ": statements per createTenant, through ent", note: fmt.Sprintf("%.1f in the request, %.1f in its background work (river's own not counted)", float64(mutation)/100, float64(background)/100)})

	fmt.Fprintf(osStderr, "bench: %s: live audit fan-out to %d subscribers\n", e.dialect, o.subscribers)
	fr, err := e.fanout(ctx, o, o.subscribers)
	if err != nil {
		return nil, fmt.Errorf("fan-out: %w", err)
	}
	rows = append(rows, fr...)

	// (d) evaluateFlags, one client, latency.
	fmt.Fprintf(osStderr, "bench: %s: evaluateFlags\n", e.dialect)
	const evaluate = `query { evaluateFlags(tenantSlug: "bench-000001") { key enabled reason } }`
	fbody := gql(evaluate, nil)
	ours, base, err = pair(ctx, o,
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 1, o.dur, func(ctx context.Context, _, _ int) error { return post(ctx, e.srv.URL+"/query", e.operator, fbody) })
		},
		func(ctx context.Context, _ int) (load, error) {
			return runLoad(ctx, 1, o.dur, func(ctx context.Context, _, _ int) error { return e.bareFlags(ctx, "bench-000001") })
		})
	if err != nil {
		return nil, fmt.Errorf("evaluateFlags: %w", err)
	}
	rows = append(rows, row{name: fmt.Sprintf("%s: evaluateFlags with %d flags, p50 latency (vs SQL + flags.Evaluate; lower is better)", e.dialect, o.flags),
		ours: ms(ours.p50), base: ms(base.p50), ratio: float64(ours.p50) / float64(base.p50)})
	return rows, nil
}

// bareFlags is evaluateFlags in plain SQL: the tenant and its partner, the
// flags' evaluated columns, flags.Evaluate, the same JSON.
func (e *env) bareFlags(ctx context.Context, slug string) error {
	q1 := `SELECT t.id, t.plan, coalesce(p.slug, '') FROM tenants t LEFT JOIN partners p ON p.id = t.partner_id WHERE t.slug = $1`
	if !e.postgres {
		q1 = `SELECT t.id, t.plan, coalesce(p.slug, '') FROM tenants t LEFT JOIN partners p ON p.id = t.partner_id WHERE t.slug = ?1`
	}
	t := flags.Target{TenantSlug: slug, Environment: "production"}
	if err := e.pool.QueryRowContext(ctx, q1, slug).Scan(&t.TenantID, &t.Plan, &t.PartnerSlug); err != nil {
		return err
	}
	rows, err := e.pool.QueryContext(ctx, `SELECT key, state, pct, scope FROM flags`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type ev struct {
		Key     string       `json:"key"`
		Enabled bool         `json:"enabled"`
		Reason  flags.Reason `json:"reason"`
	}
	var out []ev
	for rows.Next() {
		var r flags.Rule
		var scope []byte
		if err := rows.Scan(&r.Key, &r.State, &r.Pct, &scope); err != nil {
			return err
		}
		var s schematype.FlagScope
		if err := json.Unmarshal(scope, &s); err != nil {
			return err
		}
		r.Scope = s
		on, why := flags.Explain(r, t)
		out = append(out, ev{Key: r.Key, Enabled: on, Reason: why})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	_, err = json.Marshal(out)
	return err
}

// memSource is a chain held in memory, so verification is measured
// without the database read.
type memSource []audit.Entry

func (m memSource) Checkpoints(context.Context) ([]audit.Checkpoint, error) { return nil, nil }

func (m memSource) Events(context.Context) iter.Seq2[audit.Entry, error] {
	return func(yield func(audit.Entry, error) bool) {
		for _, e := range m {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// compareVerify measures audit.Verify over an in-memory chain of o.events
// events with metadata against sha256 over the same canonical bytes.
func compareVerify(ctx context.Context, o options) ([]row, error) {
	chain := make(memSource, o.events)
	canon := make([][]byte, o.events)
	prev := ""
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range chain {
		tid := int64(i%2000 + 1)
		e := audit.Entry{Seq: int64(i + 1), PrevHash: prev, At: at.Add(time.Duration(i) * time.Millisecond), Source: "dezky",
			ActorType: "user", ActorID: "42", ActorEmail: "ops@example.com", ActorIP: "192.0.2.1", Action: "tenant.update",
			Outcome: "success", ResourceType: "tenant", ResourceID: fmt.Sprint(tid), ResourceName: "Bench Tenant",
			TenantID: &tid, TenantSlug: fmt.Sprintf("bench-%06d", tid),
			Metadata: json.RawMessage(fmt.Sprintf(`{"changes":{"seats":{"from":%d,"to":%d},"name":{"from":"a","to":"b"}},"requestId":"r-%d"}`, i, i+1, i))}
		b, err := audit.Canonical(e)
		if err != nil {
			return nil, err
		}
		h, err := audit.HashEntry(e)
		if err != nil {
			return nil, err
		}
		e.Hash, prev, canon[i] = h, h, b
		chain[i] = e
	}
	var ours, base []float64
	for range o.rounds {
		t := time.Now()
		rep, err := audit.Verify(ctx, chain, []ed25519.PublicKey{})
		if err != nil {
			return nil, err
		}
		if !rep.OK || rep.EventsVerified != o.events {
			return nil, fmt.Errorf("generated chain does not verify: %+v", rep)
		}
		ours = append(ours, float64(o.events)/time.Since(t).Seconds())
		t = time.Now()
		var x byte
		for _, b := range canon {
			s := sha256.Sum256(b)
			x ^= s[0]
		}
		_ = x
		base = append(base, float64(o.events)/time.Since(t).Seconds())
	}
	om, bm := median(ours), median(base)
	return []row{{name: fmt.Sprintf("chain verification (audit.Verify, in memory, %d events), events/s (vs sha256 over the same bytes)", o.events),
		ours: fmt.Sprintf("%.0fk", om/1000), base: fmt.Sprintf("%.0fk", bm/1000), ratio: om / bm}}, nil
}

var osStderr = os.Stderr
