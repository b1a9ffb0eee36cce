package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dezky/platform/authn"
	"github.com/dezky/platform/authn/devissuer"
	"github.com/dezky/platform/db"
	"github.com/dezky/platform/demo"
	"github.com/dezky/platform/flags"
	"github.com/dezky/platform/graph"
	"github.com/dezky/platform/server"
	"github.com/dezky/platform/tenancy"
)

// Audiences of the two portals' OIDC clients.
const (
	DefaultPortalAudience   = "dezky-portal"
	DefaultOperatorAudience = "dezky-operator"
)

// ServeConfig configures a server.
type ServeConfig struct {
	Addr        string
	DataDir     string
	DatabaseURL string // "" → embedded SQLite in DataDir
	// Issuers and Audiences configure token validation. With no issuers the
	// embedded development issuer is used.
	Issuers          []string
	Audiences        []string
	OperatorAudience string
	// Demo seeds the demo data once.
	Demo bool
	// Migrate applies PostgreSQL migrations at start.
	Migrate        bool
	Environment    string
	AllowedOrigins []string
	Log            *slog.Logger
}

// Server is a running server.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:8080.
	URL string
	// DevIssuer is the embedded issuer, nil when external issuers are used.
	DevIssuer *devissuer.Issuer
	DB        *db.DB
	http      *http.Server
	done      chan error
}

// Start opens the database, seeds, and starts serving in the background.
func Start(ctx context.Context, cfg ServeConfig) (*Server, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.OperatorAudience == "" {
		cfg.OperatorAudience = DefaultOperatorAudience
	}
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = []string{DefaultPortalAudience, cfg.OperatorAudience}
	}
	if cfg.Environment == "" {
		cfg.Environment = "development"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	fail := func(err error) (*Server, error) { ln.Close(); return nil, err }

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = db.SQLitePath(cfg.DataDir)
	}
	d, err := db.Open(ctx, dbURL)
	if err != nil {
		return fail(err)
	}
	if d.IsPostgres() && cfg.Migrate {
		if _, err := d.Migrate(ctx, log); err != nil {
			d.Close()
			return fail(err)
		}
	}
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, d.Client, cfg.Environment)
		if err != nil {
			d.Close()
			return fail(err)
		}
		if seeded {
			log.Info("demo data seeded", "tenants", "acme, globex", "partner", "northwind")
		}
	}

	s := &Server{URL: base, DB: d, done: make(chan error, 1)}
	mount := map[string]http.Handler{}
	issuers := cfg.Issuers
	if len(issuers) == 0 {
		iss, err := devissuer.LoadOrCreate(filepath.Join(cfg.DataDir, "dev-oidc", "key.pem"), base+DevIssuerPath)
		if err != nil {
			d.Close()
			return fail(fmt.Errorf("development issuer: %w", err))
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "dev-oidc", "issuer"), []byte(iss.URL()+"\n"), 0o600); err != nil {
			d.Close()
			return fail(fmt.Errorf("development issuer: %w", err))
		}
		s.DevIssuer = iss
		issuers = []string{iss.URL()}
		mount[DevIssuerPath+"/"] = http.StripPrefix(DevIssuerPath, iss.Handler())
		log.Warn("using the embedded development OIDC issuer; mint tokens with 'dezky token'", "issuer", iss.URL())
	}
	verifier, err := authn.NewVerifier(authn.Config{Issuers: issuers, Audiences: cfg.Audiences})
	if err != nil {
		d.Close()
		return fail(err)
	}
	client := d.Client
	schema := graph.NewSchema(graph.Services{
		Client:  client,
		Tenancy: tenancy.New(client),
		Flags:   flags.New(client, cfg.Environment),
	})
	origins := cfg.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{ln.Addr().String(), "localhost:*", "127.0.0.1:*"}
	}
	h := server.Handler(server.Config{
		Schema:         schema,
		Client:         client,
		Auth:           &server.Authenticator{Verifier: verifier, Client: client, OperatorAudience: cfg.OperatorAudience},
		Log:            log,
		Introspection:  true,
		AllowedOrigins: origins,
		Ready:          func(ctx context.Context) error { return d.SQL.PingContext(ctx) },
		Mount:          mount,
	})
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// DevIssuerPath is where the embedded issuer is served.
const DevIssuerPath = "/dev/oidc"

// Close stops serving (letting in-flight requests finish for up to 10 s) and
// closes the database.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if serr := <-s.done; err == nil {
		err = serr
	}
	if derr := s.DB.Close(); err == nil {
		err = derr
	}
	return err
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	issuers := fs.String("oidc-issuers", env("DEZKY_OIDC_ISSUERS", ""), "comma-separated OIDC issuer URLs; empty runs the embedded development issuer (env DEZKY_OIDC_ISSUERS)")
	audiences := fs.String("oidc-audiences", env("DEZKY_OIDC_AUDIENCES", DefaultPortalAudience+","+DefaultOperatorAudience), "comma-separated accepted token audiences (env DEZKY_OIDC_AUDIENCES)")
	opAud := fs.String("operator-audience", env("DEZKY_OPERATOR_AUDIENCE", DefaultOperatorAudience), "audience that (with platformAdmin) makes an operator")
	demoFlag := fs.String("demo", env("DEZKY_DEMO", "auto"), "seed demo data once: true, false, or auto (only for the embedded database)")
	migrate := fs.Bool("migrate", env("DEZKY_MIGRATE", "") == "true", "apply PostgreSQL migrations at start (env DEZKY_MIGRATE=true)")
	environment := fs.String("environment", env("DEZKY_ENVIRONMENT", "development"), "environment name used by feature-flag scopes")
	origins := fs.String("allowed-origins", env("DEZKY_ALLOWED_ORIGINS", ""), "comma-separated WebSocket origin patterns (host[:port] globs)")
	logLevel := fs.String("log-level", env("DEZKY_LOG_LEVEL", "info"), "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	seed := *demoFlag == "true" || (*demoFlag == "auto" && c.databaseURL == "")
	if *demoFlag != "true" && *demoFlag != "false" && *demoFlag != "auto" {
		return fmt.Errorf("--demo: want true, false or auto")
	}
	start := time.Now()
	s, err := Start(ctx, ServeConfig{
		Addr: c.addr, DataDir: c.dataDir, DatabaseURL: c.databaseURL,
		Issuers: splitList(*issuers), Audiences: splitList(*audiences), OperatorAudience: *opAud,
		Demo: seed, Migrate: *migrate, Environment: *environment,
		AllowedOrigins: splitList(*origins), Log: log,
	})
	if err != nil {
		return err
	}
	engine := "sqlite"
	if s.DB.IsPostgres() {
		engine = "postgres"
	}
	log.Info("dezky ready", "url", s.URL, "graphql", s.URL+"/query", "playground", s.URL+"/", "database", engine,
		"startup", time.Since(start).Round(time.Millisecond))
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return s.Close()
	case err := <-s.done:
		s.DB.Close()
		return err
	}
}
