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
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/riverqueue/river/rivertype"

	"github.com/dezky/platform/graph"
	"github.com/dezky/platform/internal/audit"
	"github.com/dezky/platform/internal/audit/archive"
	"github.com/dezky/platform/internal/auditstream"
	"github.com/dezky/platform/internal/authn"
	"github.com/dezky/platform/internal/authn/devissuer"
	"github.com/dezky/platform/internal/billing"
	"github.com/dezky/platform/internal/db"
	"github.com/dezky/platform/internal/demo"
	"github.com/dezky/platform/internal/flags"
	"github.com/dezky/platform/internal/health"
	"github.com/dezky/platform/internal/ingest"
	"github.com/dezky/platform/internal/jobs"
	"github.com/dezky/platform/internal/logging"
	"github.com/dezky/platform/internal/maildomains"
	"github.com/dezky/platform/internal/members"
	"github.com/dezky/platform/internal/metrics"
	"github.com/dezky/platform/internal/payouts"
	"github.com/dezky/platform/internal/pricing"
	"github.com/dezky/platform/internal/provisioning"
	"github.com/dezky/platform/internal/ratelimit"
	"github.com/dezky/platform/internal/reports"
	"github.com/dezky/platform/internal/server"
	"github.com/dezky/platform/internal/telemetry"
	"github.com/dezky/platform/internal/telemetry/otlpenv"
	"github.com/dezky/platform/internal/tenancy"
	"github.com/dezky/platform/internal/tenantadmin"
	"github.com/dezky/platform/internal/webhooks"
	"github.com/dezky/platform/plugins/host"
	"github.com/dezky/platform/plugins/sdk"
	"github.com/dezky/platform/web/playground"
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
	// PlaygroundClientID is the public OIDC client (authorization code +
	// PKCE) the playground signs in with against the first of Issuers;
	// empty: the playground offers no sign-in with external issuers.
	// PlaygroundScopes are the scopes it requests (default
	// playground.DefaultScopes).
	PlaygroundClientID string
	PlaygroundScopes   string
	// Demo seeds the demo data once.
	Demo bool
	// Migrate applies PostgreSQL migrations at start.
	Migrate        bool
	Environment    string
	AllowedOrigins []string
	// Guards are the GraphQL endpoint's limits and trust settings.
	Guards server.Guards
	// RateLimits are the query-cost budgets per caller class; nil or
	// empty: cost is reported but not limited.
	RateLimits map[ratelimit.Class]ratelimit.Budget
	// PersistedQueries is the persisted-query manifest; nil: none.
	PersistedQueries *server.PersistedQueries
	Log              *slog.Logger
	// PluginsDir holds the dezky-provider-* binaries (default
	// DefaultPluginsDir()).
	PluginsDir string
	// Providers binds capabilities to plugins. Nil: the file ProvidersFile
	// when set, else providers.json in DataDir when it exists, else (with
	// DemoUpstreams) the demo simulators, else no providers.
	Providers ProvidersConfig
	// MetricsAddr is where the Prometheus metrics are served (GET
	// /metrics), on a listener of its own; empty: not served.
	MetricsAddr   string
	ProvidersFile string
	// PluginReattach attaches to plugins running in debug mode (the JSON
	// WebhooksAllowPrivate allows webhook endpoints on loopback,
	// link-local and private addresses (the demo; tests).
	WebhooksAllowPrivate bool
	// WebhooksKeyFile is the key encrypting webhook signing secrets at
	// rest. Empty: generated in DataDir (replicas must share one).
	WebhooksKeyFile string
	// Webhooks tunes delivery (retry horizon, backoff, poll interval);
	// zero values take the package defaults. Client, Jobs, Sealer, Log
	// and AllowPrivate are set by the server.
	Webhooks webhooks.Config
	// AuditStreams tunes audit stream export (backoff, poll interval);
	// S3 streams use its S3, else ArchiveS3's endpoint and credentials.
	AuditStreams auditstream.Config
	// a plugin prints with DEZKY_PLUGIN_DEBUG set; see sdk.DebugEnv).
	PluginReattach string
	// DemoUpstreams, when set, starts simulated upstreams for the plugins
	// found in PluginsDir and binds them, when no provider configuration
	// is given (the demo binary sets demoupstreams.Start; the production
	// binary has none).
	DemoUpstreams UpstreamStarter
	// HealthInterval is the probe loop period (default 15s).
	HealthInterval time.Duration
	// AuditKeyFile is the ed25519 key signing audit checkpoints (PKCS#8
	// PEM). Empty: generated at first start in DataDir.
	AuditKeyFile string
	// AuditWitnesses are C2SP tlog-witness add-checkpoint URLs each new
	// checkpoint is submitted to; their cosignatures are stored.
	AuditWitnesses []string
	// Archive is where audit events past AuditRetention go (nil: not
	// configured; ArchiveS3 builds one).
	Archive        archive.Store
	ArchiveS3      *archive.S3Config
	AuditRetention time.Duration
	// ArchiveInterval is how often the archiver runs (default 1h).
	ArchiveInterval time.Duration
	// StorageRefreshInterval is how often every tenant's storage usage
	// is read from the storage provider (default
	// tenantadmin.StorageRefreshInterval).
	StorageRefreshInterval time.Duration
	// MailDomainRecheckInterval is how often every mail domain's DNS
	// records are checked again (default DefaultMailDomainRecheckInterval).
	MailDomainRecheckInterval time.Duration
}

