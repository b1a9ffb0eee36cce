package stripeclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/dezky/platform/plugins/sdk"
)

// MetadataKey is the metadata key under which the caller's stable external
// key is stored on customers, products, prices and subscriptions.
const MetadataKey = "dezky_key"

// maxExternalKeyLen keeps external keys well inside Stripe's 500-character
// metadata value limit and the 255-character idempotency key limit.
const maxExternalKeyLen = 200

// Config configures a Client.
type Config struct {
	// APIKey is the Stripe secret (sk_...) or restricted (rk_...) key.
	// Required. It is sent only in the Authorization header.
	APIKey string
	// BaseURL is the API base URL, e.g. a stripe-mock address in tests.
	// Empty means Stripe's production API (stripe.APIURL).
	BaseURL string
	// HTTPClient is the transport; nil means a client with no overall
	// timeout (deadlines come from each call's context).
	HTTPClient *http.Client
	// MaxNetworkRetries is the number of retries stripe-go performs on
	// transient failures. Zero (the default) disables them.
	MaxNetworkRetries int64
	// Logger receives the client's diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Client is a typed Stripe billing client. It is safe for concurrent use.
type Client struct {
	api *client.API
	log *slog.Logger
}

// New validates cfg and returns a Client. It performs no network I/O.
func New(cfg Config) (*Client, error) {
	const op = "New"
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, invalidf(op, "API key is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = stripe.APIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidf(op, "base URL %q must be an absolute http(s) URL", base)
	}
	if cfg.MaxNetworkRetries < 0 {
		return nil, invalidf(op, "MaxNetworkRetries must not be negative")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "stripeclient")
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Transport: sdk.HTTPTransport(nil)}
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		LeveledLogger:     slogLeveled{logger},
		EnableTelemetry:   stripe.Bool(false),
	})
	api := client.New(cfg.APIKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return &Client{api: api, log: logger}, nil
}

// Ping checks that Stripe is reachable and accepts the API key by listing
// at most one customer.
func (c *Client) Ping(ctx context.Context) error {
	it := c.api.Customers.List(&stripe.CustomerListParams{
		ListParams: stripe.ListParams{Context: ctx, Limit: stripe.Int64(1), Single: true},
	})
	for it.Next() {
	}
	return wrapErr("Ping", it.Err())
}

// slogLeveled routes stripe-go's warnings and errors to slog at debug level
// (the client reports failures through returned errors) and drops its
// per-request info and debug lines, which include whole response bodies.
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Debugf(string, ...any) {}
func (s slogLeveled) Infof(string, ...any)  {}
func (s slogLeveled) Warnf(format string, v ...any) {
	s.l.Debug(sanitize(fmt.Sprintf(format, v...)), "stripe_level", "warn")
}
func (s slogLeveled) Errorf(format string, v ...any) {
	s.l.Debug(sanitize(fmt.Sprintf(format, v...)), "stripe_level", "error")
}

// validateKey checks an external key: 1..200 characters from a conservative
// set, so it can be embedded in search queries and idempotency keys verbatim.
func validateKey(op, what, key string) error {
	if key == "" {
		return invalidf(op, "%s is required", what)
	}
	if len(key) > maxExternalKeyLen {
		return invalidf(op, "%s is longer than %d characters", what, maxExternalKeyLen)
	}
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == ':', r == '@', r == '/':
		default:
			return invalidf(op, "%s contains %q; allowed are letters, digits and -_.:@/", what, r)
		}
	}
	return nil
}

// validateID checks a Stripe object ID supplied by the caller.
func validateID(op, what, id string) error {
	if id == "" {
		return invalidf(op, "%s is required", what)
	}
	if strings.ContainsAny(id, "/?#% \t\r\n") {
		return invalidf(op, "%s %q is not a valid Stripe ID", what, id)
	}
	return nil
}

// idempotencyKey derives a deterministic Idempotency-Key from an operation
// and its identifying parts. The same logical request always yields the same
// key, so a retried create cannot produce a duplicate object.
func idempotencyKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "dezky-" + kind + "-" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// metadataQuery builds a Stripe search query matching objects whose
// MetadataKey equals key. Keys are validated by validateKey, which excludes
// quotes and backslashes, so no escaping is needed.
func metadataQuery(key string) string {
	return fmt.Sprintf("metadata['%s']:'%s'", MetadataKey, key)
}

func mergeMetadata(extra map[string]string, key string) map[string]string {
	md := make(map[string]string, len(extra)+1)
	for k, v := range extra {
		md[k] = v
	}
	md[MetadataKey] = key
	return md
}
