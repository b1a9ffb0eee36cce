package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dezky/platform/plugins/conformance"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// keyValues is a repeatable key=value flag.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(len(kv), " values") }

func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	kv[k] = v
	return nil
}

// runPluginsConformance runs the conformance kit against one plugin
// binary and prints the per-capability report. It fails when a check
// fails.
func runPluginsConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dezky plugins conformance [flags] <plugin binary>")
		fs.PrintDefaults()
	}
	caps := fs.String("capability", "", "comma-separated capabilities to check; empty: every capability the plugin serves")
	settings, secrets := keyValues{}, keyValues{}
	fs.Var(settings, "setting", "a plugin setting key=value (repeatable)")
	fs.Var(secrets, "secret", "a plugin secret key=value, or key=env:NAME to read it from the environment (repeatable)")
	stateless := fs.Bool("stateless", false, "skip the checks that need the upstream to keep state (for example a stateless mock)")
	dnsZone := fs.String("dns-zone", "", "hosted zone for the DNS update checks; empty skips them")
	par := fs.Int("parallel", 8, "calls made at once by the concurrency checks")
	prefix := fs.String("prefix", "", "prefix of every object the kit creates; empty: random")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound for the whole run")
	verbose := fs.Bool("v", false, "print the host's and the plugin's log to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("plugins conformance: want exactly one plugin binary")
	}
	bin, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("plugins conformance: %w", err)
	}
	for k, v := range secrets {
		if name, ok := strings.CutPrefix(v, "env:"); ok {
			val, set := os.LookupEnv(name)
			if !set {
				return fmt.Errorf("plugins conformance: secret %q: environment variable %s is not set", k, name)
			}
			secrets[k] = val
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	desc, err := conformance.Describe(ctx, bin)
	if err != nil {
		return fmt.Errorf("plugins conformance: %w", err)
	}
	bind := desc.Capabilities
	if *caps != "" {
		bind = nil
		for _, c := range splitList(*caps) {
			bind = append(bind, sdk.Capability(c))
		}
	}
	name := desc.Name
	if name == "" {
		name = strings.TrimPrefix(filepath.Base(bin), host.BinaryPrefix)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// No Dir: the binary is checked as it is, without a plugins.lock.
	cfg := host.Config{Binaries: map[string]string{name: bin}, Capabilities: map[sdk.Capability]host.Binding{}, Logger: logger}
	for _, c := range bind {
		cfg.Capabilities[c] = host.Binding{Plugin: name, Settings: settings, Secrets: host.Secrets(secrets)}
	}
	h, err := host.New(cfg)
	if err != nil {
		return fmt.Errorf("plugins conformance: %w", err)
	}
	defer h.Close()
	if err := h.Start(ctx); err != nil {
		return fmt.Errorf("plugins conformance: start: %w", err)
	}
	var opts []conformance.Option
	if *stateless {
		opts = append(opts, conformance.Stateless())
	}
	if *dnsZone != "" {
		opts = append(opts, conformance.WithDNSZone(*dnsZone))
	}
	if *prefix != "" {
		opts = append(opts, conformance.WithPrefix(*prefix))
	}
	opts = append(opts, conformance.WithParallel(*par))
	rep := conformance.Check(ctx, h, opts...)
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if rep.Failed() {
		return errors.New("plugins conformance: some checks failed")
	}
	return nil
}
