package sdk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/dezky/platform/internal/telemetry/otlpenv"

	pb "github.com/dezky/platform/plugins/proto/v2"
)

// The handshake cookie. A plugin binary refuses to run unless the host set
// this environment variable to this value. These constants must never
// change: every published plugin and host depends on them.
const (
	MagicCookieKey   = "DEZKY_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "7f3c2b1e-dezky-provider-plugin"
)

// Handshake returns the go-plugin handshake shared by hosts and plugins.
// Protocol versions are negotiated through VersionedPlugins, so the
// ProtocolVersion field is only the fallback for hosts that list none.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// stderr is the process's original standard error, captured before
// go-plugin redirects os.Stderr. Lines written here reach the host's log.
var stderr io.Writer = os.Stderr

var logger = slog.New(contextHandler{slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug})})

// Logger returns the logger a provider should use. It writes JSON lines to
// the plugin's standard error, which the host parses and re-emits into its
// own log/slog logger with a plugin=<name> attribute, keeping levels and
// attributes. Records logged with a method's context (InfoContext(ctx, …))
// carry the host request's request_id and the trace's trace_id and
// span_id. Never log secrets.
func Logger() *slog.Logger { return logger }

type serveConfig struct {
	grpcOptions []grpc.ServerOption
	test        *plugin.ServeTestConfig
}

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

// WithGRPCServerOptions adds gRPC server options (after the SDK's own
// interceptors).
func WithGRPCServerOptions(opts ...grpc.ServerOption) ServeOption {
	return func(c *serveConfig) { c.grpcOptions = append(c.grpcOptions, opts...) }
}

// WithTestConfig runs the plugin in-process for tests (go-plugin's
// reattach mode); see plugin.ServeTestConfig.
func WithTestConfig(cfg *plugin.ServeTestConfig) ServeOption {
	return func(c *serveConfig) { c.test = cfg }
}

// Serve runs p as a plugin process and returns when the host ends it. Call
// it from main:
//
//	func main() { sdk.Serve(myprovider.New()) }
//
// Serve registers the Provider service and one service per capability
// interface p implements, under protocol version ProtocolVersion. With
// DEZKY_PLUGIN_DEBUG set (or a --debug argument) it runs in debug mode
// instead; see DebugEnv. A panic in
// a provider method is recovered and returned to the host as an INTERNAL
// error; the process keeps serving.
//
// Every call runs in the trace of the host request it serves (W3C trace
// context in the gRPC metadata). With the OTEL_* variables that enable
// tracing in the host (which passes its environment on), the plugin
// exports its spans over OTLP too, as service dezky-provider-<name>;
// upstream HTTP clients built on HTTPTransport continue the trace.
func Serve(p Provider, opts ...ServeOption) {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.test == nil {
		flush := setupTracing(p)
		defer flush()
	}
	sc := &plugin.ServeConfig{
		HandshakeConfig:  Handshake(),
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{impl: p}}},
		GRPCServer: func(base []grpc.ServerOption) *grpc.Server {
			o := append([]grpc.ServerOption{
				grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithPropagators(otlpenv.Propagator()))),
				grpc.ChainUnaryInterceptor(requestIDInterceptor, recoverInterceptor, errorInterceptor),
			}, base...)
			return grpc.NewServer(append(o, cfg.grpcOptions...)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "sdk", Level: hclog.Warn, Output: stderr, JSONFormat: true}),
		Test:   cfg.test,
	}
	if cfg.test == nil && debugRequested() {
		name := "provider"
		if d, err := p.Describe(context.Background()); err == nil && d.Name != "" {
			name = d.Name
		}
		debugServe(name, sc)
		return
	}
	plugin.Serve(sc)
}

// Remote is a provider reached over the plugin protocol: every capability
// method is present, and calls to a capability the plugin does not serve
// fail with UNSUPPORTED. All errors are *Error values.
type Remote interface {
	Provider
	Identity
	Mail
	Storage
	DNS
	Billing
	PaymentMethods
}

// HostPluginSets returns the plugin sets a host passes as go-plugin's
// VersionedPlugins, one per protocol version the host can speak (current
// and previous). Dispensing PluginName from the resulting client yields a
// Remote.
func HostPluginSets() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1:               {PluginName: grpcPluginV1{}},
		ProtocolVersion: {PluginName: &grpcPlugin{}},
	}
}

// grpcPlugin is the go-plugin glue for protocol 2. impl is set on the
// plugin side only.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Provider
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return errors.New("sdk: serve: nil provider")
	}
	pb.RegisterProviderServer(s, &providerServer{impl: p.impl})
	if i, ok := p.impl.(Identity); ok {
		pb.RegisterIdentityServer(s, &identityServer{impl: i})
	}
	if m, ok := p.impl.(Mail); ok {
		pb.RegisterMailServer(s, &mailServer{impl: m})
	}
	if st, ok := p.impl.(Storage); ok {
		pb.RegisterStorageServer(s, &storageServer{impl: st})
	}
	if d, ok := p.impl.(DNS); ok {
		pb.RegisterDNSServer(s, &dnsServer{impl: d})
	}
	if b, ok := p.impl.(Billing); ok {
		pb.RegisterBillingServer(s, &billingServer{impl: b})
	}
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return newRemote(c), nil
}

type remote struct {
	providerClient
	identityClient
	mailClient
	storageClient
	dnsClient
	billingClient
}

func newRemote(c *grpc.ClientConn) *remote {
	return &remote{
		providerClient: providerClient{c: pb.NewProviderClient(c)},
		identityClient: identityClient{c: pb.NewIdentityClient(c)},
		mailClient:     mailClient{c: pb.NewMailClient(c)},
		storageClient:  storageClient{c: pb.NewStorageClient(c)},
		dnsClient:      dnsClient{c: pb.NewDNSClient(c)},
		billingClient:  billingClient{c: pb.NewBillingClient(c)},
	}
}

var _ Remote = (*remote)(nil)