// Server is a running server.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:8080.
	URL string
	// DevIssuer is the embedded issuer, nil when external issuers are used.
	DevIssuer *devissuer.Issuer
	DB        *db.DB
	// Plugins is the provider plugin host, nil when none is configured.
	Plugins      *host.Host
	Provisioning *provisioning.Service
	// Pricing is the pricing catalog.
	Pricing *pricing.Service
	// Jobs is the background job engine (river).
	Jobs *jobs.Engine
	// Viewers caches callers' viewers between requests.
	Viewers *server.ViewerCache
	// Admin serves the tenant-admin settings (policy, SSO apps, branding,
	// storage).
	Admin *tenantadmin.Service
	// Billing serves customer billing and the billing webhook.
	Billing *billing.Service
	// Payouts computes and records partner payouts.
	Payouts *payouts.Service
	// Reports computes the platform's and partners' reports.
	Reports *reports.Service
	// Members is the member lifecycle service.
	Members *members.Service
	Health  *health.Checker
	// Audit is the chain service (signing key, checkpoints, verification).
	Audit *audit.Service
	// MetricsURL is the base URL of the metrics listener ("" when
	// ServeConfig.MetricsAddr is empty); the metrics are at /metrics.
	MetricsURL string
	metrics    *metrics.Metrics
	http       *httpServer
	// upstreams reports whether the demo upstreams run.
	upstreams bool
	// seedSsoApp asks the background work to create the demo SSO app
	// (fresh demo data with upstreams).
	seedSsoApp bool
	parts      components
	closeOnce  sync.Once
	closeErr   error
}

