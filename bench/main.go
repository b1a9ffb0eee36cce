// Command bench compares Dezky with bare baselines side by side on generated
// data: the tenant list read path against a bare net/http + database/sql
// server of the same query (bareserver.go), createTenant against the same
// insert in a plain Go transaction, audit chain verification against bare
// sha256 over the same bytes, evaluateFlags against plain SQL plus
// flags.Evaluate, and a provider call through a plugin process against a
// bare gRPC call over a unix socket (run from the module root: the plugin
// side is the plugins' own benchmark, run with the go tool). Each comparison alternates Dezky and its baseline for
// -rounds rounds and reports medians, on the embedded SQLite and on a
// throwaway PostgreSQL cluster. It prints one table with ratios.
//
//	go run ./bench -size 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dezky/platform/internal/testing/pgcluster"
)

type options struct {
	size        int
	rounds      int
	dur         time.Duration
	flags       int
	events      int
	subscribers int
	pgraph      bool
	dialects    []string
}

func main() {
	var o options
	var dialects string
	flag.IntVar(&o.size, "size", 2000, "tenants to generate (in 20 partners)")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds per comparison (medians are reported)")
	flag.DurationVar(&o.dur, "dur", 2*time.Second, "load duration of each side in each round")
	flag.IntVar(&o.flags, "flags", 1000, "feature flags to generate for evaluateFlags")
	flag.IntVar(&o.events, "events", 200000, "audit events in the verified chain")
	flag.IntVar(&o.subscribers, "subscribers", 1000, "live audit subscribers in the fan-out")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (server and load) to this file")
	flag.BoolVar(&o.pgraph, "postgraphile", false, "also compare with PostGraphile (needs node)")
	flag.StringVar(&dialects, "db", "sqlite,postgres", "databases to run on (sqlite, postgres)")
	flag.Parse()
	o.dialects = strings.Split(dialects, ",")
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), o, os.Stdout); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var rows []row
	for _, d := range o.dialects {
		url := ""
		switch d {
		case "sqlite":
		case "postgres":
			c, err := pgcluster.Start(ctx)
			if err != nil {
				return fmt.Errorf("start PostgreSQL: %w", err)
			}
			defer c.Stop()
			url = c.URL("postgres")
		default:
			return fmt.Errorf("unknown database %q", d)
		}
		fmt.Fprintf(os.Stderr, "bench: %s: starting server and generating %d tenants\n", d, o.size)
		env, err := setup(ctx, d, url, o, log)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		rs, err := env.compare(ctx, o)
		env.close()
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		rows = append(rows, rs...)
	}
	fmt.Fprintf(os.Stderr, "bench: chain verification of %d events\n", o.events)
	vr, err := compareVerify(ctx, o)
	if err != nil {
		return err
	}
	rows = append(rows, vr...)
	fmt.Fprintln(os.Stderr, "bench: plugin round trip")
	pr, err := comparePlugin(ctx)
	if err != nil {
		return err
	}
	rows = append(rows, pr)
	if !o.pgraph {
		rows = append(rows, row{name: "tenants list vs PostGraphile", note: "skipped (run with -postgraphile; needs node)"})
	}
	fmt.Fprintf(out, "\nDezky vs baselines: size %d tenants, %d rounds alternating, %s per side per round, medians; %s\n\n",
		o.size, o.rounds, o.dur, machine())
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "| figure\t| Dezky\t| baseline\t| ratio\t|")
	fmt.Fprintln(w, "|---\t|---\t|---\t|---\t|")
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(w, "| %s\t| \t| %s\t| \t|\n", r.name, r.note)
			continue
		}
		fmt.Fprintf(w, "| %s\t| %s\t| %s\t| %.2f×\t|\n", r.name, r.ours, r.base, r.ratio)
	}
	return w.Flush()
}

// row is one line of the table: ratio is ours/baseline for throughput and
// ours/baseline for latency (lower is better there; the name says which).
type row struct {
	name, ours, base, note string
	ratio                  float64
}

// machine describes where the figures come from: CPUs and load average.
func machine() string {
	load, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(load))
	la := "unknown"
	if len(f) >= 3 {
		la = strings.Join(f[:3], " ")
	}
	return fmt.Sprintf("%d CPUs, load average %s at the end", numCPU(), la)
}
