// Package app is the dezky command: it parses subcommands and flags and
// wires the packages together. cmd/dezky only calls Run.
//
//	dezky serve    run the API server
//	dezky migrate  apply PostgreSQL migrations
//	dezky token    print a development token for a demo user
//	dezky audit    export, verify or archive the audit trail
//	dezky plugins  pin plugin binaries, check and scaffold providers
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/dezky/platform/internal/db"
)

// Command is the dezky command line. The zero value is the production
// command; the demo binary sets DemoUpstreams.
type Command struct {
	// DemoUpstreams starts simulated upstreams for `serve
	// --demo-upstreams`; nil in the production binary, which then refuses
	// --demo-upstreams true and treats auto as false.
	DemoUpstreams UpstreamStarter
}

// UpstreamStarter starts upstreams for the provider plugins found (name →
// path) and returns their bindings and a function that stops them.
// baseURL is the server's own URL (for upstreams that call back, such as
// mail webhooks); dataDir is the server's data directory.
type UpstreamStarter func(ctx context.Context, found map[string]string, dataDir, baseURL string, log *slog.Logger) (ProvidersConfig, func(), error)

// Run executes the production command with args (without the program
// name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return Command{}.Run(ctx, args, stdout, stderr)
}

// Run executes the command line args (without the program name).
func (c Command) Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("missing command")
	}
	err := c.run(ctx, args, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the flags, as asked
	}
	return err
}

func (c Command) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch args[0] {
	case "serve":
		return c.runServe(ctx, args[1:], stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "witness":
		return runWitness(ctx, args[1:], stdout, stderr)
	case "plugins":
		return runPlugins(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: dezky <command> [flags]

commands:
  serve     run the GraphQL API server (embedded SQLite + demo data by default)
  migrate   apply the versioned PostgreSQL migrations
  token     print a development OIDC token for a demo user (embedded issuer only)
  audit     export, verify (offline) or archive the audit trail
  witness   run a C2SP tlog-witness that cosigns audit checkpoints of trusted logs
  plugins   pin plugin binaries, run the conformance kit, scaffold a provider

Run 'dezky <command> -h' for the flags of a command.
`)
}

// common flags shared by the commands that open the database.
type common struct {
	dataDir     string
	databaseURL string
	addr        string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", env("DEZKY_DATA_DIR", "data"), "directory for the embedded database and generated keys (env DEZKY_DATA_DIR)")
	fs.StringVar(&c.databaseURL, "database-url", env("DEZKY_DATABASE_URL", ""), "PostgreSQL URL (postgres://…); empty means embedded SQLite in the data dir (env DEZKY_DATABASE_URL)")
	fs.StringVar(&c.addr, "addr", env("DEZKY_ADDR", "127.0.0.1:8080"), "listen address (env DEZKY_ADDR)")
}

// open opens the database the flags name and refuses one whose schema is
// not this binary's (an unmigrated or newer PostgreSQL database), with the
// one-line reason of db.SchemaError.
func (c *common) open(ctx context.Context) (*db.DB, error) {
	d, err := db.Open(ctx, c.dbURL())
	if err != nil {
		return nil, err
	}
	if err := d.CheckSchema(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// dbURL returns the database URL to open.
func (c *common) dbURL() string {
	if c.databaseURL != "" {
		return c.databaseURL
	}
	return db.SQLitePath(c.dataDir)
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envOverride sets flag name of fs from the environment variable key when
// the command line did not set it, with the flag's own parsing and an
// error naming the variable (for flags whose type env cannot default).
func envOverride(fs *flag.FlagSet, name, key string) error {
	v, ok := os.LookupEnv(key)
	if !ok {
		return nil
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if set {
		return nil
	}
	if err := fs.Set(name, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