// Start opens the database, seeds, and starts serving in the background.
// It starts the server's components in order; when one fails, those
// already started are stopped again.
func Start(ctx context.Context, cfg ServeConfig) (*Server, error) {
	cfg.defaults()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), metrics: metrics.New()}
	s.parts.log = cfg.Log
	s.parts.add("listener", func(context.Context) error {
		if s.http == nil {
			return ln.Close()
		}
		return nil // closed by the HTTP server
	})
	if err := s.start(ctx, &cfg, ln); err != nil {
		_ = s.parts.stop(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// defaults fills in the configuration's defaults.
func (cfg *ServeConfig) defaults() {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
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
	if cfg.ArchiveInterval <= 0 {
		cfg.ArchiveInterval = time.Hour
	}
	if cfg.MailDomainRecheckInterval <= 0 {
		cfg.MailDomainRecheckInterval = DefaultMailDomainRecheckInterval
	}
}

// start starts the components in order, registering each in s.parts.
func (s *Server) start(ctx context.Context, cfg *ServeConfig, ln net.Listener) error {
	log := cfg.Log
	d, err := s.openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	providers, err := s.startPlugins(ctx, cfg, log)
	if err != nil {
		return err
	}
	if s.Plugins != nil {
		s.metrics.RegisterPlugins(s.Plugins.Status)
	}
	client := d.Client
	tenants := tenancy.New(client)
	// The job engine: provisioning and the periodic work, on river.
	engine := jobs.New(jobs.Config{DB: d, Log: log, Middleware: []rivertype.Middleware{telemetry.River()}})
	s.Jobs = engine
	provCfg := provisioning.Config{Client: client, Jobs: engine, Log: log}
	ingestCfg := ingest.Config{Client: client, Log: log}
	dbName := "SQLite"
	if d.IsPostgres() {
		dbName = "PostgreSQL"
	}
	hcfg := health.Config{DBName: dbName, DB: d.SQL, Required: providers.required(), Interval: cfg.HealthInterval, Log: log}
	if s.Plugins != nil { // a nil *host.Host must not become a non-nil interface
		provCfg.Providers = s.Plugins
		provCfg.Plugins = pluginsByCapability(s.Plugins.Status())
		ingestCfg.Providers = s.Plugins
		hcfg.Plugins = s.Plugins
		s.metrics.RegisterState(metrics.State{DB: d.SQL, Postgres: d.IsPostgres(), Provisioning: func(ctx context.Context) (int, error) { return s.Provisioning.Queued(ctx) }, Log: log})
	}
	mailCfg := maildomains.Config{Client: client, Tenancy: tenants, Log: log}
	if s.Plugins != nil {
		mailCfg.Providers = s.Plugins
	}
	mailDomains := maildomains.New(mailCfg)
	s.Provisioning = provisioning.New(provCfg)
	adminCfg := tenantadmin.Config{Client: client, Tenancy: tenants, Provisioning: s.Provisioning, Log: log,
		StorageRefreshInterval: cfg.StorageRefreshInterval}
	if s.Plugins != nil {
		adminCfg.Providers = s.Plugins
	}
	s.Admin = tenantadmin.New(adminCfg)
	tenants.SetLifecycle(tenancy.Lifecycles{s.Provisioning, s.Admin})
	s.Pricing = pricing.New(client, s.Provisioning)
	billCfg := billing.Config{Client: client, Tenancy: tenants, Provisioning: s.Provisioning, Log: log}
	if s.Plugins != nil {
		billCfg.Providers = s.Plugins
	}
	s.Billing = billing.New(billCfg)
	s.Payouts = payouts.New(client, tenants, log)
	s.Reports = reports.New(client)
	s.Health = health.New(hcfg)
	key, err := loadSigningKey(cfg.AuditKeyFile, cfg.DataDir)
	if err != nil {
		return err
	}
	cpOpts := audit.CheckpointerOptions{Logger: log, IntervalElsewhere: true}
	if len(cfg.AuditWitnesses) > 0 {
		cpOpts.OnCheckpoint = audit.NewWitnesses(d, cfg.AuditWitnesses, nil, log).OnCheckpoint
	}
	checkpoints := audit.NewCheckpointer(d, key, cpOpts)
	feed := audit.NewFeed(d, log)
	var hooks *webhooks.Dispatcher // set below, before the chainer runs
	var streams *auditstream.Service
	chainer := audit.NewChainer(d, audit.ChainerOptions{Logger: log, OnChain: func(head int64) {
		checkpoints.Observe(head)
		feed.Publish(head)
		if hooks != nil {
			hooks.Notify()
			streams.Notify()
		}
	}})
	s.Audit = audit.NewService(d, chainer, checkpoints, key)
	archives, err := newArchiver(cfg, d, key)
	if err != nil {
		return err
	}
	if archives.Configured() {
		s.Audit.SetVerifier(archives.Verify)
	}
	s.Audit.SetArchiveEraser(archives.EraseSubject)
	ingestor := ingest.New(ingestCfg)
	sealer, err := loadWebhookKey(cfg.WebhooksKeyFile, cfg.DataDir)
	if err != nil {
		return err
	}
	whCfg := cfg.Webhooks
	whCfg.Client, whCfg.Jobs, whCfg.Sealer, whCfg.Log, whCfg.AllowPrivate = client, engine, sealer, log, cfg.WebhooksAllowPrivate
	whCfg.SQLite = !d.IsPostgres()
	hooks = webhooks.NewDispatcher(whCfg)
	hookService := webhooks.NewService(client, sealer, cfg.WebhooksAllowPrivate, hooks.QueueSend)
	stCfg := cfg.AuditStreams
	stCfg.Client, stCfg.Jobs, stCfg.Log, stCfg.AllowPrivate = client, engine, log, cfg.WebhooksAllowPrivate
	if stCfg.S3 == nil {
		stCfg.S3 = cfg.ArchiveS3
	}
	streams = auditstream.New(stCfg)

	// The background loops: one component, stopped after the job engine
	// and before the plugins and the database they use.
	bg := newLoops(ctx)
	s.parts.addCloser("background work", bg.stop)
	// The health probes stay a loop on every replica, not a job: each
	// replica probes its own plugin processes and database connection
	// for its own readiness, which no other replica can do for it.
	bg.start(s.Health.Run)
	bg.start(func(ctx context.Context) { _ = chainer.Run(ctx) })
	bg.start(func(ctx context.Context) { _ = checkpoints.Run(ctx) })
	s.Viewers = server.NewViewerCache(d, log)
	s.parts.addCloser("viewer cache", s.Viewers.Close)
	bg.start(func(ctx context.Context) {
		if err := s.Viewers.Run(ctx); err != nil {
			log.Error("viewer cache: cannot hear other replicas' changes: every request loads its viewer", "err", err)
		}
	})
	bg.start(func(ctx context.Context) {
		if err := feed.Run(ctx); err != nil {
			log.Error("audit feed stopped: live subscribers fall back to polling", "err", err)
		}
	})

	// The job engine opens before the seed, whose tenants queue their
	// provisioning jobs in their own transactions, and works them once
	// started. Stopped after HTTP and before the loops: running jobs
	// finish (or, past the shutdown deadline, are cancelled and retried
	// later, on any replica).
	registerPeriodic(engine, cfg, client, checkpoints, archives, ingestor, s.Plugins != nil, s.metrics)
	s.Admin.RegisterJobs(engine)
	s.Billing.RegisterJobs(engine)
	s.Payouts.RegisterJobs(engine)
	registerMailDomainRecheck(engine, cfg, mailDomains)
	memberCfg := members.Config{DB: d, Tenancy: tenants, Engine: engine, Log: log}
	if s.Plugins != nil {
		memberCfg.Providers = s.Plugins
	}
	s.Members = members.New(memberCfg)
	s.Members.Register(engine)
	if err := engine.Open(ctx); err != nil {
		return err
	}
	s.parts.add("jobs", engine.Stop)
	if err := s.seed(ctx, cfg, tenants); err != nil {
		return err
	}
	if err := engine.Start(ctx); err != nil {
		return err
	}
	// Every start checks the mail domains at once (the seeded ones reach
	// VERIFIED in seconds), whenever river elects the replica that runs
	// the periodic recheck.
	if err := queueNow(ctx, client, engine, recheckMailDomainsArgs{}); err != nil {
		return err
	}
	// Queues webhook deliveries and stream exports once the engine takes
	// jobs; stopped with the other loops.
	bg.start(hooks.Run)
	bg.start(streams.Run)
	s.Members.Start(ctx)
	if s.seedSsoApp {
		bg.start(func(ctx context.Context) {
			if err := demo.SeedSsoApp(ctx, s.Admin, s.Provisioning, tenants); err != nil {
				log.Warn("demo: SSO app not created", "err", err)
			}
		})
	}
	if s.upstreams {
		n, err := s.Members.ReconcileAll(ctx, "demo upstreams started")
		if err != nil {
			return err
		}
		log.Info("demo: provisioning members onto the fresh upstreams", "members", n)
	}

	h, err := s.handler(cfg, ln, tenants, mailDomains, feed, archives, key, ingestor, hookService, streams)
	if err != nil {
		return err
	}
	s.http = serveHTTP(ln, h)
	s.parts.add("http", s.http.stop)
	return s.serveMetrics(cfg)
}

// openDatabase opens (and with cfg.Migrate migrates) the database, and
// refuses one whose schema is not this binary's.
func (s *Server) openDatabase(ctx context.Context, cfg *ServeConfig) (*db.DB, error) {
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = db.SQLitePath(cfg.DataDir)
	}
	d, err := db.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	s.DB = d
	s.parts.add("database", func(context.Context) error { return d.Close() })
	if d.IsPostgres() && cfg.Migrate {
		if _, err := d.Migrate(ctx, cfg.Log); err != nil {
			return nil, err
		}
	}
	if err := d.CheckSchema(ctx); err != nil {
		return nil, err
	}
	system := "sqlite"
	if d.IsPostgres() {
		system = "postgresql"
	}
	telemetry.InstrumentEnt(d.Client, system)
	return d, nil
}

// newArchiver returns the audit archive service (not configured without a
// store).
func newArchiver(cfg *ServeConfig, d *db.DB, key *audit.SigningKey) (*archive.Service, error) {
	store := cfg.Archive
	if store == nil && cfg.ArchiveS3 != nil {
		var err error
		if store, err = archive.NewS3Store(*cfg.ArchiveS3); err != nil {
			return nil, fmt.Errorf("audit archive: %w", err)
		}
		cfg.Log.Info("audit archive configured", "store", cfg.ArchiveS3, "retention", cfg.AuditRetention)
	}
	return archive.NewService(d, store, key, "", cfg.AuditRetention, cfg.Log)
}

// seed seeds the demo data (cfg.Demo) and, with the demo upstreams, which
// start empty on every run, converges every tenant onto them.
func (s *Server) seed(ctx context.Context, cfg *ServeConfig, tenants *tenancy.Service) error {
	// A new installation sells the default plans; operators edit the
	// catalog from there (an existing catalog is left alone).
	if n, err := pricing.EnsureDefaults(ctx, s.DB.Client); err != nil {
		return err
	} else if n > 0 {
		cfg.Log.Info("pricing catalog created with the default prices", "prices", n)
	}
	if cfg.Demo {
		seeded, err := demo.Seed(ctx, s.DB.Client, tenants, cfg.Environment)
		if err != nil {
			return err
		}
		if seeded {
			cfg.Log.Info("demo data seeded", "tenants", "acme, globex", "partner", "northwind")
		}
		if seeded && s.upstreams {
			// The full demo (with upstreams, as `make run` starts it) also
			// shows a security policy, branding and an SSO app.
			if err := demo.SeedSettings(ctx, s.Admin); err != nil {
				return err
			}
			s.seedSsoApp = true
		}
	}
	if s.upstreams {
		n, err := s.Provisioning.ReconcileAll(ctx, "demo upstreams started")
		if err != nil {
			return err
		}
		cfg.Log.Info("demo: reconciling tenants onto the fresh upstreams", "tenants", n)
	}
	return nil
}

// handler builds the HTTP handler: the GraphQL server, the audit key, the
// mail webhook and (without external issuers) the development issuer.
func (s *Server) handler(cfg *ServeConfig, ln net.Listener, tenants *tenancy.Service, mailDomains *maildomains.Service, feed *audit.Feed,
	archives *archive.Service, key *audit.SigningKey, ingestor *ingest.Ingestor, hooks *webhooks.Service,
	streams *auditstream.Service) (http.Handler, error) {
	client := s.DB.Client
	mount := map[string]http.Handler{
		// Anyone may fetch the key that verifies audit checkpoints.
		"GET /audit/signing-key.pub": publicKeyHandler(key),
		// The Merkle tree as C2SP tlog-tiles: checkpoint and hash tiles.
		"GET /audit/log/": http.StripPrefix("/audit/log", audit.LogHandler(s.DB)),
		// The mail server's signed event webhook; the mail plugin
		// verifies the signature.
		"POST " + ingest.MailWebhookPath: s.metrics.Webhook("mail", ingestor.MailHandler()),
		// The billing provider's signed event webhook; the billing plugin
		// verifies the signature.
		"POST " + billing.WebhookPath: s.metrics.Webhook("billing", s.Billing.WebhookHandler()),
	}
	issuers := cfg.Issuers
	dev := len(issuers) == 0
	if dev {
		iss, err := devissuer.LoadOrCreate(filepath.Join(cfg.DataDir, "dev-oidc", "key.pem"), s.URL+DevIssuerPath)
		if err != nil {
			return nil, fmt.Errorf("development issuer: %w", err)
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, "dev-oidc", "issuer"), []byte(iss.URL()+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("development issuer: %w", err)
		}
		s.DevIssuer = iss
		issuers = []string{iss.URL()}
		mount[DevIssuerPath+"/"] = http.StripPrefix(DevIssuerPath, iss.Handler())
		// The playground's persona picker; never with external issuers.
		mount[DevSignInPath] = iss.SignInHandler(personaDirectory{client: client}, cfg.Log)
		cfg.Log.Warn("using the embedded development OIDC issuer; mint tokens with 'dezky token'", "issuer", iss.URL())
	}
	verifier, err := authn.NewVerifier(authn.Config{Issuers: issuers, Audiences: cfg.Audiences})
	if err != nil {
		return nil, err
	}
	flagService := flags.New(client, cfg.Environment)
	var limiter *ratelimit.Limiter
	if len(cfg.RateLimits) > 0 {
		limiter = ratelimit.New(cfg.RateLimits, nil)
	}
	schema := graph.NewSchema(graph.Services{
		Client:       client,
		Tenancy:      tenants,
		Flags:        flagService,
		Provisioning: s.Provisioning,
		Pricing:      s.Pricing,
		Health:       s.Health,
		Audit:        s.Audit,
		AuditFeed:    feed,
		Archive:      archives,
		Admin:        s.Admin,
		Members:      s.Members,
		MailDomains:  mailDomains,
		Billing:      s.Billing,
		Payouts:      s.Payouts,
		Reports:      s.Reports,
		Webhooks:     hooks,
		Streams:      streams,
	})
	origins := cfg.AllowedOrigins
	if len(origins) == 0 {
		origins = []string{ln.Addr().String(), "localhost:*", "127.0.0.1:*"}
	}
	return traceHTTP(server.Handler(server.Config{
		Schema:         schema,
		Client:         client,
		Postgres:       s.DB.IsPostgres(),
		Auth:           &server.Authenticator{Verifier: verifier, Client: client, OperatorAudience: cfg.OperatorAudience, Cache: s.Viewers},
		Log:            cfg.Log,
		Guards:         cfg.Guards,
		Limiter:        limiter,
		Persisted:      cfg.PersistedQueries,
		Flags:          flagService,
		AllowedOrigins: origins,
		Extensions:     []graphql.HandlerExtension{telemetry.GraphQL(), s.metrics.GraphQL()},
		Ready: func(ctx context.Context) error {
			// Another release may migrate the shared database while this
			// replica runs: then it is no longer ready.
			if err := s.DB.CheckSchema(ctx); err != nil {
				return err
			}
			return s.Health.Ready(ctx)
		},
		Mount:      mount,
		Playground: playgroundConfig(cfg, dev),
		AuthMount: map[string]http.Handler{
			// An event's self-contained inclusion proof, for whoever may see it.
			"GET /audit/events/{seq}/proof": audit.ProofHandler(s.Audit),
			// A report's CSV, for whoever may read the report.
			"GET /reports/{file}": s.Reports.CSVHandler(),
		},
	})), nil
}

// DevIssuerPath is where the embedded issuer is served.
const DevIssuerPath = "/dev/oidc"

// Close stops the server's components in the reverse order of their start:
// HTTP (letting in-flight requests finish for up to 10 s), the background
// work, the plugins and the demo upstreams, the database. Later calls
// return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.closeErr = s.parts.stop(ctx)
	})
	return s.closeErr
}

