package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/dezky/platform/ent"
	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/ent/tenant"
	"github.com/dezky/platform/internal/app"
	"github.com/dezky/platform/internal/viewer"
)

// env is one database with the real server and the bare baseline on it.
type env struct {
	dialect  string
	dataDir  string
	srv      *app.Server
	bare     *http.Server
	bareURL  string
	pool     *sql.DB
	operator string // operator token
	postgres bool
}

// setup starts the real server (embedded development issuer, demo data) on
// the database at url ("" = embedded SQLite), generates the data, and
// starts the bare server on its own pool of the same database.
func setup(ctx context.Context, dialect, url string, o options, log *slog.Logger) (*env, error) {
	dir, err := os.MkdirTemp("", "dezky-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dialect: dialect, dataDir: dir, postgres: url != ""}
	s, err := app.Start(ctx, app.ServeConfig{Addr: "127.0.0.1:0", DataDir: dir, DatabaseURL: url, Demo: true,
		Migrate: url != "", Log: log})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start server: %w", err)
	}
	e.srv = s
	if err := e.waitProvisioned(ctx); err != nil {
		e.close()
		return nil, err
	}
	if err := generate(ctx, s.DB.Client, o); err != nil {
		e.close()
		return nil, fmt.Errorf("generate data: %w", err)
	}
	if e.operator, err = app.MintFor(ctx, s.DB.Client, s.DevIssuer, "operator", 2*time.Hour); err != nil {
		e.close()
		return nil, fmt.Errorf("mint operator token: %w", err)
	}
	if e.pool, err = s.DB.OpenPool(ctx); err != nil {
		e.close()
		return nil, err
	}
	if e.postgres {
		// The same pool size as the server's, so the comparison is of the
		// request path, not of the pool's size.
		// Idle connections as many as open ones: the bare server's best
		// setting, whatever the server's is.
		n := s.DB.SQL.Stats().MaxOpenConnections
		e.pool.SetMaxOpenConns(n)
		e.pool.SetMaxIdleConns(n)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.close()
		return nil, err
	}
	e.bareURL = "http://" + ln.Addr().String()
	e.bare = &http.Server{Handler: bareHandler(e.pool, e.postgres)}
	go e.bare.Serve(ln)
	return e, nil
}

func (e *env) waitProvisioned(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		n, err := e.srv.Provisioning.Queued(ctx)
		if err != nil {
			return fmt.Errorf("provisioning queue: %w", err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d provisioning jobs still queued", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) close() {
	if e.bare != nil {
		e.bare.Close()
	}
	if e.pool != nil {
		e.pool.Close()
	}
	if e.srv != nil {
		if err := e.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: close server:", err)
		}
	}
	os.RemoveAll(e.dataDir)
}

var plans = []tenant.Plan{tenant.PlanFree, tenant.PlanStarter, tenant.PlanBusiness, tenant.PlanEnterprise}

// generate adds 20 partners, o.size tenants (nine in ten with a partner)
// and o.flags flags of every state, as the system (no audit events: the
// data is the starting point, not a change being measured).
func generate(ctx context.Context, client *ent.Client, o options) error {
	ctx = viewer.SystemContext(ctx)
	var partners []*ent.Partner
	{
		b := make([]*ent.PartnerCreate, 20)
		for i := range b {
			b[i] = client.Partner.Create().SetSlug(fmt.Sprintf("bench-partner-%02d", i)).SetName(fmt.Sprintf("Bench Partner %d", i))
		}
		var err error
		if partners, err = client.Partner.CreateBulk(b...).Save(ctx); err != nil {
			return fmt.Errorf("partners: %w", err)
		}
	}
	for start := 0; start < o.size; start += 500 {
		var b []*ent.TenantCreate
		for i := start; i < min(start+500, o.size); i++ {
			c := client.Tenant.Create().SetSlug(fmt.Sprintf("bench-%06d", i)).SetName(fmt.Sprintf("Bench Tenant %d", i)).
				SetPlan(plans[i%len(plans)]).SetSeats(i % 500)
			if i%10 != 0 {
				c.SetPartnerID(partners[i%len(partners)].ID)
			}
			b = append(b, c)
		}
		if _, err := client.Tenant.CreateBulk(b...).Save(ctx); err != nil {
			return fmt.Errorf("tenants: %w", err)
		}
	}
	states := []flag.State{flag.StateOff, flag.StateOn, flag.StateTargeted, flag.StateRollout}
	for start := 0; start < o.flags; start += 500 {
		var b []*ent.FlagCreate
		for i := start; i < min(start+500, o.flags); i++ {
			st := states[i%len(states)]
			c := client.Flag.Create().SetKey(fmt.Sprintf("bench_flag_%05d", i)).SetState(st).
				SetDescription("A generated flag for the benchmark.")
			switch st {
			case flag.StateTargeted:
				c.SetScope(schematype.FlagScope{Plans: []string{"BUSINESS", "ENTERPRISE"}, PartnerSlugs: []string{"bench-partner-01"}})
			case flag.StateRollout:
				c.SetPct(i % 100).SetScope(schematype.FlagScope{Environments: []string{"production", "development"}})
			}
			// A full history, as long-lived flags have.
			h := make([]schematype.FlagChange, 20)
			for j := range h {
				h[j] = schematype.FlagChange{At: time.Now(), ActorID: "bench", ActorEmail: "bench@example.com", State: string(st), Pct: j, Note: "generated change"}
			}
			c.SetHistory(h)
			b = append(b, c)
		}
		if _, err := client.Flag.CreateBulk(b...).Save(ctx); err != nil {
			return fmt.Errorf("flags: %w", err)
		}
	}
	return nil
}
