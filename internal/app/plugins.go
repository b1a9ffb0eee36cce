package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"

	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
)

// pluginReattach parses --plugin-reattach; empty means none.
func pluginReattach(value string, log *slog.Logger) (map[string]sdk.Reattach, error) {
	if value == "" {
		return nil, nil
	}
	r, err := sdk.ParseReattach(value)
	if err != nil {
		return nil, err
	}
	log.Warn("attaching to plugins in debug mode instead of launching them", "plugins", slices.Sorted(maps.Keys(r)))
	return r, nil
}

// runPlugins dispatches `dezky plugins <subcommand>`.
func runPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		pluginsUsage(stderr)
		return errors.New("plugins: missing subcommand")
	}
	switch args[0] {
	case "lock":
		return runPluginsLock(args[1:], stdout, stderr)
	case "conformance":
		return runPluginsConformance(ctx, args[1:], stdout, stderr)
	case "new":
		return runPluginsNew(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		pluginsUsage(stdout)
		return nil
	default:
		pluginsUsage(stderr)
		return fmt.Errorf("plugins: unknown subcommand %q", args[0])
	}
}

func pluginsUsage(w io.Writer) {
	fmt.Fprint(w, `usage: dezky plugins <subcommand> [flags]

subcommands:
  lock          pin the SHA-256 of every plugin binary in <plugins-dir>/plugins.lock
  conformance   run the conformance kit against a plugin binary and print a report
  new           scaffold a provider plugin with its conformance test

Run 'dezky plugins <subcommand> -h' for its flags.
`)
}

// runPluginsLock writes plugins.lock for the plugins directory.
func runPluginsLock(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins lock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("plugins-dir", env("DEZKY_PLUGINS_DIR", ""), "directory of the dezky-provider-* binaries; empty: as for serve (env DEZKY_PLUGINS_DIR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plugins lock: unexpected arguments %v", fs.Args())
	}
	if *dir == "" {
		*dir = DefaultPluginsDir()
	}
	pins, err := host.WriteLock(*dir)
	if err != nil {
		return fmt.Errorf("plugins lock: %w", err)
	}
	names := make([]string, 0, len(pins))
	for n := range pins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "%s  %s%s\n", pins[n], host.BinaryPrefix, n)
	}
	fmt.Fprintf(stderr, "pinned %d plugin binaries in %s\n", len(pins), host.LockFileName)
	return nil
}