// Done is closed when the HTTP server stops serving (after Close, or when
// serving failed).
func (s *Server) Done() <-chan struct{} { return s.http.done }

// startPlugins resolves the provider configuration and starts the plugin
// host (none when no capability is bound).
func (s *Server) startPlugins(ctx context.Context, cfg *ServeConfig, log *slog.Logger) (ProvidersConfig, error) {
	if cfg.PluginsDir == "" {
		cfg.PluginsDir = DefaultPluginsDir()
	}
	providers := cfg.Providers
	if providers == nil {
		file := cfg.ProvidersFile
		if file == "" {
			if p := filepath.Join(cfg.DataDir, ProvidersFileName); fileExists(p) {
				file = p
			}
		}
		switch {
		case file != "":
			var err error
			if providers, err = LoadProviders(file); err != nil {
				return nil, err
			}
			log.Info("provider configuration loaded", "file", file)
		case cfg.DemoUpstreams != nil:
			found, err := discoverPlugins(cfg.PluginsDir)
			if err != nil {
				return nil, err
			}
			var stop func()
			if providers, stop, err = cfg.DemoUpstreams(ctx, found, cfg.DataDir, s.URL, log); err != nil {
				return nil, err
			}
			s.upstreams = true
			s.parts.addCloser("demo upstreams", stop)
		}
	}
	if len(providers) == 0 {
		log.Warn("no provider plugins configured: provisioning reports every integration as SKIPPED", "plugins_dir", cfg.PluginsDir)
		return providers, nil
	}
	reattach, err := pluginReattach(cfg.PluginReattach, log)
	if err != nil {
		return nil, err
	}
	h, err := host.New(host.Config{Dir: cfg.PluginsDir, Capabilities: providers.hostBindings(), Logger: log, Reattach: reattach,
		DialOptions: pluginDialOptions(s.metrics)})
	if err != nil {
		return nil, err
	}
	s.Plugins = h
	s.parts.add("plugins", func(context.Context) error { return h.Close() })
	if err := h.Start(ctx); err != nil {
		// Failed plugins keep restarting in the background and report in
		// health; the server still serves.
		log.Error("some provider plugins did not start", "err", err)
	}
	for _, st := range h.Status() {
		log.Info("provider plugin", "plugin", st.Plugin, "capabilities", st.Capabilities, "state", st.State, "path", st.Path)
	}
	return providers, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (c Command) runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf common
	cf.register(fs)
	issuers := fs.String("oidc-issuers", env("DEZKY_OIDC_ISSUERS", ""), "comma-separated OIDC issuer URLs; empty runs the embedded development issuer (env DEZKY_OIDC_ISSUERS)")
	audiences := fs.String("oidc-audiences", env("DEZKY_OIDC_AUDIENCES", DefaultPortalAudience+","+DefaultOperatorAudience), "comma-separated accepted token audiences (env DEZKY_OIDC_AUDIENCES)")
	opAud := fs.String("operator-audience", env("DEZKY_OPERATOR_AUDIENCE", DefaultOperatorAudience), "audience that (with platformAdmin) makes an operator (env DEZKY_OPERATOR_AUDIENCE)")
	pgClient := fs.String("playground-client-id", env("DEZKY_PLAYGROUND_CLIENT_ID", ""), "public OIDC client id the playground signs in with (authorization code + PKCE against the first --oidc-issuers issuer); empty: no playground sign-in with external issuers (env DEZKY_PLAYGROUND_CLIENT_ID)")
	pgScopes := fs.String("playground-scopes", env("DEZKY_PLAYGROUND_SCOPES", playground.DefaultScopes), "scopes the playground's OIDC login requests (env DEZKY_PLAYGROUND_SCOPES)")
	demoFlag := fs.String("demo", env("DEZKY_DEMO", "auto"), "seed demo data once: true, false, or auto (only for the embedded database) (env DEZKY_DEMO)")
	migrate := fs.Bool("migrate", env("DEZKY_MIGRATE", "") == "true", "apply PostgreSQL migrations at start (env DEZKY_MIGRATE=true)")
	environment := fs.String("environment", env("DEZKY_ENVIRONMENT", "development"), "environment name used by feature-flag scopes (env DEZKY_ENVIRONMENT)")
	origins := fs.String("allowed-origins", env("DEZKY_ALLOWED_ORIGINS", ""), "comma-separated WebSocket origin patterns (host[:port] globs); empty: the listen address and localhost (env DEZKY_ALLOWED_ORIGINS)")
	logLevel := fs.String("log-level", env("DEZKY_LOG_LEVEL", "info"), "debug, info, warn or error (env DEZKY_LOG_LEVEL)")
	logFormat := fs.String("log-format", env("DEZKY_LOG_FORMAT", logging.FormatText), "text or json; every line of a request carries its request_id (env DEZKY_LOG_FORMAT)")
	pluginsDir := fs.String("plugins-dir", env("DEZKY_PLUGINS_DIR", ""), "directory of the dezky-provider-* binaries; empty: the dezky binary's directory when it holds any, else ./bin (env DEZKY_PLUGINS_DIR)")
	pluginReattach := fs.String("plugin-reattach", env("DEZKY_PLUGIN_REATTACH", ""), "attach to plugins started in debug mode: the JSON they print, see docs/plugin-authors.md (env DEZKY_PLUGIN_REATTACH)")
	providersFile := fs.String("providers", env("DEZKY_PROVIDERS", ""), "provider configuration file (JSON, see docs/providers.md); empty: providers.json in the data dir when present (env DEZKY_PROVIDERS)")
	demoUpstreams := fs.String("demo-upstreams", env("DEZKY_DEMO_UPSTREAMS", "auto"), "run the provider simulators in-process (and stripe-mock when installed) for the plugins: true, false, or auto (with demo data and no provider configuration; only the demo binary has them) (env DEZKY_DEMO_UPSTREAMS)")
	healthInterval := fs.Duration("health-interval", 15*time.Second, "period of the health probe loop that feeds healthChanged (env DEZKY_HEALTH_INTERVAL)")
	archEndpoint := fs.String("audit-archive-endpoint", env("DEZKY_S3_ENDPOINT", ""), "S3-compatible endpoint for the audit archive; empty: no archiving (env DEZKY_S3_ENDPOINT; credentials from DEZKY_S3_ACCESS_KEY / DEZKY_S3_SECRET_KEY)")
	archBucket := fs.String("audit-archive-bucket", env("DEZKY_S3_BUCKET", ""), "bucket of the audit archive (env DEZKY_S3_BUCKET)")
	archRegion := fs.String("audit-archive-region", env("DEZKY_S3_REGION", "us-east-1"), "region of the audit archive (env DEZKY_S3_REGION)")
	archSSE := fs.Bool("audit-archive-sse", env("DEZKY_S3_SSE", "") == "true", "request SSE-S3 encryption for archive objects (env DEZKY_S3_SSE=true)")
	retention := fs.String("audit-retention", env("DEZKY_AUDIT_RETENTION", "90d"), "how long audit events stay in the database before archiving: <n>d or a Go duration (env DEZKY_AUDIT_RETENTION)")
	metricsAddr := fs.String("metrics-addr", env("DEZKY_METRICS_ADDR", ""), "listen address of the Prometheus metrics (GET /metrics), apart from the API; empty: no metrics listener (env DEZKY_METRICS_ADDR)")
	whPrivate := fs.Bool("webhooks-allow-private", env("DEZKY_WEBHOOKS_ALLOW_PRIVATE", "") == "true", "allow webhook endpoints on loopback, link-local and private addresses (env DEZKY_WEBHOOKS_ALLOW_PRIVATE=true)")
	whKey := fs.String("webhooks-key", env("DEZKY_WEBHOOKS_KEY", ""), "file with the base64 32-byte key encrypting webhook signing secrets; empty: generated in the data dir (env DEZKY_WEBHOOKS_KEY)")
	auditKey := fs.String("audit-signing-key", env("DEZKY_AUDIT_SIGNING_KEY", ""), "ed25519 PKCS#8 PEM key signing audit checkpoints; empty: generated in the data dir (env DEZKY_AUDIT_SIGNING_KEY)")
	guards := registerGuards(fs)
	readLimits := registerLimits(fs)
	var witnesses fileList
	fs.Var(&witnesses, "audit-witness", "C2SP tlog-witness add-checkpoint URL that cosigns each new audit checkpoint (repeatable; the variable is comma-separated) (env DEZKY_AUDIT_WITNESSES)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(witnesses) == 0 {
		witnesses = splitList(env("DEZKY_AUDIT_WITNESSES", ""))
	}
	if err := envOverride(fs, "health-interval", "DEZKY_HEALTH_INTERVAL"); err != nil {
		return err
	}
	g, err := guards()
	if err != nil {
		return err
	}
	lim, err := readLimits()
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log, err := logging.New(stderr, *logFormat, level)
	if err != nil {
		return fmt.Errorf("--log-format: %w", err)
	}
	seed := *demoFlag == "true" || (*demoFlag == "auto" && cf.databaseURL == "")
	if *demoFlag != "true" && *demoFlag != "false" && *demoFlag != "auto" {
		return fmt.Errorf("--demo: want true, false or auto")
	}
	if *demoUpstreams != "true" && *demoUpstreams != "false" && *demoUpstreams != "auto" {
		return fmt.Errorf("--demo-upstreams: want true, false or auto")
	}
	var upstreams UpstreamStarter
	switch {
	case *demoUpstreams == "true" && c.DemoUpstreams == nil:
		return errors.New("--demo-upstreams: this build has no demo upstreams; run the demo binary (make run)")
	case *demoUpstreams == "true" || (*demoUpstreams == "auto" && seed):
		upstreams = c.DemoUpstreams
	}
	ret, err := parseRetention(*retention)
	if err != nil {
		return fmt.Errorf("--audit-retention: %w", err)
	}
	var archiveS3 *archive.S3Config
	if *archEndpoint != "" {
		if *archBucket == "" {
			return errors.New("--audit-archive-bucket is required with --audit-archive-endpoint")
		}
		cfg := s3Config(*archEndpoint, *archRegion, *archBucket, *archSSE)
		archiveS3 = &cfg
	}
	start := time.Now()
	stopTracing, tracing, err := otlpenv.Setup(ctx, "dezky", "", false)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stopTracing(sctx); err != nil {
			log.Warn("flushing spans", "err", err)
		}
	}()
	if tracing {
		log.Info("exporting traces over OTLP", "endpoint", firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"))
	}
	s, err := Start(ctx, ServeConfig{
		Addr: cf.addr, DataDir: cf.dataDir, DatabaseURL: cf.databaseURL,
		Issuers: splitList(*issuers), Audiences: splitList(*audiences), OperatorAudience: *opAud,
		PlaygroundClientID: *pgClient, PlaygroundScopes: *pgScopes,
		Demo: seed, Migrate: *migrate, Environment: *environment,
		AllowedOrigins: splitList(*origins), Log: log,
		PluginsDir: *pluginsDir, ProvidersFile: *providersFile, PluginReattach: *pluginReattach, DemoUpstreams: upstreams, HealthInterval: *healthInterval, AuditKeyFile: *auditKey,
		ArchiveS3: archiveS3, AuditRetention: ret, AuditWitnesses: witnesses, Guards: g,
		RateLimits: lim.budgets, PersistedQueries: lim.persisted,
		WebhooksAllowPrivate: *whPrivate, WebhooksKeyFile: *whKey, MetricsAddr: *metricsAddr,
	})
	if err != nil {
		return err
	}
	engine := "sqlite"
	if s.DB.IsPostgres() {
		engine = "postgres"
	}
	log.Info("dezky ready", "url", s.URL, "graphql", s.URL+"/query", "playground", s.URL+"/", "database", engine,
		"startup", time.Since(start).Round(time.Millisecond).String())
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-s.Done():
	}
	return s.Close()
}

// loadSigningKey returns the audit signing key in keyFile, or, when keyFile
// is empty, the one generated in dataDir.
func loadSigningKey(keyFile, dataDir string) (*audit.SigningKey, error) {
	var k *audit.SigningKey
	var err error
	if keyFile != "" {
		k, err = audit.LoadKey(keyFile)
	} else {
		k, err = audit.LoadOrCreateKey(dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	return k, nil
}

// loadWebhookKey returns the key sealing webhook secrets in keyFile, or,
// when keyFile is empty, the one generated in dataDir.
func loadWebhookKey(keyFile, dataDir string) (*webhooks.Sealer, error) {
	if keyFile != "" {
		return webhooks.LoadKey(keyFile)
	}
	return webhooks.LoadOrCreateKey(dataDir)
}

// s3Config returns the archive store configuration with the credentials
// from the environment (DEZKY_S3_ACCESS_KEY, DEZKY_S3_SECRET_KEY), never
// from flags.
func s3Config(endpoint, region, bucket string, sse bool) archive.S3Config {
	return archive.S3Config{Endpoint: endpoint, Region: region, Bucket: bucket, SSE: sse,
		AccessKey: os.Getenv("DEZKY_S3_ACCESS_KEY"), SecretKey: os.Getenv("DEZKY_S3_SECRET_KEY")}
}

// publicKeyHandler serves the audit checkpoint verification key as PEM.
func publicKeyHandler(k *audit.SigningKey) http.Handler {
	pem, err := audit.MarshalPublicKey(k.Public)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err != nil {
			http.Error(w, "public key unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("X-Key-Id", k.ID)
		w.Write(pem)
	})
}

// pluginsByCapability names the plugin bound to each capability.
func pluginsByCapability(status []host.Status) map[sdk.Capability]string {
	out := map[sdk.Capability]string{}
	for _, ps := range status {
		for _, c := range ps.Capabilities {
			out[c] = ps.Plugin
		}
	}
	return out
}

// firstEnv returns the scheme and host of the first of the URL variables
// that is set (nothing else of it, which may carry credentials).
func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := os.Getenv(k); v != "" {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				return u.Scheme + "://" + u.Host
			}
			return "(set)"
		}
	}
	return ""
}
